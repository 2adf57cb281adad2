using AppService.Projections;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppService.Data;

// Add a migration: dotnet ef migrations add <Name> --project src/AppService --output-dir Data/Migrations
public sealed class AppDbContext(DbContextOptions<AppDbContext> options) : DbContext(options)
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

    /// <summary>Shadow column of <c>rooms</c>: when the periodic drift check last picked the room (not part of RoomInfo).</summary>
    public const string DriftCheckedAt = "DriftCheckedAt";

    /// <summary>
    /// The sequence that numbers processed events and resync starts (<c>processed_events.seq</c>). Its CACHE must stay
    /// 1 (the default): a larger cache hands each session its own range, and "larger is newer" would no longer hold
    /// across sessions.
    /// </summary>
    public const string ProcessingOrderSequence = "processing_order";

    private const string ProcessingOrderColumn = "Seq";

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasSequence<long>(ProcessingOrderSequence);

        modelBuilder.Entity<RoomInfo>(b =>
        {
            b.ToTable("rooms");
            b.HasKey(r => r.RoomId);
            Id(b.Property(r => r.RoomId), "room_id");
            b.Property(r => r.Name).HasColumnName("name");
            b.Property(r => r.Topic).HasColumnName("topic");
            b.Property(r => r.CanonicalAlias).HasColumnName("canonical_alias");
            b.Property(r => r.AvatarUrl).HasColumnName("avatar_url");
            b.Property(r => r.JoinRule).HasColumnName("join_rule");
            b.Property(r => r.HistoryVisibility).HasColumnName("history_visibility");
            b.Property(r => r.Encryption).HasColumnName("encryption");
            b.Property(r => r.RoomVersion).HasColumnName("room_version");
            b.Property(r => r.Creator).HasColumnName("creator");
            b.Property(r => r.RoomType).HasColumnName("room_type");
            b.Property(r => r.PredecessorRoomId).HasColumnName("predecessor_room_id");
            b.Property(r => r.TombstoneSuccessor).HasColumnName("tombstone_successor");
            b.Property(r => r.BotMembership).HasColumnName("bot_membership");
            b.Property(r => r.UpdatedAt).HasColumnName("updated_at");
            b.Property(r => r.StateSource).HasColumnName("state_source");
            b.Property(r => r.Suspect).HasColumnName("suspect");
            b.Property(r => r.LastSyncedAt).HasColumnName("last_synced_at");
            b.Property(r => r.Creators).HasColumnName("creators").UseCollation(IdCollation);
            // Our own compact JSON (Projections.PowerLevels), kept as text so it reads back byte for byte.
            b.Property(r => r.PowerLevels).HasColumnName("power_levels").HasColumnType("text");

            // Written only by the drift scheduler, never by the ingest's upsert: kept out of the projection record.
            b.Property<DateTimeOffset?>(DriftCheckedAt).HasColumnName("drift_checked_at");
        });

        modelBuilder.Entity<RoomMember>(b =>
        {
            b.ToTable("room_members");
            b.HasKey(m => new { m.RoomId, m.UserId });
            Id(b.Property(m => m.RoomId), "room_id");
            Id(b.Property(m => m.UserId), "user_id");
            b.Property(m => m.Membership).HasColumnName("membership").IsRequired();
            b.Property(m => m.DisplayName).HasColumnName("displayname");
            b.Property(m => m.AvatarUrl).HasColumnName("avatar_url");
            Id(b.Property(m => m.EventId), "event_id");
            Id(b.Property(m => m.Sender), "sender");
            b.Property(m => m.UpdatedAt).HasColumnName("updated_at");

            // user -> rooms: "in which rooms is this user joined" is an index-only scan.
            b.HasIndex(m => new { m.UserId, m.Membership, m.RoomId }).HasDatabaseName("ix_room_members_user_membership");

            // The admin API's member counts per room (joined, invited) are index-only scans.
            b.HasIndex(m => new { m.RoomId, m.Membership }).HasDatabaseName("ix_room_members_room_membership");
        });

        modelBuilder.Entity<RoomStateEntry>(b =>
        {
            b.ToTable("room_state");
            b.HasKey(s => new { s.RoomId, s.EventType, s.StateKey });
            Id(b.Property(s => s.RoomId), "room_id");
            Id(b.Property(s => s.EventType), "event_type");
            Id(b.Property(s => s.StateKey), "state_key");
            Id(b.Property(s => s.EventId), "event_id");
            Id(b.Property(s => s.Sender), "sender");
            b.HasIndex(s => s.EventId).HasDatabaseName("ix_room_state_event_id");
        });

        modelBuilder.Entity<ProcessedEvent>(b =>
        {
            b.ToTable("processed_events");
            b.HasKey(e => e.EventId);
            Id(b.Property(e => e.EventId), "event_id");
            Id(b.Property(e => e.RoomId), "room_id");
            Id(b.Property(e => e.EventType), "event_type");
            Id(b.Property(e => e.TxnId), "txn_id");
            b.Property(e => e.ProcessedAt).HasColumnName("processed_at");
            b.HasIndex(e => e.ProcessedAt).HasDatabaseName("ix_processed_events_processed_at");

            // Processing order (database sequence, never a replica's clock): the resync race rule compares these.
            b.Property<long?>(ProcessingOrderColumn).HasColumnName("seq").HasDefaultValueSql($"nextval('{ProcessingOrderSequence}')");
        });

        modelBuilder.Entity<RejectedEventRecord>(b =>
        {
            b.ToTable("rejected_events");
            b.HasKey(e => e.Id);
            b.Property(e => e.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            Id(b.Property(e => e.EventId), "event_id");
            Id(b.Property(e => e.RoomId), "room_id");
            Id(b.Property(e => e.EventType), "event_type");
            Id(b.Property(e => e.TxnId), "txn_id");
            b.Property(e => e.Reason).HasColumnName("reason").IsRequired();
            b.Property(e => e.Content).HasColumnName("content").HasColumnType("text");
            b.Property(e => e.ReasonCode).HasColumnName("reason_code").IsRequired();
            b.Property(e => e.ContentBytes).HasColumnName("content_bytes");
            Id(b.Property(e => e.RedactedBy), "redacted_by");
            b.Property(e => e.RejectedAt).HasColumnName("rejected_at");
            b.HasIndex(e => e.EventId).IsUnique().HasFilter("event_id IS NOT NULL").HasDatabaseName("ux_rejected_events_event_id");
            b.HasIndex(e => e.RejectedAt).HasDatabaseName("ix_rejected_events_rejected_at");
            b.HasIndex(e => new { e.RoomId, e.Id }).HasDatabaseName("ix_rejected_events_room_id_id");
        });

        modelBuilder.Entity<LedgerEntry>(b =>
        {
            b.ToTable("txn_ledger");
            b.HasKey(t => t.TxnId);
            Id(b.Property(t => t.TxnId), "txn_id");
            b.Property(t => t.ContentHash).HasColumnName("content_hash").IsRequired();
            b.Property(t => t.EventCount).HasColumnName("event_count");
            b.Property(t => t.NewEventCount).HasColumnName("new_event_count");
            b.Property(t => t.RejectedCount).HasColumnName("rejected_count");
            b.Property(t => t.FirstSeenAt).HasColumnName("first_seen_at");
            b.Property(t => t.LastProcessedAt).HasColumnName("last_processed_at");
            b.HasIndex(t => t.LastProcessedAt).HasDatabaseName("ix_txn_ledger_last_processed_at");
        });

        modelBuilder.Entity<Job>(b =>
        {
            b.ToTable("jobs");
            b.HasKey(j => j.Id);
            b.Property(j => j.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            b.Property(j => j.Kind).HasColumnName("kind").IsRequired();
            Id(b.Property(j => j.RoomId), "room_id");
            Id(b.Property(j => j.DedupKey), "dedup_key");
            b.Property(j => j.Reason).HasColumnName("reason").IsRequired();
            b.Property(j => j.Attempts).HasColumnName("attempts");
            b.Property(j => j.RunAfter).HasColumnName("run_after");
            b.Property(j => j.LockedUntil).HasColumnName("locked_until");
            b.Property(j => j.Rerun).HasColumnName("rerun");
            b.Property(j => j.LastError).HasColumnName("last_error");
            b.Property(j => j.Outcome).HasColumnName("outcome");
            b.Property(j => j.Detail).HasColumnName("detail");
            b.Property(j => j.CreatedAt).HasColumnName("created_at");
            b.Property(j => j.CompletedAt).HasColumnName("completed_at");

            // At most one open job per dedup key: a second request for the same work is folded into it
            // (INSERT ... ON CONFLICT), so duplicates are harmless.
            b.HasIndex(j => j.DedupKey).IsUnique().HasFilter("completed_at IS NULL").HasDatabaseName("ux_jobs_open_dedup_key");
            b.HasIndex(j => j.RunAfter).HasFilter("completed_at IS NULL").HasDatabaseName("ix_jobs_open_run_after");
            b.HasIndex(j => j.CompletedAt).HasFilter("completed_at IS NOT NULL").HasDatabaseName("ix_jobs_completed_at");
        });
    }

    private static void Id<T>(PropertyBuilder<T> property, string column) =>
        property.HasColumnName(column).UseCollation(IdCollation);
}
