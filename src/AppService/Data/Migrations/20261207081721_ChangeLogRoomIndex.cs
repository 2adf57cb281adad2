using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <summary>
    /// The change log's room index without the user (issue 19): <c>(room_id, xid, position)</c> replaces
    /// <c>(room_id, user_id, xid, position)</c>. Within a room, new rows always come after the room's last one, so an
    /// ingest inserts at the end of each room's range (a few hot pages, splits that leave full pages, few full-page
    /// images after a checkpoint) instead of at a random user's place. One member's history and the members at a time
    /// read the room's rows through it and filter or sort by user (docs/benchmarks.md, "Issue 19, fourth round"). No
    /// data change; building the index reads the whole change log once, under a lock that holds writes back for that
    /// time, and dropping the old one holds reads of the change log back until the migration commits (retention bounds
    /// the table).
    /// </summary>
    public partial class ChangeLogRoomIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("CREATE INDEX ix_change_log_room ON change_log (room_id, xid, position);");
            migrationBuilder.Sql("DROP INDEX ix_change_log_room_user;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("CREATE INDEX ix_change_log_room_user ON change_log (room_id, user_id, xid, position);");
            migrationBuilder.Sql("DROP INDEX ix_change_log_room;");
        }
    }
}
