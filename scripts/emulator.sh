#!/usr/bin/env bash
# start|stop the local emulator in the background for the local stack (port 8765, state in
# .state/). `start` returns once it accepts requests and does nothing if it already runs.
# EMULATOR_PORT, EMULATOR_JOB_SECONDS, EMULATOR_FAULTS (fault rules separated by ';', see
# docs/emulator.md) and EMULATOR_LIST_LAG (seconds) change how it starts.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
port="${EMULATOR_PORT:-8765}"
pidfile=.state/emulator.pid
log=.state/emulator.log
mkdir -p .state

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "emulator: already running (pid $(cat "$pidfile"))" >&2; exit 0; fi
    : > "$log"
    extra=()
    if [ -n "${EMULATOR_FAULTS:-}" ]; then extra+=(--fault "$EMULATOR_FAULTS"); fi
    if [ -n "${EMULATOR_LIST_LAG:-}" ]; then extra+=(--list-lag "$EMULATOR_LIST_LAG"); fi
    nohup .venv/bin/python -m tuning_provider emulator --port "$port" \
      --state-dir .state/emulator --gcs-dir .state/gcs --job-duration "${EMULATOR_JOB_SECONDS:-8}" \
      ${extra[@]+"${extra[@]}"} >"$log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 100); do
      if grep -q "^listening on" "$log"; then echo "emulator: $(head -1 "$log") (pid $(cat "$pidfile"))" >&2; exit 0; fi
      running || { echo "emulator: failed to start:" >&2; cat "$log" >&2; rm -f "$pidfile"; exit 1; }
      sleep 0.1
    done
    echo "emulator: not listening after 10s; see $log" >&2; exit 1 ;;
  stop)
    if running; then kill "$(cat "$pidfile")"; echo "emulator: stopped" >&2; fi
    rm -f "$pidfile" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
