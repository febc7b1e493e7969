#!/usr/bin/env bash
# Installs what Riskdesk needs and is missing. Idempotent: a second run installs nothing.
#   scripts/setup.sh          what building and running the app needs
#   scripts/setup.sh --e2e    also what the tests need: Xvfb, WebKitWebDriver, tauri-driver for the
#                             end-to-end tests; PostgreSQL for the sync server's tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_e2e=0
[[ "${1:-}" == "--e2e" ]] && want_e2e=1

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root (or sudo) to run: $*"; fi
}

# System packages (Debian/Ubuntu). Other systems: see README.
if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
  packages=(build-essential pkg-config curl file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev
            libayatana-appindicator3-dev libsoup-3.0-dev libdbus-1-dev)
  # dbus-daemon: the suite runs under its own session bus (dbus-run-session).
  (( want_e2e )) && packages+=(xvfb xauth webkit2gtk-driver postgresql dbus-daemon)
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
elif [[ "$(uname -s)" == "Linux" ]]; then
  say "not a Debian/Ubuntu system: install the WebKitGTK 4.1 and GTK 3 development packages yourself (see README)"
fi

command -v cargo >/dev/null || die "Rust is not installed: get it from rustup (https://rustup.rs), then run this again"
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
[[ "$rust_minor" =~ ^[0-9]+$ ]] && (( rust_minor >= 89 )) || die "$(rustc --version) is too old: Rust 1.89 or newer is needed (rustup update)"
command -v node >/dev/null || die "Node.js 20.19 or newer is needed (https://nodejs.org)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 20 )) || die "Node.js $(node --version) is too old: 20.19 or newer is needed"

# npm dependencies at the versions in the lock files; reinstalled only when a lock file
# changed. `npm install` rather than `npm ci`: the lock files hold only this platform's
# optional binaries (rollup, esbuild), which `npm ci` rejects as out of sync.
npm_install() {
  local dir=$1
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "installing npm packages in $dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
}
npm_install ui
if (( want_e2e )); then
  npm_install tests/e2e
  if ! command -v tauri-driver >/dev/null; then
    say "installing tauri-driver"
    cargo install tauri-driver --locked
  fi
fi
