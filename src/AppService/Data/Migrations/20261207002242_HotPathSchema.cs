using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <summary>
    /// The hot path's schema (issue 19): <c>room_state</c> loses its index on <c>event_id</c>, so updating a row (the
    /// ingest's 53 state upserts per benchmark transaction) touches no index and can be a HOT update; a redaction finds
    /// its target through <c>processed_events.state_key</c> instead (IngestSql.InsertProcessedEvents). The column is
    /// back-filled from <c>room_state</c>: only a current state event can be a redaction target that changes anything.
    /// The rows the ingest updates in place get a fillfactor with room for HOT updates (it applies to pages written from
    /// now on; a VACUUM FULL of these tables applies it to the existing ones).
    /// </summary>
    public partial class HotPathSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "state_key",
                table: "processed_events",
                type: "text",
                nullable: true,
                collation: "C");

            migrationBuilder.Sql("""
                UPDATE processed_events p SET state_key = s.state_key
                FROM room_state s
                WHERE p.event_id = s.event_id;
                """);

            migrationBuilder.DropIndex(
                name: "ix_room_state_event_id",
                table: "room_state");

            migrationBuilder.AlterTable(
                name: "rooms")
                .Annotation("Npgsql:StorageParameter:fillfactor", 85);

            migrationBuilder.AlterTable(
                name: "room_state")
                .Annotation("Npgsql:StorageParameter:fillfactor", 85);

            migrationBuilder.AlterTable(
                name: "room_members")
                .Annotation("Npgsql:StorageParameter:fillfactor", 85);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "state_key",
                table: "processed_events");

            migrationBuilder.AlterTable(
                name: "rooms")
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 85);

            migrationBuilder.AlterTable(
                name: "room_state")
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 85);

            migrationBuilder.AlterTable(
                name: "room_members")
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 85);

            migrationBuilder.CreateIndex(
                name: "ix_room_state_event_id",
                table: "room_state",
                column: "event_id");
        }
    }
}
