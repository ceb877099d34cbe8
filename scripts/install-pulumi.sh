#!/usr/bin/env bash
# Puts a pulumi CLI of the pinned version in .tools/pulumi/bin and prints that folder.
# Uses one already on PATH when its version matches; otherwise builds the CLI from the
# Go module proxy (no prebuilt downloads are reachable here) and reuses it on later runs.
set -euo pipefail
version="${PULUMI_VERSION:-3.259.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.tools/pulumi/bin"

have_version() { [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "v$version" ]; }

if have_version "$dest/pulumi" && [ -x "$dest/pulumi-resource-pulumi-python" ]; then
  echo "$dest"; exit 0
fi
if existing="$(command -v pulumi 2>/dev/null)" && have_version "$existing" \
   && command -v pulumi-resource-pulumi-python >/dev/null 2>&1; then
  dirname "$existing"; exit 0
fi

command -v go >/dev/null || { echo "install-pulumi: Go >= 1.25 is needed to build pulumi $version" >&2; exit 1; }
echo "install-pulumi: building pulumi v$version from source (first run only, several minutes)" >&2
work="$(mktemp -d)"
log="$root/.tools/pulumi-build.log"
mkdir -p "$root/.tools"
: > "$log"
trap 'status=$?; rm -rf "$work"; if [ $status -ne 0 ]; then echo "install-pulumi: failed; the last lines of $log:" >&2; tail -25 "$log" >&2; fi' EXIT
cd "$work"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
go mod init pulumi-build >/dev/null 2>&1
# pkg's go.mod carries replace directives that `go get` ignores: apply its non-local ones
# here first (its ../sdk replace is the same sdk version, required explicitly below).
go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$version" > pkg.json 2>>"$log"
pkgmod="$(python3 -c 'import json,sys; print(json.load(open("pkg.json"))["GoMod"])')"
go mod edit $(python3 - "$pkgmod" <<'PY'
import re, sys
for old, new in re.findall(r"^replace (\S+(?: \S+)?) => (\S+ \S+)$", open(sys.argv[1]).read(), re.M):
    print("-replace=%s=%s" % (old.replace(" ", "@"), new.replace(" ", "@")))
PY
)
go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$version" "github.com/pulumi/pulumi/sdk/v3@v$version" >>"$log" 2>&1
sdkdir="$(go list -m -f '{{.Dir}}' "github.com/pulumi/pulumi/sdk/v3")"
mkdir -p "$dest"
go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
  -o "$dest/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >>"$log" 2>&1
install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$dest/"
have_version "$dest/pulumi" || { echo "install-pulumi: the built CLI does not report v$version" >&2; exit 1; }
echo "$dest"
