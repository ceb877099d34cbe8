#!/usr/bin/env bash
# Puts actionlint of the pinned version in .tools/actionlint/ and prints its path. Built from
# the Go module proxy (no prebuilt downloads are reachable here); later runs reuse it.
set -euo pipefail
version="${ACTIONLINT_VERSION:-v1.7.12}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/actionlint"
binary="$dest/actionlint"

if [ -x "$binary" ] && [ "$("$binary" -version 2>/dev/null | head -1)" = "$version" ]; then
  echo "$binary"; exit 0
fi
command -v go >/dev/null || { echo "install-actionlint: Go is needed to build actionlint $version" >&2; exit 1; }
mkdir -p "$dest"
CGO_ENABLED=0 GOBIN="$dest" go install -trimpath -ldflags "-s -w -X main.version=$version" \
  "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
echo "$binary"
