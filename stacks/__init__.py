"""Stack programs: `local` against the emulator, `dev`/`prod` on Google Cloud.

`run()` is the whole Pulumi program: typed config -> the stack's program -> outputs.
"""

from __future__ import annotations

from stacks.config import StackConfig, load_config

__all__ = ["StackConfig", "load_config", "run"]


def run() -> None:
    config = load_config()
    if config.emulated:
        from stacks.local import build_local_stack

        build_local_stack(config)
    else:
        from stacks.gcp import build_gcp_stack

        build_gcp_stack(config)
