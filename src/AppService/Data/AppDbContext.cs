using AppService.Projections;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppService.Data;

// Add a migration: dotnet ef migrations add <Name> --project src/AppService --output-dir Data/Migrations
public sealed partial class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
{
    /// <summary>Matrix identifiers are opaque and case-sensitive: compare and sort them byte-wise.</summary>
    private const string IdCollation = "C";

    public DbSet<RoomInfo> Rooms => Set<RoomInfo>();
    public DbSet<RoomMember> RoomMembers => Set<RoomMember>();
    public DbSet<RoomStateEntry> RoomState => Set<RoomStateEntry>();
    public DbSet<ProcessedEvent> ProcessedEvents => Set<ProcessedEvent>();
    public DbSet<RejectedEventRecord> RejectedEvents => Set<RejectedEventRecord>();
    public DbSet<LedgerEntry> Ledger => Set<LedgerEntry>();
    public DbSet<Job> Jobs => Set<Job>();
    public DbSet<PendingRedaction> PendingRedactions => Set<PendingRedaction>();

    /// <summary>Shadow column of <c>rooms</c>: when the periodic drift check last picked the room (not part of RoomInfo).</summary>
    public const string DriftCheckedAt = "DriftCheckedAt";

    /// <summary>
    /// The sequence that numbers processed events and resync starts (<c>processed_events.seq</c>). Its CACHE must stay
    /// 1 (the default): a larger cache hands each session its own range, and "larger is newer" would no longer hold
    /// across sessions.
    /// </summary>
    public const string ProcessingOrderSequence = "processing_order";

    private const string ProcessingOrderColumn = "Seq";

    private const string StateKeyColumn = "StateKey";

    /// <summary>
    /// The fillfactor of the tables the ingest updates in place (rooms, room_members, room_state): free room on each
    /// page so an update that changes no indexed column is a HOT update (the new row version on the same page, no
    /// index entry written).
    /// </summary>
    private const int HotFillFactor = 85;

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasSequence<long>(ProcessingOrderSequence);

        modelBuilder.Entity<RoomInfo>(b =>
        {
            b.ToTable("rooms");
            b.HasKey(r => r.RoomId);
            Id(b.Property(r => r.RoomId));
            b.Property(r => r.Creators).UseCollation(IdCollation);
            b.HasStorageParameter("fillfactor", HotFillFactor);

            // Our own compact JSON (Projections.PowerLevels), kept as text so it reads back byte for byte.
            b.Property(r => r.PowerLevels).HasColumnType("text");

            // Written only by the drift scheduler, never by the ingest's upsert: kept out of the projection record.
            b.Property<DateTimeOffset?>(DriftCheckedAt);
        });

        modelBuilder.Entity<RoomMember>(b =>
        {
            b.ToTable("room_members");
            b.HasStorageParameter("fillfactor", HotFillFactor);
            b.HasKey(m => new { m.RoomId, m.UserId });
            Id(b.Property(m => m.RoomId));
            Id(b.Property(m => m.UserId));
            b.Property(m => m.Membership).IsRequired();
            b.Property(m => m.DisplayName).HasColumnName("displayname");
            Id(b.Property(m => m.EventId));
            Id(b.Property(m => m.Sender));

            // user -> rooms: "in which rooms is this user joined" is an index-only scan.
            b.HasIndex(m => new { m.UserId, m.Membership, m.RoomId }).HasDatabaseName("ix_room_members_user_membership");

            // The admin API's member counts per room (joined, invited) are index-only scans.
            b.HasIndex(m => new { m.RoomId, m.Membership }).HasDatabaseName("ix_room_members_room_membership");
        });

        modelBuilder.Entity<RoomStateEntry>(b =>
        {
            b.ToTable("room_state");
            b.HasKey(s => new { s.RoomId, s.EventType, s.StateKey });
            Id(b.Property(s => s.RoomId));
            Id(b.Property(s => s.EventType));
            Id(b.Property(s => s.StateKey));
            Id(b.Property(s => s.EventId));
            Id(b.Property(s => s.Sender));

            // No index on event_id: every update of a row is then HOT (no index touched; the table does not bloat).
            // A redaction finds its target's key through processed_events.state_key instead (IngestSql).
            b.HasStorageParameter("fillfactor", HotFillFactor);
        });

