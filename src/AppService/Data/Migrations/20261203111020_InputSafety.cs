using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AppService.Data.Migrations
{
    /// <inheritdoc />
    public partial class InputSafety : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Rejected events become text that can always be stored (README "Input safety"): existing jsonb rows keep
            // their JSON text, get their size, and reason_code 'legacy' (the free-text reason stays as it was).
            migrationBuilder.Sql("""
                ALTER TABLE rejected_events
                    ALTER COLUMN content TYPE text USING content::text,
                    ALTER COLUMN content DROP NOT NULL,
                    ADD COLUMN content_bytes integer NOT NULL DEFAULT 0,
                    ADD COLUMN reason_code text NOT NULL DEFAULT 'legacy',
                    ADD COLUMN redacted_by text COLLATE "C" NULL;
                UPDATE rejected_events SET content_bytes = octet_length(content) WHERE content IS NOT NULL;
                ALTER TABLE rejected_events ALTER COLUMN content_bytes DROP DEFAULT, ALTER COLUMN reason_code DROP DEFAULT;
                """);

            migrationBuilder.CreateIndex(
                name: "ix_rejected_events_room_id_id",
                table: "rejected_events",
                columns: new[] { "room_id", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_rejected_events_room_id_id",
                table: "rejected_events");

            // Rows whose text is not valid jsonb (U+0000, lone surrogates, huge numbers, cut or redacted) cannot go back.
            migrationBuilder.Sql("""
                DELETE FROM rejected_events WHERE content IS NULL OR content_bytes <> octet_length(content)
                    OR content LIKE '%\\u0000%' OR content ~* '\\u[dD][89a-fA-F]';
                ALTER TABLE rejected_events
                    DROP COLUMN content_bytes,
                    DROP COLUMN reason_code,
                    DROP COLUMN redacted_by,
                    ALTER COLUMN content TYPE jsonb USING content::jsonb,
                    ALTER COLUMN content SET NOT NULL;
                """);
        }
    }
}
