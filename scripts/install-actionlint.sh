#!/usr/bin/env bash
# Prints the path of actionlint of the pinned version, building it from the Go module proxy (no
# prebuilt downloads are reachable here) into a per-user cache the first time; every clone on
# the machine reuses it. Only the workflow test needs it (tests/workflow), which runs this.
set -euo pipefail
version="${ACTIONLINT_VERSION:-v1.7.12}"
cache="${PULUMI_VERTEX_TUNING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vertex-tuning}"
dest="$cache/actionlint-$version"
binary="$dest/actionlint"

if [ -x "$binary" ] && [ "$("$binary" -version 2>/dev/null | head -1)" = "$version" ]; then
  echo "$binary"; exit 0
fi
command -v go >/dev/null || { echo "install-actionlint: Go is needed to build actionlint $version" >&2; exit 1; }
mkdir -p "$dest"
CGO_ENABLED=0 GOBIN="$dest" go install -trimpath -ldflags "-s -w -X main.version=$version" \
  "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
echo "$binary"
