"""The package's public surface stays in step with what it exports, and stays light."""

from __future__ import annotations

import subprocess
import sys

import tuning_provider


def test_every_public_name_resolves():
    for name in tuning_provider.__all__:
        assert getattr(tuning_provider, name).__name__ == name


def test_command_line_modules_do_not_import_pulumi():
    probe = "import sys, tuning_provider.cli.validate, tuning_provider.emulator; print('pulumi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
