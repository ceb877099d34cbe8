"""Stack programs: `local` against the emulator, `dev`/`prod` on Google Cloud.

`run()` is the whole Pulumi program: typed config -> the stack's program -> outputs.
"""

from __future__ import annotations

import pulumi

from stacks.config import StackConfig, load_config
from tuning_provider.errors import ConfigError, DatasetError

__all__ = ["StackConfig", "load_config", "run"]


def run() -> None:
    try:
        config = load_config()
        if config.emulated:
            from stacks.local import build_local_stack

            build_local_stack(config)
        else:
            from stacks.gcp import build_gcp_stack

            build_gcp_stack(config)
    except (ConfigError, DatasetError) as exc:
        # The user's to fix, and the message says how: no traceback around it.
        raise pulumi.RunError(str(exc)) from None
