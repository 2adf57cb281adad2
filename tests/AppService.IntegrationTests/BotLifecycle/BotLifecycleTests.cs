using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.BotLifecycle.StubHomeserver;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

public sealed class BotLifecycleTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    [Fact]
    public async Task Invite_of_the_bot_makes_it_join_and_seeds_room_info_from_the_stripped_state()
    {
        string room = NewRoomId();

        await app.PushOkAsync(BotEvents.Invite(room,
            BotEvents.Stripped("m.room.create", new JsonObject { ["room_version"] = "10", ["creator"] = Alice }),
            BotEvents.Stripped("m.room.name", new JsonObject { ["name"] = "Stripped name" }),
            BotEvents.Stripped("m.room.join_rules", new JsonObject { ["join_rule"] = "invite" })));

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("Stripped name", "invite", "10", "stripped", "invite", (DateTimeOffset?)null),
            (info.Name, info.JoinRule, info.RoomVersion, info.StateSource, info.BotMembership, info.LastSyncedAt));

        var job = await app.WaitForCompletedAsync(room, "join");
        Assert.Equal(("invite", 0), (job.Reason, job.Attempts));
        var join = Assert.Single(app.Stub.RequestsTo("POST", RoomPath(room, "join")));
        Assert.Equal($"Bearer {AppServiceApplication.AsToken}", join.Authorization);
        Assert.Equal(("", "{}"), (join.Query, join.Body));
    }

    [Fact]
    public async Task The_first_join_resyncs_and_replaces_the_member_list_and_room_info()
    {
        string room = NewRoomId();
        var bob = Member(room, Bob, "join");
        var carol = Member(room, Carol, "invite", sender: Alice);
        var ghostLeft = Member(room, "@ghost:test", "leave");
        var topic = State(room, "m.room.topic", new JsonObject { ["topic"] = "Real topic" });
        var join = Member(room, Bot, "join");
        app.Stub.SetState(room,
            State(room, "m.room.create", new JsonObject { ["room_version"] = "11" }),
            State(room, "m.room.name", new JsonObject { ["name"] = "Real name" }),
            topic, Member(room, Alice, "join", displayname: "Alice"), bob, carol, ghostLeft, join);

        // What we heard before the join is partial and partly wrong: a stripped name, a ghost we think joined,
        // and a phantom the homeserver does not know at all.
        var invite = BotEvents.Invite(room, BotEvents.Stripped("m.room.name", new JsonObject { ["name"] = "Stripped name" }));
        join.Replacing(invite.Id()); // the invite came first on the homeserver
        await app.PushOkAsync(
            invite,
            Member(room, "@ghost:test", "join"),
            Member(room, "@phantom:test", "join"));
        await app.WaitForCompletedAsync(room, "join");
        await app.PushOkAsync(join);

        var resync = await app.WaitForCompletedAsync(room, "resync");
        Assert.Equal("bot_joined", resync.Reason);
        Assert.Equal(
            [(Alice, "join", "Alice"), (Bob, "join", null), (Bot, "join", null), (Carol, "invite", null), ("@ghost:test", "leave", null)],
            (await app.MembersAsync(room)).Select(m => (m.UserId, m.Membership, m.DisplayName)));

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("Real name", "Real topic", "11", Alice, "homeserver", false, "join"),
            (info.Name, info.Topic, info.RoomVersion, info.Creator, info.StateSource, info.Suspect, info.BotMembership));
        Assert.NotNull(info.LastSyncedAt);
        Assert.Equal((3, 1), (info.JoinedMemberCount, info.InvitedMemberCount));

        Assert.Single(app.Stub.RequestsTo("GET", RoomPath(room, "members")));
        Assert.Single(app.Stub.RequestsTo("GET", RoomPath(room, "state")));

        // The state ids came from the snapshot, so a later pushed event that replaces the real topic matches.
        await app.PushOkAsync(State(room, "m.room.topic", new JsonObject { ["topic"] = "Next" }).Replacing(topic.Id()));
        Assert.False((await app.RoomAsync(room))!.Suspect);
    }

    [Fact]
    public async Task Events_processed_between_the_snapshot_fetch_and_the_resync_commit_are_not_regressed()
    {
        string room = NewRoomId();
        var join = Member(room, Bot, "join");
        app.Stub.SetState(room,
            State(room, "m.room.create", new JsonObject { ["room_version"] = "11" }),
            State(room, "m.room.name", new JsonObject { ["name"] = "Snapshot name" }),
            Member(room, Alice, "join", displayname: "Alice (old)"),
            Member(room, Bob, "join", displayname: "Bob"),
            join);
        var invite = BotEvents.Invite(room);
        join.Replacing(invite.Id()); // the invite came first on the homeserver
        await app.PushOkAsync(invite);
        await app.WaitForCompletedAsync(room, "join");

        // The homeserver holds the /members answer until the newer events below have been pushed and committed.
        var held = app.Stub.Hold("GET", RoomPath(room, "members"));
        await app.PushOkAsync(join);
        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);

        // The resync stays held until the push below is answered: if the ingest waited for it, the push never would be.
        await BotLifecycleApplication.WithinPatienceAsync(app.PushOkAsync(
            Member(room, Alice, "join", displayname: "Alice (new)"),
            Member(room, "@dave:test", "join", displayname: "Dave"),
            Member(room, Bob, "leave"),
            State(room, "m.room.name", new JsonObject { ["name"] = "Newer name" })), "the answer to a push while a resync is in flight");
        held.Release();

        var resync = await app.WaitForCompletedAsync(room, "resync");
        Assert.Equal(
            [(Alice, "join", "Alice (new)"), (Bob, "leave", null), (Bot, "join", null), ("@dave:test", "join", "Dave")],
            (await app.MembersAsync(room)).Select(m => (m.UserId, m.Membership, m.DisplayName)));
        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("Newer name", "11", "homeserver"), (info.Name, info.RoomVersion, info.StateSource));
        Assert.Contains("4 newer rows kept", resync.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kick_purge_reinvite_and_rejoin_resync_the_room_again()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        var firstSync = (await app.RoomAsync(room))!.LastSyncedAt;
        var firstResync = (await app.JobsAsync(room)).First(j => j.Kind == "resync");

        var kick = Member(room, Bot, "leave", sender: Alice);
        await app.PushOkAsync(kick);
        Assert.Empty(await app.MembersAsync(room));
        Assert.Equal("leave", (await app.RoomAsync(room))!.BotMembership);

        // While the bot is out, Erin joins and Alice renames herself: nothing of it is pushed to us.
        var reinvite = Member(room, Bot, "invite", sender: Alice);
        var rejoin = Member(room, Bot, "join");
        app.Stub.SetState(room, Member(room, "@erin:test", "join"), Member(room, Alice, "join", displayname: "Alice 2"), rejoin);

        await app.PushOkAsync(reinvite);
        var secondJoin = await app.WaitForJobAsync(room, "join", j => j.Outcome == "done" && j.Reason == "invite" && j.Id > firstResync.Id, "the second join");
        Assert.Equal(2, app.Stub.RequestsTo("POST", RoomPath(room, "join")).Count);

        await app.PushOkAsync(rejoin);
        await app.WaitForCompletedAsync(room, "resync", after: secondJoin.Id);

        Assert.Equal(
            [(Alice, "join", "Alice 2"), (Bot, "join", null), ("@erin:test", "join", null)],
            (await app.MembersAsync(room)).Select(m => (m.UserId, m.Membership, m.DisplayName)));
        Assert.True((await app.RoomAsync(room))!.LastSyncedAt > firstSync);
    }

    [Fact]
    public async Task Redacting_name_topic_avatar_alias_and_a_member_profile_clears_them()
    {
        string room = NewRoomId();
        var state = await app.JoinedAndSyncedRoomAsync(room,
            State(room, "m.room.topic", new JsonObject { ["topic"] = "Topic" }),
            State(room, "m.room.avatar", new JsonObject { ["url"] = "mxc://test/avatar" }),
            State(room, "m.room.canonical_alias", new JsonObject { ["alias"] = "#room:test" }),
            State(room, "m.room.join_rules", new JsonObject { ["join_rule"] = "invite" }),
            Member(room, Bob, "join", displayname: "Bob", avatarUrl: "mxc://test/bob"));
        var before = (await app.RoomAsync(room))!;
        Assert.Equal(("Synced name", "Topic", "mxc://test/avatar", "#room:test"), (before.Name, before.Topic, before.AvatarUrl, before.CanonicalAlias));

        // The targets are the snapshot's state events: only the resync told us their ids.
        await app.PushOkAsync(
            BotEvents.Redaction(room, state["m.room.name|"].Id()),
            BotEvents.Redaction(room, state["m.room.topic|"].Id()),
            BotEvents.Redaction(room, state["m.room.avatar|"].Id()),
            BotEvents.Redaction(room, state["m.room.canonical_alias|"].Id()),
            BotEvents.Redaction(room, state["m.room.join_rules|"].Id()),
            BotEvents.Redaction(room, state[$"m.room.member|{Bob}"].Id()));

        var after = (await app.RoomAsync(room))!;
        Assert.Equal((null, null, null, null, "invite"), (after.Name, after.Topic, after.AvatarUrl, after.CanonicalAlias, after.JoinRule));
        var bob = (await app.MemberAsync(room, Bob))!;
        Assert.Equal(("join", null, null), (bob.Membership, bob.DisplayName, bob.AvatarUrl));
        Assert.Equal("Alice", (await app.MemberAsync(room, Alice))!.DisplayName);

        // A redaction of an event earlier in the same transaction.
        var carol = Member(room, Carol, "join", displayname: "Carol");
        await app.PushOkAsync(carol, BotEvents.Redaction(room, carol.Id()));
        Assert.Equal(("join", null), ((await app.MemberAsync(room, Carol))!.Membership, (await app.MemberAsync(room, Carol))!.DisplayName));
    }

    [Fact]
    public async Task A_redaction_pushed_while_a_resync_fetches_makes_it_drop_its_snapshot_and_fetch_again()
    {
        string room = NewRoomId();
        var state = await app.JoinedAndSyncedRoomAsync(room);
        var name = state["m.room.name|"];

        // The next /state answer predates the redaction; the homeserver's state after it has the name redacted.
        var unredacted = new JsonArray(state.Values.Select(e => (JsonNode)e.DeepClone()).ToArray());
        app.Stub.Script("GET", RoomPath(room, "state"), new StubAnswer(200, unredacted.ToJsonString()));
        var redactedName = (JsonObject)name.DeepClone();
        redactedName["content"] = new JsonObject();
        app.Stub.SetState(room, redactedName);

        var held = app.Stub.Hold("GET", RoomPath(room, "members"));
        using (var queued = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        }

        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);
        await app.PushOkAsync(BotEvents.Redaction(room, name.Id()));
        Assert.Null((await app.RoomAsync(room))!.Name);
        held.Release();

        var job = await app.WaitForJobAsync(room, "resync", j => j.Reason == "admin" && j.Outcome == "done", "the admin resync, fetched twice");
        Assert.NotNull(job.CompletedAt);
        Assert.Null((await app.RoomAsync(room))!.Name);
        Assert.Equal(1 + 2, app.Stub.RequestsTo("GET", RoomPath(room, "state")).Count); // the first sync, then this resync twice
        Assert.Contains(app.Logs.Lines, l => l.Contains($"Resync of {room} not applied: stale", StringComparison.Ordinal));
    }

    [Fact]
    public Task A_redaction_pushed_while_a_resync_fetches_makes_it_fetch_again_even_when_its_target_was_not_applied() =>
        RedactionOfAnUnappliedTargetDuringAFetchAsync(stateKeyLost: false);

    [Fact]
    public Task A_redaction_during_a_fetch_of_a_state_event_processed_before_processed_rows_had_a_state_key_still_fetches_again() =>
        // A database upgraded from the release before HotPathSchema: the back-fill gave state keys only to the events
        // current then, so a state event processed but not applied has none. It is still not a message.
        RedactionOfAnUnappliedTargetDuringAFetchAsync(stateKeyLost: true);

    [Fact]
    public async Task A_redaction_of_a_message_pushed_while_a_resync_fetches_does_not_make_it_fetch_again()
    {
        string room = NewRoomId();
        var message = Message(room, Alice, "hello");
        var (_, _, before, fetch) = await ResyncFetchingAfterAnUnappliedTopicAsync(room, message);
        await app.PushOkAsync(BotEvents.Redaction(room, message.Id())); // a message: nothing a snapshot writes
        fetch.Release();

        await app.WaitForJobAsync(room, "resync", j => j.Id > before && j.CompletedAt is not null && j.Outcome == "done", "the resync");
        Assert.Equal(("Spam", false), ((await app.RoomAsync(room))!.Topic, (await app.RoomAsync(room))!.Suspect));
        Assert.Equal(1 + 1, app.Stub.RequestsTo("GET", RoomPath(room, "state")).Count); // the first sync, then this resync once
    }

    /// <summary>
    /// A joined, synced room with topic "Old" (and <paramref name="pushedFirst"/> pushed, if given); then a topic "Spam"
    /// that replaces one never pushed, so it is processed, not applied, and the room's resync is held in its /state
    /// fetch. Answers the room's state as synced, the "Spam" event, the last job id before it, and the held fetch.
    /// </summary>
    private async Task<(Dictionary<string, JsonObject> State, JsonObject Spam, long Before, StubGate Fetch)> ResyncFetchingAfterAnUnappliedTopicAsync(
        string room, JsonObject? pushedFirst = null)
    {
        var state = await app.JoinedAndSyncedRoomAsync(room, State(room, "m.room.topic", new JsonObject { ["topic"] = "Old" }));
        if (pushedFirst is not null)
        {
            await app.PushOkAsync(pushedFirst);
        }

        _ = State(room, "m.room.topic", new JsonObject { ["topic"] = "Missed" }); // never pushed
        var spam = State(room, "m.room.topic", new JsonObject { ["topic"] = "Spam" }); // replaces "Missed"
        app.Stub.SetState(room, spam);
        long before = (await app.JobsAsync(room)).Select(j => j.Id).DefaultIfEmpty(0).Max();

        var fetch = app.Stub.Hold("GET", RoomPath(room, "state"));
        await app.PushOkAsync(spam); // processed, not applied: the room is suspect and a resync fetches
        await BotLifecycleApplication.WithinPatienceAsync(fetch.Reached, "the resync's /state fetch");
        return (state, spam, before, fetch);
    }

    private async Task RedactionOfAnUnappliedTargetDuringAFetchAsync(bool stateKeyLost)
    {
        string room = NewRoomId();
        var (state, spam, before, fetch) = await ResyncFetchingAfterAnUnappliedTopicAsync(room);
        var suspect = (await app.RoomAsync(room))!;
        Assert.Equal(("Old", true), (suspect.Topic, suspect.Suspect));
        if (stateKeyLost)
        {
            await app.ExecuteSqlAsync($"UPDATE processed_events SET state_key = NULL WHERE event_id = '{spam.Id()}'");
        }

        // The held fetch answers the state as it was before the redaction; the homeserver's state after it has the
        // topic redacted.
        state["m.room.topic|"] = spam;
        var unredacted = new JsonArray(state.Values.Select(e => (JsonNode)e.DeepClone()).ToArray());
        var redaction = BotEvents.Redaction(room, spam.Id());
        await app.PushOkAsync(redaction);
        var redactedSpam = (JsonObject)spam.DeepClone();
        redactedSpam["content"] = new JsonObject();
        redactedSpam["unsigned"]!["redacted_because"] = redaction.DeepClone();
        app.Stub.Script("GET", RoomPath(room, "state"), new StubAnswer(200, unredacted.ToJsonString()));
        app.Stub.SetState(room, redactedSpam);
        fetch.Release();

        await app.WaitForJobAsync(room, "resync", j => j.Id > before && j.CompletedAt is not null && j.Outcome == "done", "the resync, fetched twice");
        var info = (await app.RoomAsync(room))!;
        Assert.Equal(((string?)null, false), (info.Topic, info.Suspect));
        Assert.Equal(1 + 2, app.Stub.RequestsTo("GET", RoomPath(room, "state")).Count); // the first sync, then this resync twice
        Assert.Contains(app.Logs.Lines, l => l.Contains($"Resync of {room} not applied: stale", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_replaces_state_that_does_not_match_marks_the_room_suspect_until_a_resync()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        var firstSync = (await app.RoomAsync(room))!.LastSyncedAt;

        // The homeserver renamed the room twice; the first rename never reached us. The second names it as replaced.
        var rename = State(room, "m.room.name", new JsonObject { ["name"] = "After a missed rename" }).Replacing("$a-rename-we-missed");
        app.Stub.SetState(room, rename);
        var held = app.Stub.Hold("GET", RoomPath(room, "members"));
        await app.PushOkAsync(rename);
        var suspect = (await app.RoomAsync(room))!;
        Assert.Equal(("Synced name", true), (suspect.Name, suspect.Suspect)); // not applied: the resync decides
        Assert.Contains(app.Logs.Lines, l => l.Contains($"Room {room} is suspect", StringComparison.Ordinal));

        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);
        held.Release();
        var resync = await app.WaitForJobAsync(room, "resync", j => j.Reason == "replaces_state" && j.Outcome == "done", "the resync of a suspect room");
        Assert.NotNull(resync.CompletedAt);
        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("After a missed rename", false), (info.Name, info.Suspect));
        Assert.True(info.LastSyncedAt > firstSync);
    }

    [Fact]
    public async Task A_room_upgrade_links_the_old_and_the_new_room()
    {
        string oldRoom = NewRoomId();
        string newRoom = NewRoomId();

        await app.PushOkAsync(
            State(oldRoom, "m.room.tombstone", new JsonObject { ["replacement_room"] = newRoom, ["body"] = "This room has been replaced" }),
            State(newRoom, "m.room.create", new JsonObject { ["room_version"] = "11", ["predecessor"] = new JsonObject { ["room_id"] = oldRoom } }));

        Assert.Equal(newRoom, (await app.RoomAsync(oldRoom))!.TombstoneSuccessor);
        Assert.Equal(oldRoom, (await app.RoomAsync(newRoom))!.PredecessorRoomId);
    }

    [Fact]
    public async Task A_429_and_a_500_on_the_join_are_retried_by_the_jobs_backoff_honouring_retry_after_ms()
    {
        string room = NewRoomId();
        app.Stub.Script("POST", RoomPath(room, "join"),
            StubAnswer.MatrixError(429, "M_LIMIT_EXCEEDED", "Too many requests", retryAfterMs: 700),
            StubAnswer.MatrixError(500, "M_UNKNOWN", "Internal server error"));

        await app.PushOkAsync(BotEvents.Invite(room));

        var job = await app.WaitForCompletedAsync(room, "join");
        var joins = app.Stub.RequestsTo("POST", RoomPath(room, "join"));
        Assert.Equal(3, joins.Count);
        Assert.True(joins[1].At - joins[0].At >= TimeSpan.FromMilliseconds(650), $"retried after {(joins[1].At - joins[0].At).TotalMilliseconds} ms, asked 700");
        Assert.Equal("500 M_UNKNOWN: Internal server error", job.LastError);
    }

    [Fact]
    public async Task With_the_homeserver_down_ingest_keeps_working_and_the_join_completes_once_it_is_back()
    {
        string room = NewRoomId();
        await app.Stub.StopAsync();
        try
        {
            // The homeserver stays down until after this answer, and the join retries while it is down for ever:
            // an ingest that waited on the join would never be answered.
            await BotLifecycleApplication.WithinPatienceAsync(
                app.PushOkAsync(BotEvents.Invite(room), Message(room, Alice, "still ingested")), "the answer to a push while the homeserver is down");

            var failing = await app.WaitForJobAsync(room, "join", j => j.Attempts >= 2 && j.LastError is not null, "join attempts against a stopped homeserver");
            Assert.Null(failing.CompletedAt);
            Assert.Matches("unreachable|circuit open|timed out", failing.LastError);
            Assert.True((await app.StatsAsync()).JobsPending >= 1);
        }
        finally
        {
            await app.Stub.StartAsync();
        }

        var done = await app.WaitForCompletedAsync(room, "join");
        Assert.Equal("invite", done.Reason);
        Assert.Single(app.Stub.RequestsTo("POST", RoomPath(room, "join")));
    }

    [Fact]
    public async Task A_slow_resync_does_not_hold_back_a_join_queued_behind_it()
    {
        string slowRoom = NewRoomId();
        var join = Member(slowRoom, Bot, "join");
        app.Stub.SetState(slowRoom, join);
        var invite = BotEvents.Invite(slowRoom);
        join.Replacing(invite.Id()); // the invite came first on the homeserver
        await app.PushOkAsync(invite);
        await app.WaitForCompletedAsync(slowRoom, "join");
        var held = app.Stub.Hold("GET", RoomPath(slowRoom, "members"));
        await app.PushOkAsync(join);
        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);

        try
        {
            string room = NewRoomId();
            await app.PushOkAsync(BotEvents.Invite(room));
            await app.WaitForCompletedAsync(room, "join");
        }
        finally
        {
            held.Release();
        }

        await app.WaitForCompletedAsync(slowRoom, "resync");
    }

    [Fact]
    public async Task The_admin_resync_is_queued_with_a_job_id_and_runs()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);
        int fetches = app.Stub.RequestsTo("GET", RoomPath(room, "members")).Count;

        using var response = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var queued = (await response.Content.ReadFromJsonAsync<JobQueuedResponse>())!;
        Assert.Equal($"/admin/v1/jobs/{queued.JobId}", response.Headers.Location!.OriginalString);
        await app.EventuallyAsync(async () => (await app.Admin().GetFromJsonAsync<JobResponse>($"/admin/v1/jobs/{queued.JobId}"))!.Outcome == "done", "the admin resync");
        var job = (await app.Admin().GetFromJsonAsync<JobResponse>($"/admin/v1/jobs/{queued.JobId}"))!;
        Assert.Equal(("resync", "admin", room), (job.Kind, job.Reason, job.RoomId));
        Assert.Equal(fetches + 1, app.Stub.RequestsTo("GET", RoomPath(room, "members")).Count);
    }

    [Fact]
    public async Task The_admin_resync_of_an_unknown_room_is_404_and_of_a_room_the_bot_is_not_in_is_accepted_and_settled()
    {
        using var unknown = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(NewRoomId())}/resync", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType!.MediaType);

        string room = NewRoomId();
        await app.PushOkAsync(Member(room, Alice, "join"));
        using var notJoined = await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null);
        Assert.Equal(HttpStatusCode.Accepted, notJoined.StatusCode);
        var job = await app.WaitForJobAsync(room, "resync", j => j.CompletedAt is not null, "the resync of a room the bot is not in");
        Assert.Equal("skipped", job.Outcome);
        Assert.Contains("the homeserver says the bot is not joined", job.Detail, StringComparison.Ordinal);
        Assert.Empty(await app.MembersAsync(room)); // the bot is not in the room: no member data
    }

    [Fact]
    public async Task The_as_token_goes_in_the_authorization_header_only_and_is_never_logged()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);

        Assert.NotEmpty(app.Stub.Requests);
        Assert.All(app.Stub.Requests, r =>
        {
            Assert.Equal($"Bearer {AppServiceApplication.AsToken}", r.Authorization);
            Assert.DoesNotContain("token", r.Query, StringComparison.OrdinalIgnoreCase);
        });
        Assert.Contains(app.Logs.Lines, l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(AppServiceApplication.AsToken, StringComparison.Ordinal));
    }
}
