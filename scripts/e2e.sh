#!/usr/bin/env bash
# Builds the app and the sync server and runs the end-to-end suite: the real app under
# Xvfb through tauri-driver. `--under-load` keeps one core busy the whole time (a busy
# loop per core but one), as a second build on a CI machine would: every wait in the
# suite must be a wait for the condition it needs, so it passes all the same.
#   scripts/e2e.sh                 the suite
#   scripts/e2e.sh [--under-load] FILE…   some of it (e.g. first-start.e2e.mjs)
#   scripts/e2e.sh --under-load    the suite with the machine's other core(s) busy
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

load=0
if [[ "${1:-}" == "--under-load" ]]; then
  load=1
  shift
fi

cargo build -p riskdesk-app -p riskdesk-server --locked

burners=()
stop_burners() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_burners EXIT
if (( load )); then
  cores=$(nproc 2>/dev/null || echo 2)
  busy=$(( cores > 1 ? cores - 1 : 1 ))
  echo "keeping $busy core(s) busy while the suite runs"
  for _ in $(seq "$busy"); do
    ( while :; do :; done ) &
    burners+=("$!")
  done
fi

# A hard limit, so that a wedged WebDriver session fails the run instead of stalling it.
if (( $# )); then
  e2e=(timeout --kill-after=30s 25m node --test --test-concurrency=1 --test-reporter=spec "$@")
else
  e2e=(timeout --kill-after=30s 25m npm test)
fi
# A session bus of its own, as a desktop session has: the app's single-instance lock
# lives there (desktop.e2e.mjs starts the app twice).
bus=()
command -v dbus-run-session >/dev/null && bus=(dbus-run-session --)
# The app's own files (its log, the window's size, a token kept in a file) go to a folder
# of this run's, never to the developer's; a failed run prints the log's tail, where the
# app says what it was doing.
xdg="$(pwd)/tests/e2e/artifacts/xdg"
rm -rf "$xdg"
mkdir -p "$xdg/data" "$xdg/config"
export XDG_DATA_HOME="$xdg/data" XDG_CONFIG_HOME="$xdg/config"
status=0
if [[ -n "${DISPLAY:-}" ]]; then
  (cd tests/e2e && "${bus[@]}" "${e2e[@]}" </dev/null) || status=$?
else
  (cd tests/e2e && "${bus[@]}" xvfb-run -a --server-args="-screen 0 1440x900x24" "${e2e[@]}" </dev/null) || status=$?
fi
if (( status )); then
  for log in "$XDG_DATA_HOME"/app.riskdesk.desktop/logs/*.log; do
    [[ -f "$log" ]] || continue
    echo "==> the app's log ($log), last 120 lines" >&2
    tail -n 120 "$log" >&2
  done
  echo "==> tauri-driver's output, last 40 lines" >&2
  tail -n 40 tests/e2e/artifacts/tauri-driver.log >&2 || true
fi
exit "$status"
