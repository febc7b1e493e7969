#!/usr/bin/env bash
# Starts the Debian PostgreSQL cluster (installed by scripts/setup.sh --e2e) and makes sure
# the test role and database exist; prints the URL for RISKDESK_TEST_PG_URL. The server
# tests give each test a database of its own on it and drop it afterwards.
set -euo pipefail

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

command -v pg_lsclusters >/dev/null || { echo "PostgreSQL is not installed (scripts/setup.sh --e2e installs it)" >&2; exit 1; }
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n1) || true
if [[ -z "${version:-}" ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
  as_root pg_createcluster "$version" main >&2
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n1)
fi
if [[ "$status" != online* ]]; then
  as_root pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 30); do
  as_postgres pg_isready -q -p "$port" && break
  sleep 1
done

psql_admin() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -Atq "$@"; }
if [[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'riskdesk_test'")" != 1 ]]; then
  psql_admin -c "CREATE ROLE riskdesk_test LOGIN CREATEDB PASSWORD 'riskdesk_test'"
fi
if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'riskdesk_test'")" != 1 ]]; then
  psql_admin -c "CREATE DATABASE riskdesk_test OWNER riskdesk_test"
fi
echo "postgres://riskdesk_test:riskdesk_test@127.0.0.1:${port}/riskdesk_test"
