using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <inheritdoc />
    public partial class StateCorrectness : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateSequence(
                name: "processing_order");

            migrationBuilder.AddColumn<string[]>(
                name: "creators",
                table: "rooms",
                type: "text[]",
                nullable: true,
                collation: "C");

            migrationBuilder.AddColumn<string>(
                name: "power_levels",
                table: "rooms",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "sender",
                table: "room_state",
                type: "text",
                nullable: true,
                collation: "C");

            // Without a default first, then the default: adding a column with a volatile default would rewrite the
            // whole table to number the old rows. Old rows stay NULL ("order unknown"), which the race rule treats
            // as older than any resync, as it treated them before.
            migrationBuilder.AddColumn<long>(
                name: "seq",
                table: "processed_events",
                type: "bigint",
                nullable: true);
            migrationBuilder.Sql("ALTER TABLE processed_events ALTER COLUMN seq SET DEFAULT nextval('processing_order');");

            // What can be recovered from rows we hold: a member key's sender is its member row's, and a room's
            // creators its one creator (a v12 room's additional creators and every room's power levels come with
            // the next resync, which the drift check queues; until then a redaction the rule cannot decide queues one).
            migrationBuilder.Sql("""
                UPDATE room_state s SET sender = m.sender
                FROM room_members m
                WHERE s.event_type = 'm.room.member' AND m.room_id = s.room_id AND m.user_id = s.state_key AND m.event_id = s.event_id;
                """);
            migrationBuilder.Sql("UPDATE rooms SET creators = ARRAY[creator] WHERE creator IS NOT NULL;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "creators",
                table: "rooms");

            migrationBuilder.DropColumn(
                name: "power_levels",
                table: "rooms");

            migrationBuilder.DropColumn(
                name: "sender",
                table: "room_state");

            migrationBuilder.DropColumn(
                name: "seq",
                table: "processed_events");

            migrationBuilder.DropSequence(
                name: "processing_order");
        }
    }
}
