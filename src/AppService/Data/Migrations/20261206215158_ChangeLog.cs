using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <summary>
    /// The change log (docs/change-feed.md): written and read by hand-written SQL only (Data/ChangeSql.cs), so it is
    /// not part of the EF model. Ordered by (xid, position): the writing transaction's id and an identity number.
    /// The horizon is the last row retention deleted (everything up to it is gone) and the newest time it deleted;
    /// it starts at the creation of the log: the rows held before it have no change rows.
    /// </summary>
    public partial class ChangeLog : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                CREATE TABLE change_log (
                    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                    position bigint GENERATED ALWAYS AS IDENTITY,
                    at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    kind text NOT NULL,
                    room_id text COLLATE "C" NOT NULL,
                    user_id text COLLATE "C",
                    membership text,
                    displayname text,
                    avatar_url text,
                    event_id text COLLATE "C",
                    sender text COLLATE "C",
                    prev_membership text,
                    prev_displayname text,
                    prev_avatar_url text,
                    prev_event_id text COLLATE "C",
                    prev_sender text COLLATE "C",
                    prev_updated_at timestamptz,
                    cause text NOT NULL,
                    changed text,
                    CONSTRAINT pk_change_log PRIMARY KEY (xid, position)
                );
                """);
            migrationBuilder.Sql("CREATE INDEX ix_change_log_room_user ON change_log (room_id, user_id, xid, position);");
            migrationBuilder.Sql("""
                CREATE TABLE change_log_horizon (
                    id int PRIMARY KEY CHECK (id = 1),
                    xid xid8 NOT NULL,
                    position bigint NOT NULL,
                    at timestamptz NOT NULL
                );
                """);
            migrationBuilder.Sql("INSERT INTO change_log_horizon (id, xid, position, at) VALUES (1, '0', 0, clock_timestamp());");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TABLE change_log_horizon;");
            migrationBuilder.Sql("DROP TABLE change_log;");
        }
    }
}
