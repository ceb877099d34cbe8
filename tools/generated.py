"""What every generator in tools/ does with the files it renders: write those that differ from
what is committed, or, with --check, name each of them and the command that rewrites it.

The generators render text only; this module is their one command line and their one writer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["ROOT", "run", "stale_files"]

ROOT = Path(__file__).resolve().parent.parent  # the checkout: tools/ is never installed


def stale_files(files: Mapping[Path, str], root: Path = ROOT) -> list[Path]:
    """The files (relative to `root`) whose text under `root` is not the rendered one."""
    return [path for path, text in files.items()
            if not (root / path).exists() or (root / path).read_text(encoding="utf-8") != text]


def run(argv: Sequence[str] | None, *, prog: str, description: str, render: Callable[[], Mapping[Path, str]],
        error: type[Exception], command: str, root: Path = ROOT) -> int:
    """A generator's command line: render its files (a spec it cannot render: `error`, said in one
    line, exit 2), then write the stale ones, or with --check name them (exit 1)."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("--check", action="store_true", help="only say whether the generated files are current")
    options = parser.parse_args(argv)
    try:
        files = render()
    except error as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    stale = stale_files(files, root)
    for path in stale:
        if options.check:
            print(f"{path} is not what tuning_provider/spec/ gives: run {command}", file=sys.stderr)
        else:
            (root / path).write_text(files[path], encoding="utf-8")
            print(f"wrote {path}")
    return 1 if options.check and stale else 0
