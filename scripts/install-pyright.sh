#!/usr/bin/env bash
# Puts pyright of the pinned version in .tools/pyright/ (from the npm registry, with the node on
# the machine) and prints its path: tests/codegen type-checks user programs with it as an IDE
# user's checker would. Later runs reuse it.
set -euo pipefail
version="${PYRIGHT_VERSION:-1.1.414}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/pyright"
binary="$dest/node_modules/.bin/pyright"

if [ -x "$binary" ] && [ "$("$binary" --version 2>/dev/null)" = "pyright $version" ]; then
  echo "$binary"; exit 0
fi
command -v npm >/dev/null || { echo "install-pyright: npm (Node.js) is needed to install pyright $version" >&2; exit 1; }
mkdir -p "$dest"
npm install --prefix "$dest" --no-audit --no-fund --no-save --silent "pyright@$version" >&2
echo "$binary"
