using System.Text.Json;
using AppService.Matrix;

namespace AppService.Projections;

/// <summary>What a membership event meant, from the facts file's transition table (spec m.room.member).</summary>
public enum MembershipChange
{
    Joined,
    ProfileChanged,
    Invited,
    InviteRejected,
    InviteRevoked,
    Left,
    Kicked,
    Banned,
    Unbanned,
    Knocked,
    KnockRetracted,
    KnockDenied,
    KnockAccepted,

    /// <summary>A transition the spec says must never happen (join->invite, ban->join, ...): applied as sent.</summary>
    Unexpected,
}

public static class MembershipProjector
{
    /// <summary>
    /// The member row after <paramref name="memberEvent"/>. The previous membership is our stored row's; with no row
    /// it is <c>unsigned.prev_content</c>'s, and with neither it is <c>leave</c> (spec).
    /// </summary>
    public static (RoomMember Next, MembershipChange Change) Apply(RoomMember? current, MatrixEvent memberEvent, DateTimeOffset now)
    {
        var content = memberEvent.Content;
        string membership = Memberships.Normalize(MatrixText.Get(content, "membership"u8))
            ?? throw new ArgumentException("member event without a valid membership; ContentRules rejects these", nameof(memberEvent));
        string target = memberEvent.StateKey ?? throw new ArgumentException("member event without state_key", nameof(memberEvent));

        string previous = current?.Membership ?? PreviousFromUnsigned(memberEvent) ?? Memberships.Leave;
        var change = Classify(previous, membership, selfAction: memberEvent.Sender == target);

        var next = new RoomMember(memberEvent.RoomId, target, membership)
        {
            DisplayName = MatrixText.Display(content, "displayname"u8),
            AvatarUrl = MatrixText.Display(content, "avatar_url"u8),
            EventId = memberEvent.EventId,
            Sender = memberEvent.Sender,
            UpdatedAt = now,
        };
        return (next, change);
    }

    public static MembershipChange Classify(string previous, string next, bool selfAction) => (previous, next) switch
    {
        (Memberships.Join, Memberships.Join) => MembershipChange.ProfileChanged,
        (_, Memberships.Join) when previous is Memberships.Invite or Memberships.Leave => MembershipChange.Joined,
        (Memberships.Invite, Memberships.Leave) => selfAction ? MembershipChange.InviteRejected : MembershipChange.InviteRevoked,
        (Memberships.Join, Memberships.Leave) => selfAction ? MembershipChange.Left : MembershipChange.Kicked,
        (Memberships.Knock, Memberships.Leave) => selfAction ? MembershipChange.KnockRetracted : MembershipChange.KnockDenied,
        (Memberships.Ban, Memberships.Leave) => MembershipChange.Unbanned,
        (Memberships.Leave, Memberships.Leave) => selfAction ? MembershipChange.Left : MembershipChange.Kicked,
        (Memberships.Ban, Memberships.Ban) => MembershipChange.Banned,
        (Memberships.Ban, _) => MembershipChange.Unexpected,
        (_, Memberships.Ban) => MembershipChange.Banned,
        (Memberships.Knock, Memberships.Invite) => MembershipChange.KnockAccepted,
        (Memberships.Join, Memberships.Invite or Memberships.Knock) => MembershipChange.Unexpected,
        (_, Memberships.Invite) => MembershipChange.Invited,
        (_, Memberships.Knock) => MembershipChange.Knocked,
        _ => MembershipChange.Unexpected,
    };

    private static string? PreviousFromUnsigned(MatrixEvent memberEvent) =>
        memberEvent.Unsigned is { } unsigned
        && MatrixText.TryGetProperty(unsigned, "prev_content"u8, out var prev) && prev.ValueKind == JsonValueKind.Object
            ? Memberships.Normalize(MatrixText.Get(prev, "membership"u8))
            : null;
}
