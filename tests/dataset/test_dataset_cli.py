"""`python -m tuning_provider validate`: exit codes 0/1/2, the readable report and --json."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dataset.dataset_helpers import VALID, example, jsonl, write_jsonl
from tuning_provider.cli import main

BAD = jsonl(example(("user", "a"), ("user", "b"), ("model", "c")))
REPO = Path(__file__).resolve().parents[2]


def test_a_valid_dataset_exits_0_with_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", *[VALID] * 1500)

    code = main(["validate", str(path)])

    out = capsys.readouterr().out
    assert code == 0
    assert f"{path} (training dataset): valid" in out
    assert "1,500 lines" in out and "examples:    1,500 (0 multimodal)" in out
    assert "tokens:      ~6,000 in all" in out and "estimates at ~4 characters per token" in out


def test_an_invalid_dataset_exits_1_and_lists_errors_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", VALID, BAD, VALID, BAD, BAD, b"")

    code = main(["validate", str(path), "--max-errors", "2"])

    out = capsys.readouterr().out
    assert code == 1
    assert "INVALID: 3 errors" in out
    assert "line 2: contents[1] has role 'user' right after another 'user' turn" in out
    assert "line 4: " in out and "line 5: " not in out
    assert "… and 1 more error\n" in out
    assert "examples:    2 (0 multimodal), and 3 bad lines not counted\n" in out
    assert "warning: only 2 training examples" in out  # bad lines are no examples
    assert "warning: 1 blank line was skipped (the first is line 6)" in out


def test_an_empty_file_is_one_file_error_and_no_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", end=b"")

    code = main(["validate", str(path)])

    out = capsys.readouterr().out
    assert code == 1
    assert "INVALID: 1 error\n" in out
    assert "examples:    0 (0 multimodal)\n" in out
    assert "file: the file has no examples: write one JSON object per line." in out
    assert "bad line" not in out


def test_whole_file_errors_are_listed_without_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "val.jsonl")

    code = main(["validate", str(path), "--validation", "--base-model", "gemini-3.5-flash"])

    out = capsys.readouterr().out
    assert code == 1
    assert "(validation dataset)" in out
    assert "file: the file has no examples: write one JSON object per line." in out


def on(day: dt.date) -> Callable[[], float]:
    """A clock for main(clock=...) that reads noon UTC of `day`."""
    return lambda: dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp()


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_base_model_the_catalog_does_not_know_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], json_flag: list[str]
) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", *[VALID] * 100)

    code = main(["validate", str(path), "--base-model", "gemini-0", *json_flag], clock=on(dt.date(2026, 11, 30)))

    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")  # the flag is wrong, not the dataset
    assert captured.err == ("error: argument --base-model: 'gemini-0' is not a base model Vertex can tune: choose "
                            "one of gemini-3.1-flash-lite, gemini-3.5-flash, gemini-3.5-flash-lite\n")


def test_the_base_model_is_judged_on_the_commands_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Deprecated, then retired: a warning either way, since the data itself is fine (the spec is
    # what refuses a retired model for a job); the day is the command's clock's.
    path = write_jsonl(tmp_path / "train.jsonl", *[VALID] * 100)
    argv = ["validate", str(path), "--base-model", "gemini-2.5-pro"]

    assert main(argv, clock=on(dt.date(2026, 9, 1))) == 0
    out = capsys.readouterr().out
    assert "(training dataset): valid" in out
    assert "warning: gemini-2.5-pro is deprecated: Google retires it on 2026-10-20" in out

    assert main(argv, clock=on(dt.date(2026, 11, 30))) == 0
    out = capsys.readouterr().out
    assert "(training dataset): valid" in out
    assert ("warning: gemini-2.5-pro was retired by Google on 2026-10-20 and can no longer be tuned; use "
            "gemini-3.5-flash.") in out


def test_an_unknown_base_model_is_a_usage_error_whatever_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", BAD, BAD, BAD)

    code = main(["validate", str(path), "--base-model", "nope", "--max-errors", "2", "--json"])

    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.startswith("error: argument --base-model: 'nope' is not a base model Vertex can tune")


def test_a_tuned_base_model_is_no_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", *[VALID] * 100)

    code = main(["validate", str(path), "--base-model", "projects/p/locations/us-central1/models/1"])

    assert code == 0 and "warning" not in capsys.readouterr().out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", VALID, BAD)

    code = main(["validate", str(path), "--json", "--workers", "2"])

    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["ok"] is False and data["uri"] == str(path) and data["kind"] == "training"
    assert data["error_count"] == 1
    assert data["errors"] == [{"line": 2, "message": data["errors"][0]["message"]}]
    assert data["examples"] == 1 and data["bad_lines"] == 1
    assert data["estimated_tokens"] == 4 and data["chars_per_token"] == 4
    expected_keys = {"bytes", "lines", "multimodal_examples", "characters", "max_example_tokens", "warnings"}
    assert set(data) >= expected_keys


def test_an_unreadable_dataset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.jsonl"

    code = main(["validate", str(missing)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err == f"error: {missing}: there is no such file: check the path.\n"


def test_an_unreadable_dataset_with_json_still_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "gs://bucket-only", "--json"])

    data = json.loads(capsys.readouterr().out)
    assert code == 2
    assert data["ok"] is False and "names no object" in data["unreadable"]


def test_the_module_entry_point(tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", VALID, BAD)

    finished = subprocess.run(
        [sys.executable, "-m", "tuning_provider", "validate", str(bad), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )

    assert finished.returncode == 1, finished.stderr
    assert json.loads(finished.stdout)["errors"][0]["line"] == 2


def test_a_pipe_is_read_through_dev_stdin() -> None:
    data = b"\n".join([VALID, BAD, VALID]) + b"\n"

    finished = subprocess.run(
        [sys.executable, "-m", "tuning_provider", "validate", "/dev/stdin", "--json"],
        input=data, cwd=REPO, capture_output=True, timeout=60,
    )

    assert finished.returncode == 1, finished.stderr
    report = json.loads(finished.stdout)
    assert (report["uri"], report["bytes"], report["lines"], report["bad_lines"]) == ("/dev/stdin", len(data), 3, 1)
