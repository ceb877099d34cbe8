"""What a scan counts (`Tally`), the limits a dataset is judged by (`Limits`), and the report
made of both (`DatasetReport`): the counts, every bad line by number, the whole-file errors
(size, example counts) and the warnings."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tuning_provider import catalog
from tuning_provider.catalog import CHARS_PER_TOKEN

__all__ = ["VERTEX_LIMITS", "DatasetKind", "DatasetReport", "LineError", "Limits", "Tally", "build_report"]

DatasetKind = Literal["training", "validation"]


@dataclass(frozen=True)
class Limits:
    """The limits a dataset is judged by: Vertex's, from the catalog, unless others are handed
    in (a test's small ones, say)."""

    dataset_bytes: int = catalog.MAX_DATASET_BYTES
    training_examples: int = catalog.MAX_TRAINING_EXAMPLES
    multimodal_training_examples: int = catalog.MAX_TRAINING_EXAMPLES_MULTIMODAL
    validation_examples: int = catalog.MAX_VALIDATION_EXAMPLES
    recommended_training_examples: int = catalog.MIN_RECOMMENDED_EXAMPLES
    """Fewer training examples than this is a warning, not an error."""
    tokens_per_example: int = catalog.MAX_TOKENS_PER_EXAMPLE

    @property
    def characters_per_example(self) -> int:
        """The per-example token limit in characters, as tokens are estimated."""
        return self.tokens_per_example * CHARS_PER_TOKEN


VERTEX_LIMITS = Limits()


@dataclass(frozen=True)
class LineError:
    """One problem in a dataset: `line` is 1-based, or 0 for a whole-file problem."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Tally:
    """Counts and errors of a run of lines; tallies of consecutive runs merge."""

    max_errors: int
    bytes: int = 0
    lines: int = 0
    blank_lines: int = 0
    first_blank_line: int = 0
    multimodal_examples: int = 0
    characters: int = 0
    max_example_characters: int = 0
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0

    def add_error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(LineError(line, message))

    def add_example(self, characters: int, multimodal: bool = False) -> None:
        self.characters += characters
        self.max_example_characters = max(self.max_example_characters, characters)
        self.multimodal_examples += multimodal

    def add_blank(self, line: int) -> None:
        self.blank_lines += 1
        if not self.first_blank_line:
            self.first_blank_line = line

    def merge(self, later: Tally) -> None:
        """Append the tally of the run that follows this one, renumbering its lines."""
        offset = self.lines
        for error in later.errors:
            if len(self.errors) >= self.max_errors:
                break
            self.errors.append(LineError(error.line + offset, error.message))
        self.error_count += later.error_count
        if later.blank_lines and not self.first_blank_line:
            self.first_blank_line = later.first_blank_line + offset
        self.blank_lines += later.blank_lines
        self.bytes += later.bytes
        self.lines += later.lines
        self.multimodal_examples += later.multimodal_examples
        self.characters += later.characters
        self.max_example_characters = max(self.max_example_characters, later.max_example_characters)


@dataclass
class DatasetReport:
    """What `validate_dataset` found. Token counts are estimates (CHARS_PER_TOKEN)."""

    uri: str
    kind: DatasetKind
    bytes: int = 0
    """Size of the file in bytes."""
    lines: int = 0
    """Lines in the file, blank ones included; a final newline does not start a line."""
    examples: int = 0
    """Valid examples: non-blank lines with no error."""
    bad_lines: int = 0
    """Non-blank lines with an error: not examples, and listed (up to `max_errors`) in `errors`."""
    multimodal_examples: int = 0
    """Valid examples with at least one fileData part."""
    characters: int = 0
    """Characters of text, system instructions, tools and function parts of valid examples."""
    estimated_tokens: int = 0
    """characters / CHARS_PER_TOKEN, rounded up: an estimate, not Vertex's billable count."""
    max_example_tokens: int = 0
    """Estimated tokens of the longest valid example."""
    errors: list[LineError] = field(default_factory=list)
    """The first errors found, whole-file ones (line 0) first, then in line order, at most
    `max_errors` of them."""
    error_count: int = 0
    """All errors found, listed or not."""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the dataset has no errors (warnings are allowed)."""
        return self.error_count == 0

    def summary(self) -> str:
        """One human sentence: valid with its size, or the error count and the first error."""
        if self.ok:
            return (
                f"{self.uri}: valid {self.kind} dataset, {self.examples:,} examples in "
                f"{self.lines:,} lines, about {self.estimated_tokens:,} tokens (estimated at "
                f"~{CHARS_PER_TOKEN} characters per token)."
            )
        noun = "error" if self.error_count == 1 else "errors"
        first = f"; {self.errors[0]}" if self.errors else ""
        return f"{self.uri}: {self.error_count:,} {noun} in {self.lines:,} lines{first}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every field, plus `ok` and the characters-per-token ratio."""
        data = asdict(self)
        data["ok"] = self.ok
        data["chars_per_token"] = CHARS_PER_TOKEN
        return data

    def with_file_notes(self, errors: list[str], warnings: list[str], max_errors: int) -> DatasetReport:
        """This report with more whole-file errors (after its own, before the lines') and
        warnings, such as what a caller knows of the base model the data is for; the errors
        listed stay within `max_errors`."""
        file_errors = [e for e in self.errors if not e.line] + [LineError(0, message) for message in errors]
        listed = file_errors + [e for e in self.errors if e.line]
        return dataclasses.replace(
            self, errors=listed[:max_errors], error_count=self.error_count + len(errors),
            warnings=self.warnings + warnings,
        )


def build_report(uri: str, kind: DatasetKind, tally: Tally, limits: Limits) -> DatasetReport:
    """The report on a whole file from its tally: the file's own errors and warnings added."""
    # Each bad line has exactly one error, so the tally's error count is the bad lines'.
    bad_lines = tally.error_count
    filled_lines = tally.lines - tally.blank_lines  # what Vertex reads, bad lines too: for the limits
    examples = filled_lines - bad_lines
    file_errors = _size_errors(tally, kind, limits, filled_lines)
    warnings: list[str] = []
    if kind == "training" and filled_lines and examples < limits.recommended_training_examples:
        warnings.append(
            f"only {examples:,} training examples: Google recommends at least "
            f"{limits.recommended_training_examples:,} (100 to 500 or more) for supervised tuning."
        )
    if tally.blank_lines:
        noun = "line was" if tally.blank_lines == 1 else "lines were"
        warnings.append(
            f"{tally.blank_lines:,} blank {noun} skipped (the first is line "
            f"{tally.first_blank_line:,}): remove blank lines, since Vertex may count them as "
            "dropped examples."
        )
    errors = [LineError(0, message) for message in file_errors] + tally.errors
    return DatasetReport(
        uri=uri,
        kind=kind,
        bytes=tally.bytes,
        lines=tally.lines,
        examples=examples,
        bad_lines=bad_lines,
        multimodal_examples=tally.multimodal_examples,
        characters=tally.characters,
        estimated_tokens=math.ceil(tally.characters / CHARS_PER_TOKEN),
        max_example_tokens=math.ceil(tally.max_example_characters / CHARS_PER_TOKEN),
        errors=errors[: tally.max_errors],
        error_count=tally.error_count + len(file_errors),
        warnings=warnings,
    )


def _size_errors(tally: Tally, kind: DatasetKind, limits: Limits, filled_lines: int) -> list[str]:
    """The whole file's errors: its size, and its example counts against the limits."""
    errors: list[str] = []
    if tally.bytes > limits.dataset_bytes:
        errors.append(
            f"the file is {tally.bytes / 2**30:.2f} GiB, over the {limits.dataset_bytes / 2**30:.0f} GiB "
            "limit of a tuning dataset: drop examples to make it smaller."
        )
    if filled_lines == 0:
        errors.append("the file has no examples: write one JSON object per line.")
    elif kind == "validation" and filled_lines > limits.validation_examples:
        errors.append(_over(f"the validation set has {filled_lines:,} examples", limits.validation_examples))
    elif kind == "training":
        if filled_lines > limits.training_examples:
            errors.append(_over(f"the training set has {filled_lines:,} examples", limits.training_examples))
        if tally.multimodal_examples > limits.multimodal_training_examples:
            errors.append(_over(f"the training set has {tally.multimodal_examples:,} multimodal examples",
                                limits.multimodal_training_examples))
    return errors


def _over(what: str, limit: int) -> str:
    return f"{what}, over the limit of {limit:,}: keep at most {limit:,}."
