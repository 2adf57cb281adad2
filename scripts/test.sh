#!/usr/bin/env bash
# Build and run every test: unit tests, then integration tests against a real PostgreSQL.
# The integration tests use APPSERVICE_TEST_POSTGRES when set; otherwise a private cluster is started here
# (see scripts/lib/postgres.sh). Extra arguments go to 'dotnet test' (e.g. --filter ...).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
if [ -z "${APPSERVICE_TEST_POSTGRES:-}" ]; then
  ensure_postgres
  export APPSERVICE_TEST_POSTGRES="$APPSERVICE_PG"
  reason="$APPSERVICE_PG_REASON"
else
  reason="APPSERVICE_TEST_POSTGRES is set${_pg_asked_port:+ (APPSERVICE_PG_PORT=$_pg_asked_port is not used)}"
fi
# Host and port only: a connection string may hold a password.
pg_host="$(echo "$APPSERVICE_TEST_POSTGRES" | tr ';' '\n' | sed -n 's/^[Hh]ost=//p' | head -n1)"
pg_port="$(echo "$APPSERVICE_TEST_POSTGRES" | tr ';' '\n' | sed -n 's/^[Pp]ort=//p' | head -n1)"
echo "Tests use PostgreSQL at ${pg_host:-localhost}:${pg_port:-5432}: $reason"
mkdir -p .data

dotnet build AppService.sln -c Release -warnaserror -nologo -clp:ErrorsOnly

set +e
dotnet test AppService.sln -c Release --no-build --nologo --logger "console;verbosity=minimal" "$@" 2>&1 | tee .data/test-output.log
status=${PIPESTATUS[0]}
set -e

# One closing line over every test project: 'N passed, N failed'.
sum() { { grep -Eo "$1:[[:space:]]+[0-9]+," .data/test-output.log || true; } | tr -d ',' | awk '{s+=$2} END {print s+0}'; }
passed=$(sum Passed); failed=$(sum Failed); skipped=$(sum Skipped)
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
