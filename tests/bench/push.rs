//! What one message costs in push requests, in a large org channel.
//!
//! `cargo xtask bench push [--members 10000] [--memberships 20] [--messages 20]`
//!
//! The data is written in bulk SQL (below, `seed`): users 1..members of
//! org 1, all in org channel 1, where one in ten muted it, one in twenty
//! set `none` and one in twenty `mentions`; besides, each user is in
//! `--memberships` two-member groups with unread messages, so every badge
//! (`totalUnread`) sums that many memberships. The server runs with one
//! webhook endpoint taking `push.requested`: a local receiver.
//!
//! User 1 then sends `--messages` messages into the channel, one at a time,
//! and the bench reports, per message:
//! - the send's latency (the request does not pay for the recipients);
//! - from the send to the last batch received by the endpoint (the
//!   deliverer is woken by the commit's outbox notification);
//! - the expansion alone: `PushPlan` over a `PgStore` on the same database,
//!   loading the message and every batch (members and badges), timed
//!   without HTTP, with the number of statements and bytes delivered.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::expect_used,
    reason = "a benchmark reports on the terminal and stops at the first broken step"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_domain::events::{EventEncoder, OutboxEvent};
use chat_domain::push::{PUSH_BATCH, PushPlan};
use chat_domain::{MessageId, Timestamp};
use chat_e2e::TestServer;
use chat_e2e::webhook_receiver::WebhookReceiver;
use chat_postgres::{PgConfig, PgStore};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::json;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Options {
    members: i64,
    memberships: i64,
    messages: usize,
}

fn options() -> Options {
    let mut options = Options {
        members: 10_000,
        memberships: 20,
        messages: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--members" => options.members = value.parse().expect("--members N"),
            "--memberships" => options.memberships = value.parse().expect("--memberships N"),
            "--messages" => options.messages = value.parse().expect("--messages N"),
            _ => panic!("usage: bench-push [--members N] [--memberships N] [--messages N]"),
        }
    }
    options.memberships = (options.memberships / 2 * 2).max(2);
    options
}

/// Who a plain message from user 1 is pushed to, by the seed's preferences.
fn expected_recipients(members: i64) -> usize {
    (2..=members)
        .filter(|u| u % 10 != 3 && u % 20 != 7 && u % 20 != 9)
        .count()
}

/// The bench's store never writes events: it only reads push facts.
struct NoEncoder;

impl EventEncoder for NoEncoder {
    fn encode(&self, _event: &OutboxEvent) -> String {
        "{}".to_owned()
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index]
}

fn row(name: &str, mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "| {name} | {:.1} | {:.1} | {:.1} |",
        percentile(&values, 0.5),
        percentile(&values, 0.95),
        percentile(&values, 0.99)
    )
}

