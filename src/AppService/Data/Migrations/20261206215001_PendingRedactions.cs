using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <inheritdoc />
    public partial class PendingRedactions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "pending_redactions",
                columns: table => new
                {
                    target_event_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    room_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    redaction_event_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    sender = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_pending_redactions", x => x.target_event_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_pending_redactions_received_at",
                table: "pending_redactions",
                column: "received_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "pending_redactions");
        }
    }
}
