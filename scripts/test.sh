#!/usr/bin/env bash
# Build and run every test: unit tests, then integration tests against a real PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
if [ -z "${APPSERVICE_TEST_POSTGRES:-}" ]; then
  ensure_postgres
  export APPSERVICE_TEST_POSTGRES="$APPSERVICE_PG"
fi

mkdir -p .data
dotnet build AppService.sln -c Release -warnaserror 2>&1 | tail -n 3
dotnet test AppService.sln -c Release --no-build --logger "console;verbosity=normal" "$@" 2>&1 \
  | tee .data/test-output.log | grep -E '^\s*(Passed|Failed|Skipped)!|^\s+Failed |error|Total tests|Passed:|Failed:' || true
status=${PIPESTATUS[0]}

# One closing line over every test project: 'N passed, N failed'.
passed=$(grep -Eo 'Passed:[[:space:]]+[0-9]+' .data/test-output.log | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed:[[:space:]]+[0-9]+' .data/test-output.log | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped:[[:space:]]+[0-9]+' .data/test-output.log | awk '{s+=$2} END {print s+0}')
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
