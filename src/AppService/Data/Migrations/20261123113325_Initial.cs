using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "processed_events",
                columns: table => new
                {
                    event_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    room_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    event_type = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    txn_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_processed_events", x => x.event_id);
                });

            migrationBuilder.CreateTable(
                name: "rejected_events",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    event_id = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    room_id = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    event_type = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    txn_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    reason = table.Column<string>(type: "text", nullable: false),
                    content = table.Column<string>(type: "jsonb", nullable: false),
                    rejected_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_rejected_events", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "room_members",
                columns: table => new
                {
                    room_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    user_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    membership = table.Column<string>(type: "text", nullable: false),
                    displayname = table.Column<string>(type: "text", nullable: true),
                    avatar_url = table.Column<string>(type: "text", nullable: true),
                    event_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    sender = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_room_members", x => new { x.room_id, x.user_id });
                });

            migrationBuilder.CreateTable(
                name: "room_state",
                columns: table => new
                {
                    room_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    event_type = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    state_key = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    event_id = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_room_state", x => new { x.room_id, x.event_type, x.state_key });
                });

            migrationBuilder.CreateTable(
                name: "rooms",
                columns: table => new
                {
                    room_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    name = table.Column<string>(type: "text", nullable: true),
                    topic = table.Column<string>(type: "text", nullable: true),
                    canonical_alias = table.Column<string>(type: "text", nullable: true),
                    avatar_url = table.Column<string>(type: "text", nullable: true),
                    join_rule = table.Column<string>(type: "text", nullable: true),
                    history_visibility = table.Column<string>(type: "text", nullable: true),
                    encryption = table.Column<string>(type: "text", nullable: true),
                    room_version = table.Column<string>(type: "text", nullable: true),
                    creator = table.Column<string>(type: "text", nullable: true),
                    room_type = table.Column<string>(type: "text", nullable: true),
                    predecessor_room_id = table.Column<string>(type: "text", nullable: true),
                    tombstone_successor = table.Column<string>(type: "text", nullable: true),
                    bot_membership = table.Column<string>(type: "text", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_rooms", x => x.room_id);
                });

            migrationBuilder.CreateTable(
                name: "txn_ledger",
                columns: table => new
                {
                    txn_id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    content_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    event_count = table.Column<int>(type: "integer", nullable: false),
                    new_event_count = table.Column<int>(type: "integer", nullable: false),
                    rejected_count = table.Column<int>(type: "integer", nullable: false),
                    first_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_txn_ledger", x => x.txn_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_processed_events_processed_at",
                table: "processed_events",
                column: "processed_at");

            migrationBuilder.CreateIndex(
                name: "ix_rejected_events_rejected_at",
                table: "rejected_events",
                column: "rejected_at");

            migrationBuilder.CreateIndex(
                name: "ux_rejected_events_event_id",
                table: "rejected_events",
                column: "event_id",
                unique: true,
                filter: "event_id IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_room_members_user_membership",
                table: "room_members",
                columns: new[] { "user_id", "membership", "room_id" });

            migrationBuilder.CreateIndex(
                name: "ix_room_state_event_id",
                table: "room_state",
                column: "event_id");

            migrationBuilder.CreateIndex(
                name: "ix_txn_ledger_last_processed_at",
                table: "txn_ledger",
                column: "last_processed_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "processed_events");

            migrationBuilder.DropTable(
                name: "rejected_events");

            migrationBuilder.DropTable(
                name: "room_members");

            migrationBuilder.DropTable(
                name: "room_state");

            migrationBuilder.DropTable(
                name: "rooms");

            migrationBuilder.DropTable(
                name: "txn_ledger");
        }
    }
}
