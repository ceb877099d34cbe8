"""Stack programs: `local` against the emulator, `dev`/`prod` on Google Cloud.

`run()` is the whole Pulumi program: typed config -> the stack's program -> outputs.
"""

from __future__ import annotations

import signal
from datetime import date

import pulumi

from stacks.config import StackConfig, load_config
from tuning_provider.errors import ConfigError, DatasetError

__all__ = ["StackConfig", "load_config", "run"]


def run(today: date | None = None) -> None:
    """The program. `today` is the day base models are judged retired on (None: the real day)."""
    # Once an update has failed, the engine stops the program with SIGINT (the program runs in
    # the language host's process group, which no terminal Ctrl-C reaches): end quietly instead
    # of printing a KeyboardInterrupt traceback under the error the engine has already shown.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        config = load_config(today=today)
        if config.emulated:
            from stacks.local import build_local_stack

            build_local_stack(config)
        else:
            from stacks.gcp import build_gcp_stack

            build_gcp_stack(config)
    except (ConfigError, DatasetError) as exc:
        # The user's to fix, and the message says how: no traceback around it.
        raise pulumi.RunError(str(exc)) from None
