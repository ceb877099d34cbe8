#!/usr/bin/env bash
# install-venv.sh DIR LOCK...: makes the virtualenv DIR hold exactly the packages the locks list,
# each checked against its hashes (`make lock` writes the locks; none may lack a hash). With uv
# (scripts/install-uv.sh): a venv and a sync take seconds, the wheels linked from uv's cache that
# every clone on the machine shares. Where uv cannot be had, with pip, saying so. A stamp of the
# locks makes a second run with the same locks do nothing. Used by scripts/setup.sh and by every
# job of the CI workflow.
# install-venv.sh --editable DIR PROJECT: installs PROJECT editable, without its dependencies,
# into the existing venv DIR (the locks hold those), with uv or pip as above.
set -euo pipefail
if [ "${1:-}" = --editable ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --editable DIR PROJECT" >&2; exit 2; }
  if uv="$(bash "$(dirname "$0")/install-uv.sh" 2>/dev/null)"; then
    "$uv" pip install --quiet --no-deps --compile-bytecode --python "$2/bin/python" -e "$3"
  else
    "$2/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$3"
  fi
  exit 0
fi
[ $# -ge 2 ] || { echo "usage: $0 DIR LOCK..." >&2; exit 2; }
venv="$1"; shift
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
stamp="$venv/.locks-stamp"
wanted="$(cat "$@" | sha256sum | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  exit 0
fi
echo "install-venv: installing $* into $venv" >&2
rm -f "$stamp"
if uv="$(bash "$(dirname "$0")/install-uv.sh")"; then
  # The interpreter itself, not a shim: uv must neither guess nor download one.
  interpreter="$("$python" -c 'import sys; print(sys.executable)')"
  [ -x "$venv/bin/python" ] || "$uv" venv --quiet --python "$interpreter" --no-python-downloads "$venv"
  # sync: exactly the locks' packages (each lock is complete, so nothing is resolved), hashes
  # required. --compile-bytecode as pip does: where PYTHONDONTWRITEBYTECODE is set, nothing else
  # ever writes the .pyc files, and every process would compile what it imports.
  "$uv" pip sync --quiet --require-hashes --compile-bytecode --python "$venv/bin/python" "$@"
else
  echo "install-venv: uv could not be had (see above): installing with pip instead, which takes minutes" >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  requirements=(); for lock in "$@"; do requirements+=(-r "$lock"); done
  # --no-deps: each lock is complete; hash-checking mode refuses any line without a hash.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    "${requirements[@]}"
fi
echo "$wanted" > "$stamp"
