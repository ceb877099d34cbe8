#!/usr/bin/env bash
# Prints the path of pyright of the pinned version, installing it from the npm registry (with the
# node on the machine) into a per-user cache the first time; every clone on the machine reuses
# it. Only tests/codegen needs it: it type-checks user programs as an IDE user's checker would.
set -euo pipefail
version="${PYRIGHT_VERSION:-1.1.414}"
cache="${PULUMI_VERTEX_TUNING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vertex-tuning}"
dest="$cache/pyright-$version"
binary="$dest/node_modules/.bin/pyright"

if [ -x "$binary" ] && [ "$("$binary" --version 2>/dev/null)" = "pyright $version" ]; then
  echo "$binary"; exit 0
fi
command -v npm >/dev/null || { echo "install-pyright: npm (Node.js) is needed to install pyright $version" >&2; exit 1; }
mkdir -p "$dest"
npm install --prefix "$dest" --no-audit --no-fund --no-save --silent "pyright@$version" >&2
echo "$binary"
