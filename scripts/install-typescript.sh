#!/usr/bin/env bash
# Prints a folder whose node_modules holds exactly what tests/languages/nodejs/package-lock.json
# pins (@pulumi/pulumi, typescript and the TypeScript the generated SDK compiles itself with),
# installed with `npm ci` from the npm registry into a per-user cache the first time; every clone
# on the machine reuses it, and a changed lock file installs afresh. Only tests/languages needs
# it: it type-checks TypeScript programs written against the generated SDK (sdk/nodejs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lock="$root/tests/languages/nodejs/package-lock.json"
cache="${PULUMI_VERTEX_TUNING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vertex-tuning}"
dest="$cache/typescript-$(cat "$root/tests/languages/nodejs/package.json" "$lock" | sha256sum | cut -c1-16)"

if [ -f "$dest/node_modules/.package-lock.json" ]; then
  echo "$dest"; exit 0
fi
command -v npm >/dev/null || { echo "install-typescript: npm (Node.js) is needed to install TypeScript" >&2; exit 1; }
# Installed beside the destination and moved into place whole, so that an interrupted install
# (or two at once) never leaves a half-filled folder that looks finished.
mkdir -p "$cache"
work="$(mktemp -d "$cache/.typescript-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$root/tests/languages/nodejs/package.json" "$lock" "$work/"
# --ignore-scripts: type-checking runs nothing of these packages.
npm ci --prefix "$work" --no-audit --no-fund --ignore-scripts --loglevel=error >&2
mv -T "$work" "$dest" 2>/dev/null || [ -f "$dest/node_modules/.package-lock.json" ]
echo "$dest"
