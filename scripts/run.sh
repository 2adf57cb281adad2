#!/usr/bin/env bash
# Build, make sure PostgreSQL is there, apply migrations and serve on $APPSERVICE_URLS (http://127.0.0.1:9000).
#
# One service per checkout: the service holds a lock on .data/run.lock for as long as it runs (the lock is inherited
# through exec). A second run.sh finds the lock taken, says so in one line and exits 1 without touching anything;
# scripts/stop.sh stops whatever holds the lock, whatever .data/run.pid says.
set -euo pipefail
cd "$(dirname "$0")/.."

URLS="${APPSERVICE_URLS:-http://127.0.0.1:9000}"
URL="${URLS%%;*}"                       # the first of several ';'-separated URLs
mkdir -p .data
lock=.data/run.lock
# fd 9 stays open in this shell and, after exec, in the service: the lock is held until the service exits.
exec 9>>"$lock"
if ! flock -n 9; then
  read -r other_pid other_url < "$lock" || true
  echo "The service of this checkout is already running (pid ${other_pid:-?}, ${other_url:-unknown URL}): scripts/stop.sh stops it." >&2
  exit 1
fi
# The address must be free (another checkout's service, another program): say so now, not in a stack trace.
probe="$(echo "$URL" | sed -E 's#^[a-z]+://(\*|\+|0\.0\.0\.0|\[::\])#http://127.0.0.1#')"
hostport="$(echo "$probe" | sed -E 's#^[a-z]+://([^/]+).*#\1#')"
host="${hostport%:*}"; port="${hostport##*:}"
[ "$host" != "$hostport" ] || port=80
host="${host#[}"; host="${host%]}"
if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  echo "Something else already listens on $hostport (not this checkout's service): stop it, or choose another address with APPSERVICE_URLS." >&2
  exit 1
fi

source scripts/lib/postgres.sh
# Nothing started from here keeps fd 9 (a PostgreSQL or a build server holding the lock would outlive the service).
ensure_postgres 9>&-

export ConnectionStrings__AppService="$APPSERVICE_PG_DB"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
export AppService__RegistrationFile="${AppService__RegistrationFile:-$PWD/registration.yaml}"

# The admin API needs a bearer token. Use the configured one, else a random one kept in .data/.
admin_line="ADMIN=\"Authorization: Bearer \$AppService__AdminToken\"   # the token you configured"
if [ -z "${AppService__AdminToken:-}" ]; then
  admin_line="ADMIN=\"Authorization: Bearer \$(cat $PWD/.data/admin-token)\""
  [ -s .data/admin-token ] || (head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > .data/admin-token)
  export AppService__AdminToken="$(cat .data/admin-token)"
  echo "Admin token (from .data/admin-token): $AppService__AdminToken"
fi

if [ -n "${APPSERVICE_PG_DATA:-}" ]; then
  echo "PostgreSQL: 127.0.0.1:$APPSERVICE_PG_PORT, data in $APPSERVICE_PG_DATA (log: $APPSERVICE_PG_DATA/server.log)"
fi

# The same publish as deploy/Dockerfile and the benchmark (scripts/lib/service.sh publish_service): Release,
# framework-dependent for linux-x64, ReadyToRun (AppService.csproj), so what runs here is what was measured.
echo "Building (Release, ReadyToRun)"
build_log="$(dotnet publish src/AppService -c Release -r linux-x64 --self-contained false -p:UseAppHost=false \
  -o src/AppService/bin/Release/publish -nologo -v q -clp:ErrorsOnly 2>&1 9>&-)" || { echo "$build_log" >&2; echo "The build failed" >&2; exit 1; }
dll=src/AppService/bin/Release/publish/AppService.dll
[ -f "$dll" ] || { echo "The build made no $dll" >&2; exit 1; }

# The hs_token is printed only when it is the shipped placeholder (Development); a real one stays in its file.
hs_token="$(sed -n 's/^hs_token:[[:space:]]*//p' "$AppService__RegistrationFile" 2>/dev/null | tr -d "\"'" | head -n1 || true)"
case "$hs_token" in CHANGE_ME*) ;; *) hs_token="<hs_token of $AppService__RegistrationFile>" ;; esac

echo "$$ $URLS" > "$lock"
echo $$ > .data/run.pid
echo "Starting on $URLS"
# "Serving on" only once the service answers; nothing if it exits first (its own log says why).
(
  service=$$
  while kill -0 "$service" 2>/dev/null; do
    if curl -fsS -m 2 -o /dev/null "$probe/health/live" 2>/dev/null; then
      cat <<EOF
Serving on $URLS (pid $service; Swagger UI: $URL/swagger in Development). Ctrl+C stops the service; scripts/stop.sh stops it and PostgreSQL.
Try it (the commands of README.md "Try it" use these three variables):
  URL=$URL
  HS='Authorization: Bearer $hs_token'
  $admin_line
  curl -H "\$ADMIN" "\$URL/admin/v1/rooms"
EOF
      exit 0
    fi
    sleep 0.5
  done
) 9>&- &
# exec keeps this pid and fd 9: the service itself holds the lock, and stop.sh finds it by it.
exec dotnet "$dll" --urls "$URLS" "$@"
