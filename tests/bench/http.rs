//! Side by side: the service over HTTP against PostgreSQL doing the same work
//! through `pgbench`, in the same run, on the same database server.
//!
//! `cargo xtask bench http [--seconds 10] [--clients 1,8,16,64] [--operations send,list]`
//!
//! - **send**: 125 groups of 8 members; each client sends into one group
//!   (clients spread over the groups) as that group's owner, relay on, to a
//!   Centrifugo stand-in. pgbench runs the minimal send transaction: take the
//!   next seq, insert the message, insert one outbox row, move the sender's
//!   cursor. After the service's run the outbox must drain to 0.
//! - **list**: the newest page of 50 of a group, as a member; pgbench runs the
//!   raw keyset query of the same page.
//! - **round trips**: a second server instance reaches PostgreSQL through a
//!   counting TCP proxy; one client sends and lists sequentially, and every
//!   time the server writes to PostgreSQL after having read from it counts
//!   as one round trip (pipelined statements travel in one).
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark reports on the terminal and stops at the first broken step"
)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chat_e2e::TestServer;
use chat_e2e::centrifugo::CentrifugoStandIn;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GROUPS: i64 = 125;
const GROUP_SIZE: i64 = 8;
/// Partitions the service's relay drains (and pgbench's rows go to).
const PARTITIONS: i64 = 16;

struct Options {
    seconds: u64,
    clients: Vec<usize>,
    send: bool,
    list: bool,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 10,
        clients: vec![1, 8, 16, 64],
        send: true,
        list: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => options.seconds = value.parse().expect("--seconds N"),
            "--clients" => {
                options.clients = value
                    .split(',')
                    .map(|c| c.trim().parse().expect("--clients 1,8,16"))
                    .collect();
            }
            "--operations" => {
                options.send = value.split(',').any(|o| o == "send");
                options.list = value.split(',').any(|o| o == "list");
            }
            _ => panic!(
                "usage: bench-http [--seconds N] [--clients 1,8,16,64] [--operations send,list]"
            ),
        }
    }
    options
}

/// A group and the tokens of its owner and one other member.
#[derive(Clone)]
struct Group {
    id: String,
    owner: String,
    member: String,
}

