#!/usr/bin/env bash
# Installs the .deb scripts/package.sh built with the system package manager (apt pulls
# its dependencies), starts the installed app under Xvfb and drives it through a smoke
# test (window title, the worklist shows), then removes the package again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

deb=$(ls -t target/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)
if [[ -z "$deb" ]]; then
  echo "no .deb in target/release/bundle/deb: run scripts/package.sh first" >&2
  exit 1
fi
sudo=""
(( EUID != 0 )) && sudo="sudo"
package=$(dpkg-deb -f "$deb" Package)
echo "installing $deb ($package)"
$sudo apt-get install -y "./$deb"
trap '$sudo apt-get remove -y "$package" >/dev/null' EXIT
binary=$(dpkg -L "$package" | grep -E '^/usr/bin/' | head -1)
[[ -x "$binary" ]] || { echo "the package installed no program in /usr/bin" >&2; exit 1; }
echo "installed $binary"
(cd tests/e2e && npm ci --no-audit --no-fund >/dev/null && \
  RISKDESK_APP="$binary" xvfb-run -a --server-args="-screen 0 1440x900x24" \
  timeout --kill-after=30s 10m node --test --test-reporter=spec ./installed.smoke.mjs </dev/null)
echo "the installed app passed its smoke test; removing $package"
