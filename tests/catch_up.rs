//! Catching up after a disconnect, as a client does it: a model of one
//! user's client keeps its state from realtime events (through the
//! Centrifugo stand-in), notices a gap by `eventSeq`, catches up with sync
//! and the event lists, and must end with exactly what the get and list
//! operations answer. On real PostgreSQL with the outbox relay.

use std::collections::BTreeMap;
use std::time::Duration;

use chat_e2e::centrifugo::CentrifugoStandIn;
use chat_e2e::{TestServer, eventually};
use serde_json::{Value, json};

const KEY: &str = "stand-in-api-key";
const ANN: i64 = 1;
const BOB: i64 = 2;
const CARL: i64 = 3;

async fn server(centrifugo: &CentrifugoStandIn, retention: &str) -> TestServer {
    TestServer::postgres_with(&[
        ("CENTRIFUGO_API_URL", centrifugo.url()),
        ("CENTRIFUGO_API_KEY", centrifugo.api_key()),
        (
            "CENTRIFUGO_TOKEN_SECRET",
            "centrifugo-token-secret-for-tests",
        ),
        ("OUTBOX_PARTITIONS", "4"),
        ("CHAT_EVENT_RETENTION", retention),
    ])
    .await
}

async fn call(server: &TestServer, user: i64, path: &str, body: Value) -> Value {
    let reply = server.post(&server.token(user, 1), path, body).await;
    assert!(
        reply.status == 200 || reply.status == 201,
        "{path}: {} {:?}",
        reply.status,
        reply.body
    );
    reply.body
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

/// What a client shows of one message.
#[derive(Debug, Clone, PartialEq)]
struct ShownMessage {
    content: String,
    deleted: bool,
    edited: bool,
    reactions: Value,
    pinned: bool,
}

impl ShownMessage {
    fn from_message(message: &Value) -> Self {
        Self {
            content: message["content"].as_str().unwrap_or_default().to_owned(),
            deleted: !message["deletedAt"].is_null(),
            edited: !message["editedAt"].is_null(),
            reactions: message["reactionCounts"].clone(),
            pinned: message["pinned"].as_bool().unwrap_or(false),
        }
    }
}

/// What a client shows of one conversation.
#[derive(Debug, Clone, PartialEq, Default)]
struct ShownConversation {
    name: Value,
    /// The newest event applied: the position for catching up.
    last_event_seq: i64,
    members: Vec<String>,
    messages: BTreeMap<String, ShownMessage>,
    last_read_message_id: Value,
}

/// One user's client: its state, and where it is in each stream.
struct Client {
    user: i64,
    conversations: BTreeMap<String, ShownConversation>,
    personal_event_seq: i64,
    sync_cursor: Option<String>,
    /// How many of the stand-in's publications it has looked at.
    received: usize,
    gaps_seen: usize,
}

impl Client {
    fn new(user: i64) -> Self {
        Self {
            user,
            conversations: BTreeMap::new(),
            personal_event_seq: 0,
            sync_cursor: None,
            received: 0,
            gaps_seen: 0,
        }
    }

    /// Loads one conversation from scratch, as after a reset.
    async fn load(&mut self, server: &TestServer, conversation: &str) {
        let got = call(
            server,
            self.user,
            &format!("/chat/conversations/{conversation}/get"),
            json!({}),
        )
        .await;
        let members = call(
            server,
            self.user,
            &format!("/chat/conversations/{conversation}/members/list"),
            json!({"limit": 100}),
        )
        .await;
        let messages = call(
            server,
            self.user,
            "/chat/messages/list",
            json!({"conversationId": conversation, "limit": 100}),
        )
        .await;
        let mut shown = ShownConversation {
            name: got["name"].clone(),
            last_event_seq: got["lastEventSeq"].as_i64().unwrap_or(-1),
            members: members["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| m["user"]["id"].as_str().unwrap_or_default().to_owned())
                .collect(),
            messages: BTreeMap::new(),
            last_read_message_id: got["membership"]["lastReadMessageId"].clone(),
        };
        shown.members.sort();
        for message in messages["data"].as_array().into_iter().flatten() {
            shown
                .messages
                .insert(id(message), ShownMessage::from_message(message));
        }
        self.conversations.insert(conversation.to_owned(), shown);
    }

    /// The first start: a full sync, every conversation loaded.
    async fn start(&mut self, server: &TestServer) {
        let synced = call(server, self.user, "/chat/sync", json!({})).await;
        for entry in synced["data"].as_array().into_iter().flatten() {
            let conversation = entry["conversationId"].as_str().unwrap_or_default();
            self.load(server, conversation).await;
        }
        self.personal_event_seq = synced["personalEventSeq"].as_i64().unwrap_or(0);
        self.sync_cursor = synced["page"]["nextCursor"].as_str().map(str::to_owned);
    }

    /// Applies a conversation event; returns false when it does not follow
    /// the last one applied (a gap: catch up instead).
    fn apply_conversation_event(&mut self, event: &Value) -> bool {
        let conversation = event["conversationId"].as_str().unwrap_or_default();
        let seq = event["eventSeq"].as_i64().unwrap_or(-1);
        let Some(shown) = self.conversations.get_mut(conversation) else {
            return true;
        };
        if seq <= shown.last_event_seq {
            return true; // already applied (a redelivery, or caught up)
        }
        if seq != shown.last_event_seq + 1 {
            return false;
        }
        shown.last_event_seq = seq;
        let data = &event["data"];
        match event["type"].as_str().unwrap_or_default() {
            "message.created" | "message.updated" | "message.deleted" => {
                shown
                    .messages
                    .insert(id(data), ShownMessage::from_message(data));
            }
            "reaction.updated" => {
                if let Some(message) = shown
                    .messages
                    .get_mut(data["messageId"].as_str().unwrap_or_default())
                {
                    message.reactions = data["reactionCounts"].clone();
                }
            }
            kind @ ("pin.added" | "pin.removed") => {
                if let Some(message) = shown
                    .messages
                    .get_mut(data["messageId"].as_str().unwrap_or_default())
                {
                    message.pinned = kind == "pin.added";
                }
            }
            "conversation.updated" => shown.name = data["name"].clone(),
            "member.added" => {
                shown
                    .members
                    .push(data["user"]["id"].as_str().unwrap_or_default().to_owned());
                shown.members.sort();
            }
            "member.removed" => {
                let user = data["user"]["id"].as_str().unwrap_or_default();
                shown.members.retain(|m| m != user);
            }
            _ => {}
        }
        true
    }

    /// Applies a personal event; false on a gap.
    async fn apply_personal_event(&mut self, server: &TestServer, event: &Value) -> bool {
        let seq = event["eventSeq"].as_i64().unwrap_or(-1);
        if seq <= self.personal_event_seq {
            return true;
        }
        if seq != self.personal_event_seq + 1 {
            return false;
        }
        self.personal_event_seq = seq;
        let conversation = event["conversationId"].as_str().unwrap_or_default();
        match event["type"].as_str().unwrap_or_default() {
            "conversation.added" => self.load(server, conversation).await,
            "conversation.removed" => {
                self.conversations.remove(conversation);
            }
            "read.updated" => {
                if let Some(shown) = self.conversations.get_mut(conversation) {
                    shown.last_read_message_id = event["data"]["lastReadMessageId"].clone();
                }
            }
            _ => {}
        }
        true
    }

    /// Reads what the stand-in published since last time on this client's
    /// channels, as a subscribed client receives it; a gap sends the client
    /// to catch up.
    async fn receive(&mut self, server: &TestServer, centrifugo: &CentrifugoStandIn) {
        let publications = centrifugo.publications();
        let personal = format!("personal:{}", self.user);
        let mut gap = false;
        for publication in publications.iter().skip(self.received) {
            let event = &publication.data;
            if event.get("eventSeq").is_none() {
                continue; // typing, unread.updated: nothing to number
            }
            for channel in &publication.channels {
                let applied = if *channel == personal {
                    self.apply_personal_event(server, event).await
                } else if channel.starts_with("chat:") {
                    self.apply_conversation_event(event)
                } else {
                    true
                };
                gap |= !applied;
            }
        }
        self.received = publications.len();
        if gap {
            self.gaps_seen += 1;
            self.catch_up(server).await;
        }
    }

    /// Sync, then each changed conversation's events and the personal
    /// events since the client's positions.
    async fn catch_up(&mut self, server: &TestServer) {
        let mut changed = Vec::new();
        loop {
            let body = match &self.sync_cursor {
                Some(cursor) => json!({ "cursor": cursor }),
                None => json!({}),
            };
            let synced = call(server, self.user, "/chat/sync", body).await;
            self.sync_cursor = synced["page"]["nextCursor"].as_str().map(str::to_owned);
            changed.extend(synced["data"].as_array().cloned().unwrap_or_default());
            if synced["page"]["hasMore"] != true {
                break;
            }
        }
        // The personal stream first: it says what was added or removed.
        loop {
            let page = call(
                server,
                self.user,
                "/chat/events/list",
                json!({ "after": self.personal_event_seq }),
            )
            .await;
            if page["reset"] == true {
                // Away longer than events are kept: the sidebar reloads
                // (a full sync; what it does not list is gone).
                self.conversations.clear();
                self.start(server).await;
                return;
            }
            for event in page["data"].as_array().cloned().unwrap_or_default() {
                assert!(self.apply_personal_event(server, &event).await, "{event}");
            }
            if page["page"]["hasMore"] != true {
                break;
            }
        }
        for entry in changed {
            let conversation = entry["conversationId"].as_str().unwrap_or_default();
            if entry["removed"] == true {
                self.conversations.remove(conversation);
                continue;
            }
            if !self.conversations.contains_key(conversation) {
                self.load(server, conversation).await;
                continue;
            }
            self.catch_up_conversation(server, conversation).await;
        }
    }

    async fn catch_up_conversation(&mut self, server: &TestServer, conversation: &str) {
        loop {
            let after = self.conversations[conversation].last_event_seq;
            let page = call(
                server,
                self.user,
                &format!("/chat/conversations/{conversation}/events/list"),
                json!({ "after": after }),
            )
            .await;
            if page["reset"] == true {
                self.load(server, conversation).await;
                return;
            }
            for event in page["data"].as_array().cloned().unwrap_or_default() {
                assert!(
                    self.apply_conversation_event(&event),
                    "a gap in a page: {event}"
                );
            }
            if page["page"]["hasMore"] != true {
                // Events the reader may not see are skipped over.
                if let Some(shown) = self.conversations.get_mut(conversation) {
                    shown.last_event_seq = page["page"]["lastEventSeq"].as_i64().unwrap_or(-1);
                }
                return;
            }
        }
    }

    /// What the server says the client should show.
    async fn truth(&self, server: &TestServer) -> BTreeMap<String, ShownConversation> {
        let mut fresh = Client::new(self.user);
        fresh.start(server).await;
        fresh.conversations
    }
}

/// Changes everything a client shows while it is away: messages, an edit,
/// a delete, reactions, pins, a member removed, a rename, the client's own
/// read cursor moved on another device, a conversation it is added to.
async fn change_everything(server: &TestServer, team: &str, round: usize, others: &[i64]) {
    let senders: Vec<i64> = std::iter::once(ANN).chain(others.iter().copied()).collect();
    let mut sent = Vec::new();
    for i in 0..6 {
        let from = senders[i % senders.len()];
        let message = call(
            server,
            from,
            "/chat/messages/send",
            json!({"conversationId": team, "content": format!("round {round} message {i}")}),
        )
        .await;
        sent.push((id(&message), from));
    }
    call(
        server,
        ANN,
        &format!("/chat/messages/{}/update", sent[0].0),
        json!({"content": format!("round {round}, edited")}),
    )
    .await;
    let (deleted, author) = &sent[1];
    call(
        server,
        *author,
        &format!("/chat/messages/{deleted}/delete"),
        json!({}),
    )
    .await;
    for (user, emoji) in senders.iter().map(|u| (*u, "👍")).chain([(BOB, "🎉")]) {
        call(
            server,
            user,
            &format!("/chat/messages/{}/reactions/add", sent[2].0),
            json!({ "emoji": emoji }),
        )
        .await;
    }
    call(
        server,
        ANN,
        &format!("/chat/messages/{}/pin", sent[3].0),
        json!({}),
    )
    .await;
    call(
        server,
        ANN,
        &format!("/chat/conversations/{team}/update"),
        json!({ "name": format!("team, round {round}") }),
    )
    .await;
    // Bob reads on his phone: his other device must follow.
    call(
        server,
        BOB,
        &format!("/chat/conversations/{team}/read"),
        json!({ "messageId": sent[4].0 }),
    )
    .await;
    // A new conversation with bob.
    call(
        server,
        ANN,
        "/chat/conversations/create",
        json!({"kind": "group", "name": format!("side {round}"), "memberIds": [BOB.to_string()]}),
    )
    .await;
}

/// Starts a team of ann, bob and carl, and bob's client on it.
async fn team_and_client(server: &TestServer, centrifugo: &CentrifugoStandIn) -> (String, Client) {
    for user in [ANN, BOB, CARL] {
        call(server, user, "/chat/conversations/list", json!({})).await;
    }
    let team = call(
        server,
        ANN,
        "/chat/conversations/create",
        json!({"kind": "group", "name": "team", "memberIds": [BOB.to_string(), CARL.to_string()]}),
    )
    .await;
    let team = id(&team);
    call(
        server,
        ANN,
        "/chat/messages/send",
        json!({"conversationId": team, "content": "welcome"}),
    )
    .await;
    let mut client = Client::new(BOB);
    client.start(server).await;
    // Live: what arrives applies in order.
    call(
        server,
        CARL,
        "/chat/messages/send",
        json!({"conversationId": team, "content": "hello bob"}),
    )
    .await;
    eventually(Duration::from_secs(30), || async {
        centrifugo
            .publications()
            .iter()
            .any(|p| p.data["data"]["content"] == "hello bob")
            .then_some(())
    })
    .await;
    client.receive(server, centrifugo).await;
    (team, client)
}

#[tokio::test]
async fn a_client_away_for_a_while_catches_up_to_the_exact_state() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let server = server(&centrifugo, "30d").await;
    let (team, mut client) = team_and_client(&server, &centrifugo).await;
    assert_eq!(client.truth(&server).await, client.conversations);

    // Offline: Centrifugo is down; changes pile up in the outbox.
    centrifugo.set_failing(true);
    change_everything(&server, &team, 1, &[CARL]).await;
    call(
        &server,
        ANN,
        &format!("/chat/conversations/{team}/members/remove"),
        json!({ "userId": CARL.to_string() }),
    )
    .await;
    change_everything(&server, &team, 2, &[]).await;
    assert_ne!(client.truth(&server).await, client.conversations);

    // Back: the client catches up by itself, without waiting for realtime.
    client.catch_up(&server).await;
    let truth = client.truth(&server).await;
    assert_eq!(truth, client.conversations);
    assert_eq!(truth.len(), 3, "the team and two side conversations");

    // Centrifugo is back: the backlog arrives, all of it already applied.
    centrifugo.set_failing(false);
    call(
        &server,
        ANN,
        "/chat/messages/send",
        json!({"conversationId": team, "content": "all caught up?"}),
    )
    .await;
    let last = truth[&team].last_event_seq + 1;
    eventually(Duration::from_secs(30), || async {
        centrifugo
            .publications()
            .iter()
            .any(|p| p.data["eventSeq"] == last && p.channels == [format!("chat:{team}")])
            .then_some(())
    })
    .await;
    client.receive(&server, &centrifugo).await;
    assert_eq!(
        client.gaps_seen, 0,
        "the backlog and the new message follow on"
    );
    assert_eq!(client.truth(&server).await, client.conversations);
}

#[tokio::test]
async fn a_client_away_longer_than_the_retention_reloads() {
    let centrifugo = CentrifugoStandIn::start(KEY);
    let server = server(&centrifugo, "2s").await;
    let (team, mut client) = team_and_client(&server, &centrifugo).await;
    let position = client.conversations[&team].last_event_seq;

    centrifugo.set_failing(true);
    change_everything(&server, &team, 1, &[CARL]).await;
    // Away longer than the 2 s kept: the pruner (ten runs per retention
    // period) removes what the client missed.
    let events_path = format!("/chat/conversations/{team}/events/list");
    eventually(Duration::from_secs(30), || async {
        let page = server
            .post(
                &server.token(BOB, 1),
                &events_path,
                json!({ "after": position }),
            )
            .await;
        (page.body["reset"] == true).then_some(())
    })
    .await;
    client.catch_up(&server).await;
    assert_eq!(client.truth(&server).await, client.conversations);
}

#[tokio::test]
async fn catch_up_inputs_are_checked() {
    let server = TestServer::postgres().await;
    let token = server.token(ANN, 1);
    let created = server
        .post(
            &token,
            "/chat/conversations/create",
            json!({"kind": "group", "name": "checked"}),
        )
        .await;
    let events = format!("/chat/conversations/{}/events/list", id(&created.body));
    for (path, body, field) in [
        (events.as_str(), json!({"after": -1}), "after"),
        (events.as_str(), json!({"after": 0, "limit": 501}), "limit"),
        (events.as_str(), json!({}), "after"),
        (
            "/chat/events/list",
            json!({"after": 0, "limit": 0}),
            "limit",
        ),
        ("/chat/sync", json!({"cursor": "not-a-cursor"}), "cursor"),
        ("/chat/sync", json!({"limit": 501}), "limit"),
    ] {
        let reply = server.post(&token, path, body.clone()).await;
        assert_eq!(reply.status, 422, "{path} {body}: {:?}", reply.body);
        assert_eq!(
            reply.body["error"]["details"]["field"], field,
            "{path} {body}"
        );
    }
    // A position past the end is simply caught up.
    let far = server
        .post(&token, &events, json!({"after": i64::MAX}))
        .await;
    assert_eq!(far.status, 200, "{:?}", far.body);
    assert_eq!(far.body["data"], json!([]));
    assert_eq!(far.body["reset"], false);
    // Someone else's conversation is not found, not forbidden.
    let other = server
        .post(&server.token(BOB, 1), &events, json!({"after": 0}))
        .await;
    assert_eq!(other.status, 404);
}