#[tokio::main]
async fn main() {
    let options = options();
    let centrifugo = CentrifugoStandIn::start("bench-key");
    let server = TestServer::postgres_with(&[
        ("CENTRIFUGO_API_URL", centrifugo.url()),
        ("CENTRIFUGO_API_KEY", centrifugo.api_key()),
        ("CHAT_SEND_RATE_PER_SEC", "1000000"),
        ("CHAT_SEND_BURST", "1000000"),
        ("OUTBOX_PARTITIONS", &PARTITIONS.to_string()),
        ("UNFURL_ENABLED", "false"),
        ("RUST_LOG", "warn,chat_server=info"),
    ])
    .await;
    let database_url = server.database_url().to_owned();
    let groups = seed(&server).await;
    fill(&server, &groups).await;
    analyze(&database_url).await;
    eprintln!("seeded {GROUPS} groups of {GROUP_SIZE} members, {PAGE} messages each");

    let mut table = vec![
        "| operation | clients | service req/s | service p50 ms | service p99 ms | pgbench tx/s | pgbench avg ms | ratio |".to_owned(),
        "|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    let send_script = write_script("send", SEND_TRANSACTION);
    let list_script = write_script("list", LIST_QUERY);
    let send_clients = if options.send {
        options.clients.clone()
    } else {
        Vec::new()
    };
    let list_clients = if options.list {
        options.clients.clone()
    } else {
        Vec::new()
    };
    for &clients in &send_clients {
        let service = load(&server, &groups, clients, options.seconds, Operation::Send).await;
        let drained = wait_for_outbox(&database_url).await;
        let raw = pgbench(&database_url, &send_script.0, clients, options.seconds);
        eprintln!(
            "send x{clients}: service {:.0}/s (outbox drained {drained:.2} s after the load), pgbench {:.0}/s",
            service.rate, raw.tps
        );
        table.push(row("send-message", clients, &service, &raw));
    }
    for &clients in &list_clients {
        let service = load(&server, &groups, clients, options.seconds, Operation::List).await;
        let raw = pgbench(&database_url, &list_script.0, clients, options.seconds);
        eprintln!(
            "list x{clients}: service {:.0}/s, pgbench {:.0}/s",
            service.rate, raw.tps
        );
        table.push(row("list-messages", clients, &service, &raw));
    }
    let published = centrifugo.publications().len();

    let trips = round_trips(&database_url, &groups).await;
    println!("{}", table.join("\n"));
    println!();
    println!("| operation | PostgreSQL round trips per request |");
    println!("|---|---|");
    for (name, per_request) in trips {
        println!("| {name} | {per_request:.2} |");
    }
    eprintln!("publications at the stand-in: {published}");
}

fn row(name: &str, clients: usize, service: &Measured, raw: &Pgbench) -> String {
    format!(
        "| {name} | {clients} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2}× |",
        service.rate,
        service.p50_ms,
        service.p99_ms,
        raw.tps,
        raw.latency_ms,
        service.rate / raw.tps
    )
}

/// Users 1..=1000 in org 1; group g is owned by user 8g+1 with the next 7.
async fn seed(server: &TestServer) -> Vec<Group> {
    let mut groups = Vec::new();
    for g in 0..GROUPS {
        let first = g * GROUP_SIZE + 1;
        let members: Vec<String> = (first + 1..first + GROUP_SIZE)
            .map(|u| u.to_string())
            .collect();
        // Members must exist before they can be added: one request each.
        for user in first + 1..first + GROUP_SIZE {
            let reply = server
                .post(
                    &server.token(user, 1),
                    "/chat/conversations/list",
                    json!({}),
                )
                .await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
        }
        let owner = server.token(first, 1);
        let created = server
            .post(
                &owner,
                "/chat/conversations/create",
                json!({"kind": "group", "name": format!("bench {g}"), "memberIds": members}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        // The pgbench scripts name groups by id: 1..=125 in a fresh database.
        assert_eq!(
            id,
            (g + 1).to_string(),
            "groups are the database's first conversations"
        );
        groups.push(Group {
            id,
            owner,
            member: server.token(first + 1, 1),
        });
    }
    groups
}

/// Messages sent into every group before measuring: a full page to list.
const PAGE: usize = 50;

/// Sends `PAGE` messages into every group, 16 groups at a time.
async fn fill(server: &TestServer, groups: &[Group]) {
    for chunk in groups.chunks(16) {
        let mut tasks = Vec::new();
        for group in chunk.iter().cloned() {
            let base = server.base().to_owned();
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                for i in 0..PAGE {
                    let response = http
                        .post(format!("{base}/chat/messages/send"))
                        .bearer_auth(&group.owner)
                        .json(&json!({"conversationId": group.id, "content": format!("seed {i}")}))
                        .send()
                        .await
                        .unwrap();
                    assert!(
                        response.status().is_success(),
                        "seeding: {}",
                        response.status()
                    );
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    }
}

/// Statistics for the seeded tables, as autovacuum would have gathered
/// them within its first minute. Without them the server's connections
/// keep plans made while the tables were empty (seeding ran on them), and
/// a plan for "one message of a conversation" picked any index starting
/// with `conversation_id`: every send scanned its whole conversation.
/// pgbench, connecting later, never met that; measuring it would compare
/// the service's first minute with PostgreSQL's steady state.
async fn analyze(database_url: &str) {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(database_url).await.unwrap();
    diesel::sql_query("ANALYZE")
        .execute(&mut conn)
        .await
        .unwrap();
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Send,
    List,
}

struct Measured {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `clients` closed-loop clients for `seconds`, client i on group i mod 125.
async fn load(
    server: &TestServer,
    groups: &[Group],
    clients: usize,
    seconds: u64,
    operation: Operation,
) -> Measured {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for client in 0..clients {
        let group = groups[client % groups.len()].clone();
        let base = server.base().to_owned();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
            let mut latencies = Vec::new();
            let mut i = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let (path, token, body) = match operation {
                    Operation::Send => (
                        "/chat/messages/send",
                        &group.owner,
                        json!({"conversationId": group.id, "content": format!("bench {client} {i}")}),
                    ),
                    Operation::List => (
                        "/chat/messages/list",
                        &group.member,
                        json!({"conversationId": group.id}),
                    ),
                };
                let started = Instant::now();
                let response = http
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let _ = response.bytes().await.unwrap();
                assert!(status.is_success(), "{path} answered {status}");
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                i += 1;
            }
            latencies
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Measured {
        rate: latencies.len() as f64 / elapsed,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Seconds until the relay has published every row of the service's run.
async fn wait_for_outbox(database_url: &str) -> f64 {
    use diesel_async::RunQueryDsl;
    let mut conn = AsyncPgConnection::establish(database_url).await.unwrap();
    let started = Instant::now();
    loop {
        let depth: Count = diesel::sql_query("SELECT count(*) AS count FROM chat_outbox")
            .get_result(&mut conn)
            .await
            .unwrap();
        if depth.count == 0 {
            return started.elapsed().as_secs_f64();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the outbox still holds {} rows a minute after the load",
            depth.count
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The minimal send transaction: what any implementation of send-message must
/// do. Its outbox row goes to a partition the relay drains, as a send's does.
const SEND_TRANSACTION: &str = r#"
\set c random(1, 125)
BEGIN;
UPDATE conversations SET last_seq = last_seq + 1, top_count = top_count + 1, last_message_at = now(), activity_at = now() WHERE id = :c RETURNING last_seq AS seq, top_count AS ordinal, created_by AS sender \gset
INSERT INTO messages (conversation_id, seq, top_ordinal, sender_id, content, created_at, search_vector) VALUES (:c, :seq, :ordinal, :sender, 'pgbench hello', now(), to_tsvector('simple', 'pgbench hello'));
INSERT INTO chat_outbox (method, payload, partition) VALUES ('publish', '{"channel": "pgbench", "data": {}}', :c % 16);
UPDATE conversation_members SET last_read_seq = :seq, read_top_ordinal = :ordinal WHERE conversation_id = :c AND user_id = :sender;
END;
"#;

/// The raw keyset page: the newest 51 top-level messages (50 and "more?").
const LIST_QUERY: &str = r"
\set c random(1, 125)
SELECT * FROM messages WHERE conversation_id = :c AND parent_id IS NULL ORDER BY seq DESC LIMIT 51;
";

/// A pgbench script in the temporary directory, removed when dropped.
struct Script(std::path::PathBuf);

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn write_script(name: &str, text: &str) -> Script {
    let path = std::env::temp_dir().join(format!("chat-bench-{name}-{}.sql", std::process::id()));
    std::fs::write(&path, text).unwrap();
    Script(path)
}

struct Pgbench {
    tps: f64,
    latency_ms: f64,
}

/// pgbench with prepared statements, one thread per core.
fn pgbench(database_url: &str, script: &std::path::Path, clients: usize, seconds: u64) -> Pgbench {
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &seconds.to_string(),
            "-f",
        ])
        .arg(script)
        .arg(database_url)
        .output()
        .expect("running pgbench (installed with PostgreSQL)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let number_after = |prefix: &str| -> f64 {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(f64::NAN)
    };
    Pgbench {
        tps: number_after("tps = "),
        latency_ms: number_after("latency average = "),
    }
}

/// Round trips per request, counted by a proxy between a second server
/// instance (no relay, no background work) and PostgreSQL.
async fn round_trips(database_url: &str, groups: &[Group]) -> Vec<(&'static str, f64)> {
    let (proxied_url, counter) = counting_proxy(database_url).await;
    let server = TestServer::with_env(&[
        ("DATABASE_URL", &proxied_url),
        ("CHAT_NO_MIGRATE", "true"),
        ("CHAT_SEND_RATE_PER_SEC", "1000000"),
        ("CHAT_SEND_BURST", "1000000"),
        ("UNFURL_ENABLED", "false"),
        ("RUST_LOG", "warn,chat_server=info"),
    ]);
    let group = &groups[0];
    let get_path = format!("/chat/conversations/{}/get", group.id);
    let read_path = format!("/chat/conversations/{}/read", group.id);
    let http = reqwest::Client::new();
    let call = async |path: &str, token: &str, body: serde_json::Value| {
        let response = http
            .post(format!("{}{path}", server.base()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    };
    // Warm up: connections open, statements are prepared, users provisioned.
    for _ in 0..20 {
        call(
            "/chat/messages/send",
            &group.owner,
            json!({"conversationId": group.id, "content": "warm"}),
        )
        .await;
        call(
            "/chat/messages/list",
            &group.member,
            json!({"conversationId": group.id}),
        )
        .await;
        call(&get_path, &group.member, json!({})).await;
        call("/chat/conversations/list", &group.member, json!({})).await;
    }
    let page: serde_json::Value = http
        .post(format!("{}/chat/messages/list", server.base()))
        .bearer_auth(&group.member)
        .json(&json!({"conversationId": group.id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let newest = page["data"]
        .as_array()
        .and_then(|m| m.last())
        .map(|m| m["id"].clone())
        .unwrap();
    let react_path = format!(
        "/chat/messages/{}/reactions/toggle",
        newest.as_str().unwrap()
    );
    const REQUESTS: u64 = 100;
    let mut results = Vec::new();
    for (name, path, token, body) in [
        (
            "send-message",
            "/chat/messages/send",
            &group.owner,
            json!({"conversationId": group.id, "content": "counted"}),
        ),
        (
            "list-messages",
            "/chat/messages/list",
            &group.member,
            json!({"conversationId": group.id}),
        ),
        (
            "get-conversation",
            get_path.as_str(),
            &group.member,
            json!({}),
        ),
        (
            "list-conversations",
            "/chat/conversations/list",
            &group.member,
            json!({}),
        ),
        (
            "mark-read",
            read_path.as_str(),
            &group.member,
            json!({"messageId": newest}),
        ),
        (
            "toggle-reaction",
            react_path.as_str(),
            &group.member,
            json!({"emoji": "👍"}),
        ),
    ] {
        let before = counter.load(Ordering::SeqCst);
        for _ in 0..REQUESTS {
            call(path, token, body.clone()).await;
        }
        let trips = counter.load(Ordering::SeqCst) - before;
        results.push((name, trips as f64 / REQUESTS as f64));
    }
    results
}

/// A TCP proxy in front of the database server: the URL to reach it through,
/// and the number of round trips seen (client bytes after server bytes).
async fn counting_proxy(database_url: &str) -> (String, Arc<AtomicU64>) {
    let rest = database_url
        .split_once('@')
        .map_or(database_url, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap();
    let upstream = host_port.to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counter = Arc::new(AtomicU64::new(0));
    let count = counter.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                // True while the client waits for the server to answer.
                let waiting = Arc::new(AtomicBool::new(false));
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let waiting_up = waiting.clone();
                let up = async move {
                    let mut buffer = vec![0_u8; 64 * 1024];
                    while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
                        if !waiting_up.swap(true, Ordering::SeqCst) {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async move {
                    let mut buffer = vec![0_u8; 64 * 1024];
                    while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                        waiting.store(false, Ordering::SeqCst);
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                tokio::join!(up, down);
            });
        }
    });
    let proxied = database_url.replacen(host_port, &format!("127.0.0.1:{port}"), 1);
    (proxied, counter)
}
