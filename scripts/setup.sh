#!/usr/bin/env bash
# Sets the project up on a fresh machine: .venv from the pinned requirements, and a pulumi CLI
# of the pinned version (built offline from the Go module proxy on first run). Idempotent:
# a second run only checks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

stamp=.venv/.requirements-stamp
wanted="$(cat requirements.txt requirements-dev.txt requirements-aiplatform.txt constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -r requirements-dev.txt -c constraints.txt
  # Without its declared dependencies: see requirements-aiplatform.txt for why.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements-aiplatform.txt
  echo "$wanted" > "$stamp"
fi
bash scripts/install-pulumi.sh >/dev/null
echo "setup: ready (.venv, $(.tools/pulumi/bin/pulumi version 2>/dev/null || pulumi version))" >&2