        modelBuilder.Entity<ProcessedEvent>(b =>
        {
            b.ToTable("processed_events");
            b.HasKey(e => e.EventId);
            Id(b.Property(e => e.EventId));
            Id(b.Property(e => e.RoomId));
            Id(b.Property(e => e.EventType));
            Id(b.Property(e => e.TxnId));
            b.HasIndex(e => e.ProcessedAt).HasDatabaseName("ix_processed_events_processed_at");

            // The state key of a state event (null for other events): the key a redaction of it finds in room_state
            // (room_members for a member event).
            Id(b.Property<string?>(StateKeyColumn).HasColumnName("state_key"));

            // Processing order (database sequence, never a replica's clock): the resync race rule compares these.
            b.Property<long?>(ProcessingOrderColumn).HasColumnName("seq").HasDefaultValueSql($"nextval('{ProcessingOrderSequence}')");
        });

        modelBuilder.Entity<RejectedEventRecord>(b =>
        {
            b.ToTable("rejected_events");
            b.HasKey(e => e.Id);
            b.Property(e => e.Id).UseIdentityAlwaysColumn();
            Id(b.Property(e => e.EventId));
            Id(b.Property(e => e.RoomId));
            Id(b.Property(e => e.EventType));
            Id(b.Property(e => e.TxnId));
            b.Property(e => e.Reason).IsRequired();
            b.Property(e => e.Content).HasColumnType("text");
            b.Property(e => e.ReasonCode).IsRequired();
            Id(b.Property(e => e.RedactedBy));
            b.HasIndex(e => e.EventId).IsUnique().HasFilter("event_id IS NOT NULL").HasDatabaseName("ux_rejected_events_event_id");
            b.HasIndex(e => e.RejectedAt).HasDatabaseName("ix_rejected_events_rejected_at");
            b.HasIndex(e => new { e.RoomId, e.Id }).HasDatabaseName("ix_rejected_events_room_id_id");
        });

        modelBuilder.Entity<PendingRedaction>(b =>
        {
            b.ToTable("pending_redactions");
            b.HasKey(r => r.TargetEventId);
            Id(b.Property(r => r.TargetEventId));
            Id(b.Property(r => r.RoomId));
            Id(b.Property(r => r.RedactionEventId));
            Id(b.Property(r => r.Sender));
            b.HasIndex(r => r.ReceivedAt).HasDatabaseName("ix_pending_redactions_received_at");
        });

        modelBuilder.Entity<LedgerEntry>(b =>
        {
            b.ToTable("txn_ledger");
            b.HasKey(t => t.TxnId);
            Id(b.Property(t => t.TxnId));
            b.Property(t => t.ContentHash).IsRequired();
            b.HasIndex(t => t.LastProcessedAt).HasDatabaseName("ix_txn_ledger_last_processed_at");
        });

        modelBuilder.Entity<Job>(b =>
        {
            b.ToTable("jobs");
            b.HasKey(j => j.Id);
            b.Property(j => j.Id).UseIdentityAlwaysColumn();
            b.Property(j => j.Kind).IsRequired();
            Id(b.Property(j => j.RoomId));
            Id(b.Property(j => j.DedupKey));
            b.Property(j => j.Reason).IsRequired();

            // At most one open job per dedup key: a second request for the same work is folded into it
            // (INSERT ... ON CONFLICT), so duplicates are harmless.
            b.HasIndex(j => j.DedupKey).IsUnique().HasFilter("completed_at IS NULL").HasDatabaseName("ux_jobs_open_dedup_key");
            b.HasIndex(j => j.RunAfter).HasFilter("completed_at IS NULL").HasDatabaseName("ix_jobs_open_run_after");
            b.HasIndex(j => j.CompletedAt).HasFilter("completed_at IS NOT NULL").HasDatabaseName("ix_jobs_completed_at");
        });

        SnakeCaseColumns(modelBuilder);
    }

    private static void Id<T>(PropertyBuilder<T> property) => property.UseCollation(IdCollation);

    /// <summary>
    /// Every column is its property's name in snake_case (RoomId: room_id) unless the configuration above names it
    /// (displayname, seq): one rule instead of a HasColumnName per property.
    /// </summary>
    private static void SnakeCaseColumns(ModelBuilder modelBuilder)
    {
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(e => e.GetProperties()))
        {
            if (property.FindAnnotation(RelationalAnnotationNames.ColumnName) is null)
            {
                property.SetColumnName(SnakeCase().Replace(property.Name, "_$1").ToLowerInvariant());
            }
        }
    }

    [GeneratedRegex("(?<!^)([A-Z])")]
    private static partial Regex SnakeCase();
}
