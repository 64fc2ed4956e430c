//! Flat at any size: latencies over HTTP, one client, on a database that
//! holds one 1,000,000-message conversation, a user in 5,000 conversations,
//! and some 4,000,000 more messages around them.
//!
//! `cargo xtask bench scale [--big N] [--others N] [--iterations N] [--keep]`
//!
//! The data is written in bulk SQL (below, `seed`): users 1..1000 of org 1;
//! conversation 1 is the big one, with members 1 (the measured user, whose
//! cursor is at the start, and who sent every other message) and 2;
//! conversations 2..5001 hold user 1 and one other user, with 2 unread
//! messages each; the rest belong to other users, 1,000 messages each. Words:
//! `zephyrquartz` appears in 10 messages of the big conversation,
//! `raremark` in 10 small conversations, `hello` in half of all messages.
//! Then each operation runs `--iterations` times in a row and the table gives
//! p50/p95/p99 next to the target of issue 13, followed by the plans of the
//! store's hot queries for the same user (`chat_postgres::testing::explain`).
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::expect_used,
    reason = "a benchmark reports on the terminal and stops at the first broken step"
)]

use std::time::{Duration, Instant};

use chat_e2e::TestServer;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::{Value, json};

const SMALL: i64 = 5_000;
const OTHER_SIZE: i64 = 1_000;

struct Options {
    big: i64,
    others: i64,
    iterations: usize,
    /// Leave the database (and its server) behind, to study it with psql.
    keep: bool,
}

fn options() -> Options {
    let mut options = Options {
        big: 1_000_000,
        others: 4_000_000,
        iterations: 100,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--keep" {
            options.keep = true;
            continue;
        }
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--big" => options.big = value.parse().expect("--big N"),
            "--others" => options.others = value.parse().expect("--others N"),
            "--iterations" => options.iterations = value.parse().expect("--iterations N"),
            _ => panic!("usage: bench-scale [--big N] [--others N] [--iterations N] [--keep]"),
        }
    }
    options
}

