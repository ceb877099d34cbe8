#!/usr/bin/env bash
# Prints the path of uv at the version requirements-uv.txt locks, installing it the first time
# into a per-user cache that every clone on the machine reuses (as scripts/install-pulumi.sh does
# the pulumi CLI): with pip, from the package index, hashes required. Fails, saying why, where
# pip cannot get it; scripts/install-venv.sh then falls back to pip.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lock="$root/requirements-uv.txt"
version="$(sed -n 's/^uv==\([^ ]*\).*/\1/p' "$lock")"
cache="${PULUMI_VERTEX_TUNING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vertex-tuning}"
dest="$cache/uv-$version"
binary="$dest/bin/uv"

if [ "$("$binary" --version 2>/dev/null | cut -d' ' -f2)" = "$version" ]; then
  echo "$binary"; exit 0
fi
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
mkdir -p "$cache"
# Into a folder of its own first, then renamed into place: clones setting up at the same time
# never see half an install.
staging="$(mktemp -d "$cache/.uv-install.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  --require-hashes --no-deps --target "$staging" -r "$lock" >&2
[ "$("$staging/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" = "$version" ] \
  || { echo "install-uv: the installed uv does not report $version" >&2; exit 1; }
# Another clone may have finished first: keep whichever working copy is in place.
if [ "$("$binary" --version 2>/dev/null | cut -d' ' -f2)" != "$version" ]; then
  rm -rf "$dest" && mv "$staging" "$dest"
fi
echo "$binary"
