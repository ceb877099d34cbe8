#!/usr/bin/env bash
# Issue 29's setup figures, from fresh clones of this checkout's HEAD in a temporary folder:
#   make setup   in a first and then a second clone: the second (uv's cache and the pulumi CLI
#                already on the machine) is the one judged, target <= 30 s;
#   make up      in a third fresh clone, setup and the emulator's job included, target <= 60 s
#                (then `make down`); it needs the local stack's port 8765 free;
#   make test    with --test, in a fourth fresh clone, target <= 360 s (several minutes).
# Wall time, with the machine's load average beside each figure: other work on a shared machine
# only ever slows a run down. `make bench-setup` runs it; arguments: [--test] [--keep].
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
with_test=false keep=false
for arg do
  case "$arg" in --test) with_test=true ;; --keep) keep=true ;; *) echo "usage: $0 [--test] [--keep]" >&2; exit 2 ;; esac
done
work="$(mktemp -d)"
cleanup() {
  [ -f "$work/up/.state/emulator.pid" ] && (cd "$work/up" && make --no-print-directory down >/dev/null 2>&1 || true)
  if $keep; then echo "clones kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }

# timed NAME TARGET CLONE COMMAND...: runs COMMAND in a fresh clone, its output in CLONE.log.
timed() {
  local name="$1" target="$2" clone="$work/$3"; shift 3
  git clone -q "$root" "$clone"
  local before; before="$(load)"
  local start; start="$(date +%s%N)"
  local status=0
  (cd "$clone" && "$@") >"$clone.log" 2>&1 || status=$?
  local tenths=$(( ($(date +%s%N) - start) / 100000000 ))
  local verdict="within"
  [ "$status" -eq 0 ] || verdict="FAILED (exit $status, see $clone.log)"
  [ "$status" -ne 0 ] || [ "$tenths" -le $(( target * 10 )) ] || verdict="over"
  printf '%-28s %5d.%d s   target <= %3d s: %-8s load %s -> %s\n' \
    "$name" $(( tenths / 10 )) $(( tenths % 10 )) "$target" "$verdict" "$before" "$(load)"
  [ "$status" -eq 0 ] || tail -5 "$clone.log" >&2
}

echo "bench-setup: fresh clones of $(git -C "$root" log --oneline -1 | cut -c1-60) in $work"
timed "make setup (first clone)" 30 setup1 make setup
timed "make setup (second clone)" 30 setup2 make setup
timed "make up (fresh clone)" 60 up make up
(cd "$work/up" && make --no-print-directory down >/dev/null 2>&1) || echo "bench-setup: make down failed" >&2
if $with_test; then
  timed "make test (fresh clone)" 360 test make test
  grep -E "passed|failed" "$work/test.log" | tail -1
fi
