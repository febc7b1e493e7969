#!/usr/bin/env bash
# Installs what is missing, builds the UI and the desktop app, and starts it. On first
# start the app creates its store in the OS app-data directory and makes ~2,500 demo
# accounts, with its progress on screen. Pass --release for an optimised build (slower to build, faster to run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
profile=()
[[ "${1:-}" == "--release" ]] && profile=(--release)
(cd ui && npm run build)
if [[ "$(uname -s)" == "Linux" && -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "No display found: run this from a desktop session (or under xvfb-run to try it headless)." >&2
  exit 1
fi
# The quick start explores the demo book without asking; an installed app asks on first
# start (demo book, or an empty store with you as its admin).
export RISKDESK_FIRST_START="${RISKDESK_FIRST_START:-demo}"
exec cargo run -p riskdesk-app "${profile[@]}"
