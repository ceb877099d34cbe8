"""The stack's local dataset files: checked before anything is uploaded, and named by content.

Both run in `pulumi preview` too, so a bad line fails the preview with its line number, before
a bucket, an object or a tuning job is paid for.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pulumi

from stacks.config import StackConfig
from tuning_provider.dataset import DatasetReport, validate_dataset
from tuning_provider.errors import DatasetError

__all__ = ["check_dataset", "checked_datasets", "checked_job_datasets", "dataset_object_name", "training_tokens"]

# How many bad lines a failed preview lists; the report counts them all.
LISTED_ERRORS = 10


def dataset_object_name(path: Path) -> str:
    """The object name of a local dataset: its content's digest is part of it, so changed
    data is a new object (and, through the job's dataset URI, a new job)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"datasets/{path.stem}-{digest}.jsonl"


def checked_datasets(config: StackConfig) -> dict[str, Path]:
    """The stack's dataset files by kind ("training", "validation"), each validated as that
    kind (the base model is the spec's to judge). Raises DatasetError with the bad lines listed; warnings
    (a small training set, say) are shown and do not stop the run."""
    files = {"training": config.training_data, "validation": config.validation_data}
    return {kind: check_dataset(path, kind, f"tuning:{_KEYS[kind]}")
            for kind, path in files.items() if path is not None}


def checked_job_datasets(config: StackConfig, shared: dict[str, Path] | None = None) -> dict[str, dict[str, Path]]:
    """Every job's dataset files by kind, keyed by the job's entry key, each file checked once
    (the stack's shared files, unless `shared` holds them checked already, then each job's own)."""
    checked = {path: path for path in (checked_datasets(config) if shared is None else shared).values()}
    out: dict[str, dict[str, Path]] = {}
    for entry in config.entries:
        for kind, path in entry.datasets.items():
            if path not in checked:
                key = f"tuning:jobs.{entry.name}.{_KEYS[kind]}"
                checked[path] = check_dataset(path, kind, key)
        out[entry.key] = dict(entry.datasets)
    return out


_KEYS = {"training": "trainingData", "validation": "validationData"}


def check_dataset(path: Path, kind: str, key: str) -> Path:
    """`path`, validated as a `kind` dataset; DatasetError naming the setting `key` if bad."""
    report = _report(path, kind)
    for warning in report.warnings:
        pulumi.log.warn(f"{path.name}: {warning}")
    if not report.ok:
        lines = [f"line {e.line}: {e.message}" if e.line else e.message for e in report.errors]
        more = report.error_count - len(report.errors)
        if more > 0:
            lines.append(f"... and {more:,} more")
        raise DatasetError(
            str(path),
            f"{_what_is_wrong(report.bad_lines, kind, key)}; fix it, or run "
            f"`python -m tuning_provider validate {path}` for the full report:\n  " + "\n  ".join(lines),
            report,
        )
    return path


def training_tokens(path: Path) -> int:
    """A job's training data's estimated token count, for the TuningJob's cost estimate (the
    report `check_dataset` made, not read twice)."""
    return _report(path, "training").estimated_tokens


@functools.cache
def _report(path: Path, kind: str) -> DatasetReport:
    return validate_dataset(path, kind=kind, max_errors=LISTED_ERRORS)  # type: ignore[arg-type]


def _what_is_wrong(bad_lines: int, kind: str, key: str) -> str:
    # Bad lines by their number; otherwise the file as a whole is at fault (empty, too large).
    if not bad_lines:
        return f"the {kind} data ({key}) cannot be used as it is"
    return f"{bad_lines:,} bad {'line' if bad_lines == 1 else 'lines'} in the {kind} data ({key})"
