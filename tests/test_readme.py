"""README: what a reader needs before running anything but `make`."""

from __future__ import annotations

from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_commands_other_than_make_say_to_activate_the_virtualenv() -> None:
    section = README[README.index("### Commands other than `make`"):]
    assert ". .venv/bin/activate" in section.split("##", 2)[1]


def test_installing_the_library_is_described() -> None:
    assert "pip install /path/to/this/repository" in README
    assert "examples/own_program" in README
