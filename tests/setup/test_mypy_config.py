"""`make lint`'s mypy reads only the pulumi_gcp services the stacks use (pyproject.toml): that
keeps a fresh clone's first run under a minute of CPU instead of three. A service it skips is
Any to mypy, so every service the checked code uses must be among those it reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def checked_sources() -> list[Path]:
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    return [path for name in files for path in ([ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py"))]


def read_services() -> set[str]:
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    modules = [m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]]
    return {m.removeprefix("pulumi_gcp.").removesuffix(".*") for m in modules if m.startswith("pulumi_gcp.")}


def test_every_pulumi_gcp_service_the_checked_code_uses_is_read_by_mypy() -> None:
    used: set[str] = set()
    for source in checked_sources():
        text = source.read_text()
        aliases = re.findall(r"^import pulumi_gcp as (\w+)$", text, re.M) + ["pulumi_gcp"]
        for alias in aliases:
            used |= set(re.findall(rf"\b{alias}\.([a-z_]+)\.", text))
        for names in re.findall(r"^from pulumi_gcp import (.+)$", text, re.M):
            used |= {name.split(" as ")[0].strip() for name in names.strip("()").split(",")}
        used |= set(re.findall(r"^from pulumi_gcp\.(\w+)", text, re.M))
    assert used, "stacks/ no longer uses pulumi_gcp: drop the mypy overrides in pyproject.toml"
    assert used <= read_services(), f"add to pyproject.toml's mypy overrides: {sorted(used - read_services())}"


def test_setup_compiles_the_bytecode_of_the_services_mypy_reads() -> None:
    # scripts/install-venv.sh leaves the other services uncompiled (nothing imports them).
    script = (ROOT / "scripts" / "install-venv.sh").read_text()
    compiled = re.search(r"pulumi_gcp/\(\?!\(([a-z_|]+)\)/", script)
    assert compiled, "install-venv.sh no longer names the pulumi_gcp services it compiles"
    assert set(compiled.group(1).split("|")) == read_services() - {"_utilities", "_inputs", "provider"}