#[tokio::main]
async fn main() {
    let options = options();
    let server = TestServer::postgres_with(&[
        ("CHAT_SEND_RATE_PER_SEC", "1000000"),
        ("CHAT_SEND_BURST", "1000000"),
        ("UNFURL_ENABLED", "false"),
        ("RUST_LOG", "warn,chat_server=info"),
    ])
    .await;
    let started = Instant::now();
    seed(server.database_url(), &options).await;
    eprintln!(
        "seeded {} messages in {:.0} s",
        options.big + SMALL * 2 + options.others,
        started.elapsed().as_secs_f64()
    );

    let token = server.token(1, 1);
    // Sync: a client's cursor, then 10 of its 5,001 conversations change.
    let cursor = sync_cursor(&server, &token).await;
    for conversation in 2..12 {
        let sent = server
            .post(
                &token,
                "/chat/messages/send",
                json!({"conversationId": conversation.to_string(), "content": "while you were away"}),
            )
            .await;
        assert_eq!(sent.status, 201, "{:?}", sent.body);
    }
    let big = options.big;
    let at_depth = |depth: i64| (big - depth).max(1).to_string();
    let operations: Vec<(String, &str, Value, &str)> = vec![
        (
            "get-unread-counts, 5,001 conversations".to_owned(),
            "/chat/unread/get",
            json!({}),
            "< 10",
        ),
        (
            "list-conversations, first page".to_owned(),
            "/chat/conversations/list",
            json!({}),
            "< 10",
        ),
        (
            "sync, 5,001 conversations, 10 changed".to_owned(),
            "/chat/sync",
            json!({ "cursor": cursor }),
            "< 10",
        ),
        // Search as people type: the last word of every query is a prefix
        // (a word typed whole too), so each word is measured whole and as
        // the 3- and 5-character prefixes a user types on the way.
        search(
            "a rare word, whole, in the big conversation",
            "zephyrquartz",
            Some("1"),
        ),
        search(
            "a rare word, 5 characters, in the big conversation",
            "zephy",
            Some("1"),
        ),
        search(
            "a rare word, 3 characters, in the big conversation",
            "zep",
            Some("1"),
        ),
        search(
            "a common word, whole, in the big conversation",
            "status",
            Some("1"),
        ),
        search(
            "a common word, 5 characters, in the big conversation",
            "statu",
            Some("1"),
        ),
        search(
            "a common word, 3 characters, in the big conversation",
            "sta",
            Some("1"),
        ),
        search(
            "a rare phrase in the big conversation",
            "\"zephyrquartz sighting\"",
            Some("1"),
        ),
        search(
            "a common phrase in the big conversation",
            "\"hello team\"",
            Some("1"),
        ),
        search(
            "a rare word, whole, in all the user's conversations",
            "raremark",
            None,
        ),
        search(
            "a rare word, 5 characters, in all the user's conversations",
            "rarem",
            None,
        ),
        search(
            "a rare word, 3 characters, in all the user's conversations",
            "rar",
            None,
        ),
        search(
            "a common word, whole, in all the user's conversations",
            "conversation",
            None,
        ),
        search(
            "a common word, 5 characters, in all the user's conversations",
            "hello",
            None,
        ),
        search(
            "a common word, 3 characters, in all the user's conversations",
            "hel",
            None,
        ),
        search(
            "a phrase in all the user's conversations",
            "\"small conversation\"",
            None,
        ),
        (
            "get-conversation, cursor at the start of the big one".to_owned(),
            "/chat/conversations/1/get",
            json!({}),
            "< 10",
        ),
        (
            "list-messages newest".to_owned(),
            "/chat/messages/list",
            json!({"conversationId": "1"}),
            "< 10",
        ),
        (
            "list-messages before, depth 1k".to_owned(),
            "/chat/messages/list",
            json!({"conversationId": "1", "before": at_depth(1_000)}),
            "< 10",
        ),
        (
            "list-messages before, depth 500k".to_owned(),
            "/chat/messages/list",
            json!({"conversationId": "1", "before": at_depth(big / 2)}),
            "< 10",
        ),
        (
            "list-messages around, depth 1M".to_owned(),
            "/chat/messages/list",
            json!({"conversationId": "1", "around": at_depth(big - 1)}),
            "< 10",
        ),
        (
            "send into a 2-member group".to_owned(),
            "/chat/messages/send",
            json!({"conversationId": "2", "content": "a new message"}),
            "< 10",
        ),
    ];
    let http = reqwest::Client::new();
    let mut table = vec![
        "| operation | p50 ms | p95 ms | p99 ms | target p99 ms |".to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    for (name, path, body, target) in &operations {
        let mut took = Vec::with_capacity(options.iterations);
        for _ in 0..options.iterations {
            let start = Instant::now();
            let response = http
                .post(format!("{}{path}", server.base()))
                .bearer_auth(&token)
                .json(body)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let text = response.text().await.expect("body");
            took.push(start.elapsed());
            assert!(status.is_success(), "{name}: {status} {text}");
        }
        took.sort();
        let at = |q: f64| {
            let index = ((took.len() as f64 - 1.0) * q).round() as usize;
            took[index].as_secs_f64() * 1000.0
        };
        eprintln!("{name}: p50 {:.1} ms", at(0.5));
        table.push(format!(
            "| {name} | {:.1} | {:.1} | {:.1} | {target} |",
            at(0.5),
            at(0.95),
            at(0.99)
        ));
    }
    println!("{}", table.join("\n"));

    let mut conn = AsyncPgConnection::establish(server.database_url())
        .await
        .expect("connecting");
    for (name, plan) in chat_postgres::testing::explain(&mut conn, 1, 1, big / 2)
        .await
        .expect("explaining")
    {
        println!("\n#### {name}\n```\n{plan}\n```");
    }
    if options.keep {
        eprintln!(
            "kept: {} (server at {})",
            server.database_url(),
            server.base()
        );
        std::mem::forget(server);
    }
}

/// A search-messages row of the table (target: issue 23).
fn search(
    what: &str,
    query: &str,
    conversation: Option<&str>,
) -> (String, &'static str, Value, &'static str) {
    let body = match conversation {
        Some(id) => json!({ "query": query, "conversationId": id }),
        None => json!({ "query": query }),
    };
    (
        format!("search {what}"),
        "/chat/messages/search",
        body,
        "< 20",
    )
}

/// A full sync, page by page: the cursor a client keeps.
async fn sync_cursor(server: &TestServer, token: &str) -> String {
    let mut cursor: Option<String> = None;
    loop {
        let body = match &cursor {
            Some(cursor) => json!({ "cursor": cursor, "limit": 500 }),
            None => json!({ "limit": 500 }),
        };
        let page = server.post(token, "/chat/sync", body).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        cursor = page.body["page"]["nextCursor"].as_str().map(str::to_owned);
        if page.body["page"]["hasMore"] != true {
            return cursor.expect("a cursor");
        }
    }
}

/// Writes the data set in bulk (see the module comment). The GIN index is
/// dropped while the rows go in and built once after: far faster than
/// maintaining it row by row, and the same index the migrations create.
async fn seed(database_url: &str, options: &Options) {
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .expect("connecting");
    let big = options.big;
    let others = options.others / OTHER_SIZE;
    let first_other = SMALL + 2;
    let last_other = first_other + others - 1;
    let small_base = big;
    let other_base = big + SMALL * 2;
    let sql = format!(
        r"
SET maintenance_work_mem = '512MB';
SET synchronous_commit = off;
DROP INDEX messages_search_idx;

INSERT INTO users (id, org_id, name, username, created_at, updated_at)
SELECT u, 1, 'User ' || u, 'user' || u, now(), now() FROM generate_series(1, 1000) u;

INSERT INTO conversations (id, org_id, kind, visibility, history_mode, posting_policy, name,
  created_by, created_at, updated_at, last_message_at, activity_at, last_seq, top_count, member_count)
VALUES (1, 1, 'group', 'private', 'full', 'everyone', 'the big one', 1,
  '2026-01-01', '2026-01-01', '2026-01-01'::timestamptz + {big} * interval '1 ms',
  '2026-01-01'::timestamptz + {big} * interval '1 ms', {big}, {big}, 2);
INSERT INTO conversations (id, org_id, kind, visibility, history_mode, posting_policy, name,
  created_by, created_at, updated_at, last_message_at, activity_at, last_seq, top_count, member_count)
SELECT i, 1, 'group', 'private', 'full', 'everyone', 'small ' || i, 3 + i % 990,
  '2026-02-01', '2026-02-01', '2026-02-01'::timestamptz + i * interval '1 s',
  '2026-02-01'::timestamptz + i * interval '1 s', 2, 2, 2
FROM generate_series(2, {SMALL} + 1) i;
INSERT INTO conversations (id, org_id, kind, visibility, history_mode, posting_policy, name,
  created_by, created_at, updated_at, last_message_at, activity_at, last_seq, top_count, member_count)
SELECT i, 1, 'group', 'private', 'full', 'everyone', 'others ' || i, 3 + i % 990,
  '2026-03-01', '2026-03-01', '2026-03-01'::timestamptz + i * interval '1 s',
  '2026-03-01'::timestamptz + i * interval '1 s', {OTHER_SIZE}, {OTHER_SIZE}, 5
FROM generate_series({first_other}, {last_other}) i;
SELECT setval('conversations_id_seq', (SELECT max(id) FROM conversations));

INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, last_read_seq, read_top_ordinal)
VALUES (1, 1, 'owner', '2026-01-01', 0, 0), (1, 2, 'member', '2026-01-01', {big}, {big});
INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, last_read_seq, read_top_ordinal)
SELECT i, u, CASE WHEN u = 1 THEN 'member' ELSE 'owner' END, '2026-02-01',
  CASE WHEN u = 1 THEN 0 ELSE 2 END, CASE WHEN u = 1 THEN 0 ELSE 2 END
FROM generate_series(2, {SMALL} + 1) i CROSS JOIN LATERAL (VALUES (1), (3 + i % 990)) AS m(u);
INSERT INTO conversation_members (conversation_id, user_id, role, joined_at, last_read_seq, read_top_ordinal)
SELECT i, 3 + (i * 7 + k * 131) % 990 + 0, CASE WHEN k = 0 THEN 'owner' ELSE 'member' END, '2026-03-01',
  {OTHER_SIZE}, {OTHER_SIZE}
FROM generate_series({first_other}, {last_other}) i CROSS JOIN generate_series(0, 4) k;

INSERT INTO messages (id, conversation_id, seq, top_ordinal, sender_id, content, created_at, search_vector)
SELECT n, 1, n, n, CASE WHEN n % 2 = 0 THEN 1 ELSE 2 END, t.content,
  '2026-01-01'::timestamptz + n * interval '1 ms', to_tsvector('simple', t.content)
FROM generate_series(1, {big}) n
CROSS JOIN LATERAL (SELECT CASE
  WHEN n % ({big} / 10) = 7 THEN 'zephyrquartz sighting number ' || n
  WHEN n % 2 = 0 THEN 'hello team the build ' || n || ' is green'
  ELSE 'status report number ' || n END AS content) t;

INSERT INTO messages (id, conversation_id, seq, top_ordinal, sender_id, content, created_at, search_vector)
SELECT {small_base} + (i - 2) * 2 + s, i, s, s, 3 + i % 990, t.content,
  '2026-02-01'::timestamptz + i * interval '1 s' + s * interval '1 ms', to_tsvector('simple', t.content)
FROM generate_series(2, {SMALL} + 1) i CROSS JOIN generate_series(1, 2) s
CROSS JOIN LATERAL (SELECT CASE
  WHEN s = 2 AND i % 500 = 3 THEN 'a raremark about ' || i
  ELSE 'hello from the small conversation ' || i END AS content) t;

INSERT INTO messages (id, conversation_id, seq, top_ordinal, sender_id, content, created_at, search_vector)
SELECT {other_base} + (i - {first_other}) * {OTHER_SIZE} + s, i, s, s, 3 + (i * 7 + (s % 5) * 131) % 990,
  t.content, '2026-03-01'::timestamptz + i * interval '1 s' + s * interval '1 ms',
  to_tsvector('simple', t.content)
FROM generate_series({first_other}, {last_other}) i CROSS JOIN generate_series(1, {OTHER_SIZE}) s
CROSS JOIN LATERAL (SELECT CASE WHEN s % 2 = 0 THEN 'hello everyone update ' || s
  ELSE 'another ordinary line ' || s END AS content) t;
SELECT setval('messages_id_seq', (SELECT max(id) FROM messages));

CREATE INDEX messages_search_idx ON messages USING gin (search_vector);
"
    );
    conn.batch_execute(&sql).await.expect("seeding");
    // Counters that later migrations keep on the member rows, computed as
    // the migration that added them does (the seed writes only the columns
    // every version has, so the same seed measures older builds too).
    conn.batch_execute(
        r"
DO $$
BEGIN
  IF EXISTS (SELECT FROM information_schema.columns
             WHERE table_name = 'conversation_members' AND column_name = 'own_top_after_read') THEN
    UPDATE conversation_members m SET own_top_after_read = (SELECT count(*) FROM messages o
        WHERE o.conversation_id = m.conversation_id AND o.parent_id IS NULL
          AND o.sender_id = m.user_id AND o.deleted_at IS NULL AND o.seq > m.last_read_seq)
      WHERE m.last_read_seq < (SELECT c.last_seq FROM conversations c WHERE c.id = m.conversation_id);
  END IF;
  IF EXISTS (SELECT FROM information_schema.columns
             WHERE table_name = 'conversations' AND column_name = 'newest_message_at') THEN
    UPDATE conversations c SET newest_message_at = (SELECT max(x.created_at) FROM messages x
      WHERE x.conversation_id = c.id);
  END IF;
END
$$;
",
    )
    .await
    .expect("counters");
    conn.batch_execute(
        "VACUUM ANALYZE users, conversations, conversation_members, messages, message_mentions",
    )
    .await
    .expect("vacuum");
    // Let the server's connections see fresh statistics.
    tokio::time::sleep(Duration::from_millis(100)).await;
}
