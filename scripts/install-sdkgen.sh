#!/usr/bin/env bash
# Prints the path of tools/sdkgen (the TypeScript and Go SDK generator), building it with Go from
# its pinned go.mod/go.sum (pulumi's pkg/v3 at the CLI's version, from the Go module proxy) into a
# per-user cache the first time; every clone on the machine reuses it, and a change to its
# sources builds it afresh. `make sdks` and tests/languages run it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tools/sdkgen"
cache="${PULUMI_VERTEX_TUNING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vertex-tuning}"
dest="$cache/sdkgen-$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)"
binary="$dest/sdkgen"

if [ -x "$binary" ]; then
  echo "$binary"; exit 0
fi
command -v go >/dev/null || { echo "install-sdkgen: Go >= 1.25 is needed to build tools/sdkgen" >&2; exit 1; }
echo "install-sdkgen: building tools/sdkgen (first run only, a few minutes)" >&2
mkdir -p "$dest"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$dest/.sdkgen.$$" .)
mv -f "$dest/.sdkgen.$$" "$binary"  # whole, even with two builds at once
echo "$binary"
