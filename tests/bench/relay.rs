//! Commit-to-publish latency of the outbox relay: sends at a fixed rate over
//! HTTP to a release build on PostgreSQL, and measures, for every
//! `message.created`, the time from the message's `createdAt` (taken just
//! before its transaction commits) to its arrival at a Centrifugo stand-in.
//!
//! `cargo xtask bench relay [--rate 1000] [--seconds 10]`
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::time::{Duration, Instant, SystemTime};

use chat_e2e::TestServer;
use chat_e2e::centrifugo::CentrifugoStandIn;
use serde_json::json;

const CLIENTS: i64 = 40;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut rate, mut seconds) = (1000_u64, 10_u64);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (flag.as_str(), value) {
            ("--rate", Some(v)) => rate = v,
            ("--seconds", Some(v)) => seconds = v,
            _ => panic!("usage: bench-relay [--rate N] [--seconds N]"),
        }
    }
    let centrifugo = CentrifugoStandIn::start("bench-key");
    let server = TestServer::postgres_with(&[
        ("CENTRIFUGO_API_URL", centrifugo.url()),
        ("CENTRIFUGO_API_KEY", centrifugo.api_key()),
        ("CHAT_SEND_RATE_PER_SEC", "100000"),
        ("RUST_LOG", "warn,chat_server=info"),
    ])
    .await;

    // One DM per client, so the load spreads over conversations and partitions.
    let mut conversations = Vec::new();
    for client in 0..CLIENTS {
        let token = server.token(1000 + client, 1);
        let created = server
            .post(
                &token,
                "/chat/conversations/create",
                json!({"kind": "direct", "userId": (1000 + client).to_string()}),
            )
            .await;
        conversations.push((
            token,
            created.body["id"].as_str().unwrap_or_default().to_owned(),
        ));
    }

    let total = rate * seconds;
    let per_client = total / u64::try_from(CLIENTS).unwrap_or(1);
    let interval =
        Duration::from_secs_f64(f64::from(u32::try_from(CLIENTS).unwrap_or(1)) / rate as f64);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, (token, conversation)) in conversations.into_iter().enumerate() {
        let base = server.base().to_owned();
        // Staggered starts: a steady arrival rate, not a burst per tick.
        let offset = interval.mul_f64(client as f64 / CLIENTS as f64);
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .unwrap_or_default();
            let mut next = started + offset;
            let mut round_trips = Vec::new();
            for i in 0..per_client {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let body = json!({"conversationId": conversation, "content": format!("bench {i}")});
                let sent_at = Instant::now();
                let ok = http
                    .post(format!("{base}/chat/messages/send"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                assert!(ok.is_ok_and(|r| r.status() == 201), "a send failed");
                round_trips.push(sent_at.elapsed().as_secs_f64() * 1000.0);
            }
            round_trips
        }));
    }
    let mut round_trips: Vec<f64> = Vec::new();
    for task in tasks {
        round_trips.extend(task.await.unwrap_or_default());
    }
    round_trips.sort_by(f64::total_cmp);
    let sending = started.elapsed();
    let sent = per_client * u64::try_from(CLIENTS).unwrap_or(1);

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latencies: Vec<f64> = loop {
        let created: Vec<f64> = centrifugo
            .publications()
            .iter()
            .filter(|p| p.data["type"] == "message.created")
            .filter_map(|p| {
                let created_at = p.data["data"]["createdAt"].as_str()?;
                let at = time::OffsetDateTime::parse(
                    created_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()?;
                let created = SystemTime::UNIX_EPOCH
                    + Duration::from_nanos(u64::try_from(at.unix_timestamp_nanos()).ok()?);
                Some(
                    p.received_at
                        .duration_since(created)
                        .unwrap_or_default()
                        .as_secs_f64()
                        * 1000.0,
                )
            })
            .collect();
        if created.len() as u64 >= sent || Instant::now() > deadline {
            break created;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let achieved = sent as f64 / sending.as_secs_f64();
    eprintln!(
        "sent {sent} messages in {:.1} s ({achieved:.0}/s, target {rate}/s); published {}",
        sending.as_secs_f64(),
        latencies.len()
    );
    let trip = |q: f64| {
        let index = ((round_trips.len() as f64 - 1.0) * q).round() as usize;
        round_trips.get(index).copied().unwrap_or(f64::NAN)
    };
    eprintln!(
        "send round trip ms: p50 {:.1}  p99 {:.1}",
        trip(0.5),
        trip(0.99)
    );
    eprintln!(
        "commit-to-publish ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
        pick(0.5),
        pick(0.95),
        pick(0.99),
        pick(1.0)
    );
    println!(
        "| {rate}/s target, {achieved:.0}/s achieved, {seconds} s | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        latencies.len(),
        pick(0.5),
        pick(0.95),
        pick(0.99),
        pick(1.0)
    );
}
