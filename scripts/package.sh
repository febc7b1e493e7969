#!/usr/bin/env bash
# Builds the release app and the installers this machine can make without downloading
# anything: .deb and .rpm on Linux (the Tauri CLI comes from npm, a package registry).
# The bundles land in target/release/bundle/{deb,rpm}/. The release workflow
# (.github/workflows/release.yml) runs this same script on macOS and Windows runners.
#   scripts/package.sh            build them
#   scripts/package.sh --check    build them, then install the .deb with apt, run the
#                                 installed app under Xvfb through a smoke test, remove it
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

check=0
[[ "${1:-}" == "--check" ]] && check=1

(cd ui && npm ci --no-audit --no-fund && npx vite build)

# One tauri.conf.json lives at the workspace root; the CLI wants one beside the app's
# Cargo.toml. Stage a copy there with its paths made relative to src-tauri.
staged=src-tauri/tauri.conf.json
trap 'rm -f "$staged"' EXIT
node -e '
  const c = require("./tauri.conf.json");
  c.build.frontendDist = "../" + c.build.frontendDist;
  c.bundle.icon = c.bundle.icon.map((p) => p.replace(/^src-tauri\//, ""));
  require("fs").writeFileSync(process.argv[1], JSON.stringify(c, null, 2));
' "$staged"

case "$(uname -s)" in
  Linux) bundles="deb,rpm" ;;
  Darwin) bundles="app,dmg" ;;
  *) bundles="msi,nsis" ;;
esac
# PACKAGE_TARGET: a target triple (the release workflow builds universal-apple-darwin).
target_args=()
[[ -n "${PACKAGE_TARGET:-}" ]] && target_args=(--target "$PACKAGE_TARGET")
# With the team's signing key (TAURI_SIGNING_PRIVATE_KEY), the updater artifacts and
# their .sig files are made too: what `riskdesk-server release add` publishes.
if [[ -n "${TAURI_SIGNING_PRIVATE_KEY:-}" ]]; then
  target_args+=(--config '{"bundle":{"createUpdaterArtifacts":true}}')
fi
TAURI_APP_PATH="$PWD/src-tauri" ui/node_modules/.bin/tauri build --bundles "$bundles" --ci "${target_args[@]}"
ls -l target/release/bundle/*/ target/*/release/bundle/*/ 2>/dev/null || true

if (( check )); then
  bash scripts/package-check.sh
fi
