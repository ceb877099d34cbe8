#!/usr/bin/env bash
# `make lock`: compiles each hand-edited requirements input (*.in) into its lock (*.txt), every
# package and every dependency pinned with the sha256 hashes of its files, for Python 3.11 on
# any platform. A lock's current pins are kept unless its input asks otherwise, so adding a
# dependency changes only what it brings; arguments go to `uv pip compile` (for instance
# `--upgrade-package NAME` to move a dependency that no input pins).
#   --check   compiles into a temporary folder and fails naming every lock that differs from
#             what its input gives (tests/test_locks.py runs it).
#   --list    prints "input lock" for each lock.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# input, lock, options of its own. requirements.txt first: requirements-dev.in is held to it.
locks=(
  "requirements.in requirements.txt"
  "requirements-dev.in requirements-dev.txt"
  # Without its declared dependencies: requirements-aiplatform.in says why.
  "requirements-aiplatform.in requirements-aiplatform.txt --no-deps"
  "requirements-uv.in requirements-uv.txt"
  "policy/requirements.in policy/requirements.txt"
)

mode=write
case "${1:-}" in
  --check) mode=check; shift ;;
  --list) for entry in "${locks[@]}"; do echo "${entry% --*}"; done; exit 0 ;;
esac
uv="$(bash scripts/install-uv.sh)"
compile() {  # input, output, options...
  local input="$1" output="$2"; shift 2
  "$uv" pip compile --quiet --generate-hashes --universal --python-version 3.11 \
    --custom-compile-command "make lock" "$input" -o "$output" "$@"
}

if [ "$mode" = write ]; then
  for entry in "${locks[@]}"; do
    read -r input lock options <<<"$entry"
    # shellcheck disable=SC2086  # options: words of their own
    compile "$input" "$lock" $options "$@"
  done
  exit 0
fi

# --check: from the uv cache when it holds everything needed, else from the index.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
stale=()
for entry in "${locks[@]}"; do
  read -r input lock options <<<"$entry"
  mkdir -p "$scratch/$(dirname "$lock")"
  cp "$lock" "$scratch/$lock"  # its pins are the preferences, as in write mode
  # shellcheck disable=SC2086
  compile "$input" "$scratch/$lock" $options --offline 2>/dev/null \
    || compile "$input" "$scratch/$lock" $options
  cmp -s "$lock" "$scratch/$lock" || stale+=("$lock")
done
if [ ${#stale[@]} -gt 0 ]; then
  for lock in "${stale[@]}"; do
    echo "lock: $lock does not match its input: run \`make lock\` and commit the result" >&2
    diff -u "$lock" "$scratch/$lock" | sed -n '3,40p' >&2 || true
  done
  exit 1
fi
