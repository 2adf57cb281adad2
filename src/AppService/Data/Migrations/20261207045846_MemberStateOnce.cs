using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <summary>
    /// Member events stored once (issue 19): <c>room_state</c> no longer holds member keys. The current member event
    /// of a (room, user) is its member row's (<c>room_members.event_id</c>, and its sender <c>room_members.sender</c>),
    /// which every writer kept equal to the <c>room_state</c> member row; the ingest, the resync and the settle now
    /// read and write only the member row. No schema change. Down writes the member keys back from the member rows.
    /// </summary>
    public partial class MemberStateOnce : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DELETE FROM room_state WHERE event_type = 'm.room.member';");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                INSERT INTO room_state (room_id, event_type, state_key, event_id, sender)
                SELECT room_id, 'm.room.member', user_id, event_id, NULLIF(sender, '') FROM room_members
                ON CONFLICT (room_id, event_type, state_key) DO UPDATE SET event_id = excluded.event_id, sender = excluded.sender;
                """);
        }
    }
}
