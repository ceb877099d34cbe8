#!/usr/bin/env bash
# Prints the folder of a pulumi CLI with its Python language host and dynamic-provider shim, and
# the YAML language host (`runtime: yaml` programs), in this order of preference:
#   1. a pulumi on PATH at version $version or newer with those plugins beside it (an ordinary
#      pulumi install ships them): used as it is, no Go needed;
#   2. the one this script built before, for any clone on this machine (a per-user cache);
#   3. otherwise one built now from the Go module proxy (no prebuilt downloads are reachable
#      here) into that cache, once: about 5 minutes.
set -euo pipefail
version="${PULUMI_VERSION:-3.259.0}"
# The newest sdk/v3 that still holds python/cmd/pulumi-language-python: the host's own module is
# not served by the module proxy. It works with the CLI above (preview, up, refresh, destroy).
host_version="3.79.0"
# The YAML language host: pulumi-yaml's own module, served and free of replace directives.
yaml_version="${PULUMI_YAML_VERSION:-1.25.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PULUMI_VERTEX_TUNING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-vertex-tuning}"
dest="$cache/pulumi-v$version/bin"

version_of() { "$1" version 2>/dev/null | sed -n 's/^v\([0-9][0-9.]*\).*/\1/p' | head -n 1; }
# At least the pinned version: the oldest of the two, sorted by version, is the pinned one.
at_least_pinned() {
  local found; found="$(version_of "$1")"
  [ -n "$found" ] && [ "$(printf '%s\n%s\n' "$version" "$found" | sort -V | head -n 1)" = "$version" ]
}
have_python_plugins() {
  [ -x "$1/pulumi-resource-pulumi-python" ] && [ -x "$1/pulumi-language-python" ] \
    && [ -x "$1/pulumi-language-python-exec" ]
}
# The host has no --version: the module version Go recorded in the binary says which it is.
# Without Go nothing could rebuild it, so a host already there is taken as it is.
have_yaml_host() {
  [ -x "$1/pulumi-language-yaml" ] || return 1
  [ "${2:-}" = "any" ] || ! command -v go >/dev/null \
    || go version -m "$1/pulumi-language-yaml" 2>/dev/null \
      | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/pulumi/pulumi-yaml[[:space:]]+v$yaml_version([[:space:]]|$)"
}

# Every pulumi on PATH but this project's own wrapper (.venv/bin/pulumi, which execs a CLI found here).
while IFS= read -r existing; do
  [ "$existing" = "$root/.venv/bin/pulumi" ] && continue
  if at_least_pinned "$existing" && have_python_plugins "$(dirname "$existing")" \
    && have_yaml_host "$(dirname "$existing")" any; then
    dirname "$existing"; exit 0
  fi
done < <(type -ap pulumi 2>/dev/null || true)
if [ "$(version_of "$dest/pulumi")" = "$version" ] && have_python_plugins "$dest" && have_yaml_host "$dest"; then
  echo "$dest"; exit 0
fi

command -v go >/dev/null || { echo "install-pulumi: Go >= 1.25 is needed to build pulumi $version" >&2; exit 1; }
work="$(mktemp -d)"
log="$cache/pulumi-build.log"
mkdir -p "$dest"
: > "$log"
trap 'status=$?; rm -rf "$work"; if [ $status -ne 0 ]; then echo "install-pulumi: failed; the last lines of $log:" >&2; tail -25 "$log" >&2; fi' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
build_flags=(-trimpath -tags osusergo,grpcnotrace)

# The Python language host, from sdk/v3@v$host_version in a module of its own (it needs that
# sdk, the CLI needs the current one). sdk's go.mod replaces golang.org/x/text: repeat it here,
# since `go install ...@version` refuses modules with replace directives.
build_language_host() {
  echo "install-pulumi: building the Python language host (sdk v$host_version)" >&2
  mkdir -p "$work/host" && cd "$work/host"
  go mod init pulumi-language-python-build >/dev/null 2>&1
  go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$host_version" > sdk.json 2>>"$log"
  sdkmod="$(python3 -c 'import json; print(json.load(open("sdk.json"))["GoMod"])')"
  go mod edit $(sed -n 's/^replace \(\S*\) => \(\S*\) \(\S*\)$/-replace=\1=\2@\3/p' "$sdkmod")
  go get "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python@v$host_version" >>"$log" 2>&1
  go build "${build_flags[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$host_version" \
    -o "$dest/pulumi-language-python-v$host_version" github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python \
    >>"$log" 2>&1
  # The program runner the host starts: the current one, matching the pulumi Python package.
  go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$version" > current-sdk.json 2>>"$log"
  currentsdk="$(python3 -c 'import json; print(json.load(open("current-sdk.json"))["Dir"])')"
  install -m 0755 "$currentsdk/python/cmd/pulumi-language-python-exec" "$dest/"
  # The current CLI passes Pulumi.yaml's runtime options in a way this host predates, so it would
  # run the first python3 on PATH: hand it the project's virtualenv as the flag it does read.
  cat > "$dest/pulumi-language-python" <<SH
#!/bin/sh
# Python language host v$host_version, told the project's virtualenv (Pulumi.yaml runtime.options).
venv="\$(sed -n 's/^[[:space:]]*virtualenv:[[:space:]]*//p' Pulumi.yaml 2>/dev/null | head -n 1)"
exec "\$(dirname "\$0")/pulumi-language-python-v$host_version" \${venv:+-virtualenv="\$venv"} "\$@"
SH
  chmod 0755 "$dest/pulumi-language-python"
  cd "$work"
}

# The YAML language host, built with `go install` from its own module (about 3 minutes, once):
# into the work folder first, so that an interrupted build leaves no half-written host behind.
build_yaml_host() {
  echo "install-pulumi: building the YAML language host (pulumi-yaml v$yaml_version)" >&2
  GOBIN="$work/yaml" go install "${build_flags[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$yaml_version" \
    "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@v$yaml_version" >>"$log" 2>&1
  install -m 0755 "$work/yaml/pulumi-language-yaml" "$dest/.pulumi-language-yaml.$$"
  mv -f "$dest/.pulumi-language-yaml.$$" "$dest/pulumi-language-yaml"
}

if [ "$(version_of "$dest/pulumi")" = "$version" ] && [ -x "$dest/pulumi-resource-pulumi-python" ]; then
  have_python_plugins "$dest" || build_language_host
  have_yaml_host "$dest" || build_yaml_host
  echo "$dest"; exit 0
fi
echo "install-pulumi: building pulumi v$version from source (first run only, several minutes)" >&2
cd "$work"
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
go build "${build_flags[@]}" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
  -o "$dest/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >>"$log" 2>&1
install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$dest/"
[ "$(version_of "$dest/pulumi")" = "$version" ] || { echo "install-pulumi: the built CLI does not report v$version" >&2; exit 1; }
build_language_host
build_yaml_host
echo "$dest"
