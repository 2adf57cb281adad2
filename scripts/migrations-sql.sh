#!/usr/bin/env bash
# Regenerates deploy/migrations.sql: the idempotent SQL script of every EF Core migration, for operators who
# apply the schema themselves (AppService:MigrateOnStartup=false). Run it after adding a migration and commit
# the result with the migration:
#
#   dotnet ef migrations add <Name> --project src/AppService --output-dir Data/Migrations
#   scripts/migrations-sql.sh
#
# Needs the dotnet-ef tool (dotnet tool install --global dotnet-ef). No database is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
dotnet ef migrations script --idempotent --project src/AppService --output deploy/migrations.sql "$@"
echo "deploy/migrations.sql regenerated; apply it with: psql \"\$DATABASE_URL\" -v ON_ERROR_STOP=1 -f deploy/migrations.sql" >&2
