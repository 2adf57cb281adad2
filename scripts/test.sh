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
fi
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