#[tokio::main]
async fn main() {
    let options = options();
    let gateway = WebhookReceiver::start(SECRET);
    let server = TestServer::postgres_with(&[
        ("WEBHOOK_URL", gateway.url()),
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_EVENTS", "push.requested"),
        ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("CHAT_SEND_RATE_PER_SEC", "1000000"),
        ("CHAT_SEND_BURST", "1000000"),
        ("UNFURL_ENABLED", "false"),
        ("RUST_LOG", "warn,chat_server=info"),
    ])
    .await;
    let started = Instant::now();
    seed(server.database_url(), &options).await;
    eprintln!(
        "seeded {} members, {} memberships each, in {:.0} s",
        options.members,
        options.memberships + 1,
        started.elapsed().as_secs_f64()
    );

    let token = server.token(1, 1);
    let expected = expected_recipients(options.members);
    let http = reqwest::Client::new();
    let mut sends = Vec::new();
    let mut delivered = Vec::new();
    let mut message_ids = Vec::new();
    let mut bytes = 0;
    let mut batches = 0;
    for i in 0..options.messages {
        let seen_before = gateway.count();
        let start = Instant::now();
        let response = http
            .post(format!("{}/chat/messages/send", server.base()))
            .bearer_auth(&token)
            .json(&json!({"conversationId": "1", "content": format!("announcement {i}")}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 201);
        sends.push(start.elapsed().as_secs_f64() * 1000.0);
        let sent: serde_json::Value = response.json().await.expect("the message");
        let id = sent["id"].as_str().expect("an id").to_owned();
        message_ids.push(MessageId::new(id.parse().expect("a numeric id")));
        let deadline = Instant::now() + Duration::from_secs(60);
        let (last, recipients, size, count) = loop {
            assert!(
                Instant::now() < deadline,
                "push of message {id} not delivered"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
            if gateway.count() == seen_before {
                continue;
            }
            let mine: Vec<_> = gateway
                .accepted()
                .into_iter()
                .skip(seen_before)
                .filter(|d| d.body["data"]["messageId"] == id.as_str())
                .collect();
            let recipients: usize = mine
                .iter()
                .map(|d| d.body["data"]["recipients"].as_array().map_or(0, Vec::len))
                .sum();
            if recipients >= expected {
                let last = mine.iter().map(|d| d.received_at).max().expect("batches");
                let size: usize = mine.iter().map(|d| d.body.to_string().len()).sum();
                break (last, recipients, size, mine.len());
            }
        };
        assert_eq!(recipients, expected, "every recipient once");
        delivered.push((last - start).as_secs_f64() * 1000.0);
        bytes = size;
        batches = count;
    }

    // The expansion alone, on the same data: what the deliverer's reads cost.
    let store = PgStore::connect(
        &PgConfig {
            database_url: server.database_url().to_owned(),
            max_connections: 2,
            acquire_timeout: Duration::from_secs(5),
            outbox_partitions: 1,
            statement_timeout: Duration::from_secs(30),
            threads: 1,
        },
        Arc::new(NoEncoder),
    )
    .expect("a store");
    let now = Timestamp::from_datetime(time::OffsetDateTime::now_utc());
    let mut expansions = Vec::new();
    let mut statements = 0;
    for id in &message_ids {
        let start = Instant::now();
        let plan = PushPlan::load(&store, *id)
            .await
            .expect("the message")
            .expect("not deleted");
        statements = 1;
        let mut after = None;
        let mut recipients = 0;
        while let Some(batch) = plan
            .next_batch(&store, after, now, PUSH_BATCH)
            .await
            .expect("a batch")
        {
            statements += 2;
            recipients += batch.recipients.len();
            after = Some(batch.resume_after);
        }
        statements += 1; // the read that finds no member left
        expansions.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(recipients, expected);
    }

    println!(
        "\n{} members ({} recipients per message), each in {} conversations; {} messages\n",
        options.members,
        expected,
        options.memberships + 1,
        options.messages
    );
    println!("| per message | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|");
    println!("{}", row("send-message (HTTP)", sends));
    println!("{}", row("send → last batch received", delivered));
    println!(
        "{}",
        row("expansion alone (PushPlan over PgStore)", expansions)
    );
    println!(
        "\nper message: {batches} deliveries, {:.0} KB in all, {statements} statements to expand",
        bytes as f64 / 1024.0
    );
}

/// Writes the data set in bulk (see the module comment).
async fn seed(database_url: &str, options: &Options) {
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .expect("connecting");
    let members = options.members;
    let pairs = options.memberships / 2;
    let sql = format!(
        r"
SET synchronous_commit = off;
INSERT INTO users (id, org_id, name, username, created_at, updated_at)
SELECT u, 1, 'User ' || u, 'user' || u, now(), now() FROM generate_series(1, {members}) u;

INSERT INTO conversations (id, org_id, kind, visibility, history_mode, posting_policy, name,
  created_by, created_at, updated_at, activity_at, last_seq, top_count, member_count)
VALUES (1, 1, 'channel', 'org', 'full', 'everyone', 'everyone', 1,
  '2026-01-01', '2026-01-01', '2026-01-01', 0, 0, {members});
INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, mute_until, notify_level)
SELECT 1, u, CASE WHEN u = 1 THEN 'owner' ELSE 'member' END, '2026-01-01',
  CASE WHEN u % 10 = 3 THEN '2100-01-01'::timestamptz END,
  CASE WHEN u % 20 = 7 THEN 'none' WHEN u % 20 = 9 THEN 'mentions' ELSE 'all' END
FROM generate_series(1, {members}) u;

-- Group 1 + (u - 1) * {pairs} + k holds u (who sent its two messages) and
-- the k-th user after u, who has not read them.
INSERT INTO conversations (id, org_id, kind, visibility, history_mode, posting_policy, name,
  created_by, created_at, updated_at, last_message_at, activity_at, last_seq, top_count, member_count)
SELECT 1 + (u - 1) * {pairs} + k, 1, 'group', 'private', 'full', 'everyone', 'pair', u,
  '2026-02-01', '2026-02-01', '2026-02-01', '2026-02-01', 2, 2, 2
FROM generate_series(1, {members}) u CROSS JOIN generate_series(1, {pairs}) k;
SELECT setval('conversations_id_seq', (SELECT max(id) FROM conversations));
INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, own_top_after_read)
SELECT 1 + (u - 1) * {pairs} + k, u, 'owner', '2026-02-01', 2
FROM generate_series(1, {members}) u CROSS JOIN generate_series(1, {pairs}) k;
INSERT INTO conversation_members (conversation_id, user_id, role, joined_at)
SELECT 1 + (u - 1) * {pairs} + k, (u - 1 + k) % {members} + 1, 'member', '2026-02-01'
FROM generate_series(1, {members}) u CROSS JOIN generate_series(1, {pairs}) k;
INSERT INTO messages (conversation_id, seq, top_ordinal, sender_id, content, created_at, search_vector)
SELECT 1 + (u - 1) * {pairs} + k, s, s, u, 'hello ' || s, '2026-02-01',
  to_tsvector('simple', 'hello')
FROM generate_series(1, {members}) u CROSS JOIN generate_series(1, {pairs}) k
CROSS JOIN generate_series(1, 2) s;
"
    );
    conn.batch_execute(&sql).await.expect("seeding");
    conn.batch_execute("VACUUM ANALYZE users, conversations, conversation_members, messages")
        .await
        .expect("vacuum");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
