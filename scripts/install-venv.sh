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
    "$uv" pip install --quiet --no-deps --python "$2/bin/python" -e "$3"
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
  # sync: exactly the locks' packages (each lock is complete, so nothing is resolved), hashes required.
  "$uv" pip sync --quiet --require-hashes --python "$venv/bin/python" "$@"
  # Bytecode, as pip writes it: where PYTHONDONTWRITEBYTECODE is set nothing else ever does, and
  # every process would compile what it imports (0.9 s more for the provider's imports). Not for
  # what no process of the project imports, which would double this step: pulumi_gcp's services
  # besides the stacks' (pyproject.toml's mypy overrides name them), debugpy, mypyc, and the
  # plot extra's numpy and matplotlib. Skipped files still work, compiled in memory when imported.
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  "$venv/bin/python" -m compileall -q -j0 \
    -x '/site-packages/(pulumi_gcp/(?!(kms|projects|serviceaccount|storage|config)/|[^/]*\.py$)|debugpy/|mypyc/|numpy/|matplotlib/|fontTools/)' \
    "$site" >/dev/null
else
  echo "install-venv: uv could not be had (see above): installing with pip instead, which takes minutes" >&2
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  requirements=(); for lock in "$@"; do requirements+=(-r "$lock"); done
  # --no-deps: each lock is complete; hash-checking mode refuses any line without a hash.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    "${requirements[@]}"
fi
echo "$wanted" > "$stamp"
