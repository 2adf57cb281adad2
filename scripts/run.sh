#!/usr/bin/env bash
# Build, make sure PostgreSQL is there, apply migrations and serve on http://127.0.0.1:9000.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
ensure_postgres

export ConnectionStrings__AppService="$APPSERVICE_PG_DB"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
# dotnet run starts in the project directory: name the registration by its absolute path.
export AppService__RegistrationFile="${AppService__RegistrationFile:-$PWD/registration.yaml}"

# The admin API needs a bearer token. Use the configured one, else a random one kept in .data/.
if [ -z "${AppService__AdminToken:-}" ]; then
  mkdir -p .data
  [ -s .data/admin-token ] || (head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > .data/admin-token)
  export AppService__AdminToken="$(cat .data/admin-token)"
  echo "Admin token (from .data/admin-token): $AppService__AdminToken"
fi

URLS="${APPSERVICE_URLS:-http://127.0.0.1:9000}"
if [ -n "${APPSERVICE_PG_DATA:-}" ]; then
  echo "PostgreSQL: 127.0.0.1:$APPSERVICE_PG_PORT, data in $APPSERVICE_PG_DATA (log: $APPSERVICE_PG_DATA/server.log)"
fi
echo "Serving on $URLS (Swagger UI: $URLS/swagger in Development). Ctrl+C stops the service; scripts/stop.sh stops it and PostgreSQL."
# exec keeps this pid: scripts/stop.sh stops it (and the service it runs) by the pid recorded here.
mkdir -p .data
echo $$ > .data/run.pid
exec dotnet run --project src/AppService -c Release -- --urls "$URLS" "$@"
