//! Link previews end to end: the real fetcher against a local page server,
//! with that server (and only it) allowed despite being on loopback.

use std::time::Duration;

use chat_e2e::pages::PageServer;
use chat_e2e::{TestServer, eventually};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn server_allowing(pages: &PageServer) -> TestServer {
    server_allowing_with(pages, &[]).await
}

/// A server allowing `pages`, with more settings.
async fn server_allowing_with(pages: &PageServer, more: &[(&str, &str)]) -> TestServer {
    let allow = format!("127.0.0.1:{}", pages.port());
    let mut env = vec![
        ("UNFURL_ALLOW", allow.as_str()),
        ("UNFURL_TIMEOUT_MS", "1500"),
        ("UNFURL_MAX_BYTES", "65536"),
        ("UNFURL_WORKERS", "2"),
    ];
    env.extend_from_slice(more);
    TestServer::postgres_with(&env).await
}

async fn send(server: &TestServer, token: &str, conversation: &str, content: &str) -> String {
    let sent = server
        .post(
            token,
            "/chat/messages/send",
            json!({"conversationId": conversation, "content": content}),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    sent.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn previews_of(server: &TestServer, token: &str, message: &str) -> Value {
    server
        .post(token, &format!("/chat/messages/{message}/get"), json!({}))
        .await
        .body["linkPreviews"]
        .clone()
}

async fn queued_jobs(server: &TestServer) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
        panic!("connecting to the test database");
    };
    let row: Result<Count, _> = diesel::sql_query("SELECT count(*) AS n FROM link_unfurl_jobs")
        .get_result(&mut conn)
        .await;
    row.map(|c| c.n).unwrap_or(-1)
}

async fn cached_failures(server: &TestServer, links: &[String]) -> usize {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
        panic!("connecting to the test database");
    };
    let row: Result<Count, _> = diesel::sql_query(
        "SELECT count(*) AS n FROM link_preview_cache WHERE NOT ok AND url = ANY($1)",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(links)
    .get_result(&mut conn)
    .await;
    row.map(|c| usize::try_from(c.n).unwrap_or(0)).unwrap_or(0)
}

#[tokio::test]
async fn a_link_gets_its_preview_and_an_update_event() {
    let pages = PageServer::start("http://127.0.0.1:1/");
    let server = server_allowing(&pages).await;
    let ann = server.token(1, 1);
    let dm = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "1"}),
        )
        .await;
    let dm = dm.body["id"].as_str().unwrap_or_default().to_owned();
    let link = pages.url("/og");
    let message = send(&server, &ann, &dm, &format!("look at {link}!")).await;
    let previews = eventually(WAIT, || async {
        let previews = previews_of(&server, &ann, &message).await;
        previews
            .as_array()
            .is_some_and(|p| !p.is_empty())
            .then_some(previews)
    })
    .await;
    assert_eq!(
        previews,
        json!([{
            "url": link,
            "title": "OG Title",
            "description": "What the page is about",
            "imageUrl": pages.url("/cover.png"),
            "siteName": "Local Pages"
        }])
    );
    // Through a redirect on the same (allowed) server, and from the cache.
    let redirected = send(
        &server,
        &ann,
        &dm,
        &format!("{} and {link}", pages.url("/redirect-home")),
    )
    .await;
    eventually(WAIT, || async {
        let previews = previews_of(&server, &ann, &redirected).await;
        (previews.as_array().map(Vec::len) == Some(2)).then_some(())
    })
    .await;
    assert_eq!(
        pages.hits(),
        3,
        "/og once, /redirect-home, /og through it: the repeat came from the cache"
    );

    #[derive(QueryableByName)]
    struct Payload {
        #[diesel(sql_type = diesel::sql_types::Text)]
        p: String,
    }
    let Ok(mut conn) = AsyncPgConnection::establish(server.database_url()).await else {
        panic!("connecting to the test database");
    };
    let updates: Vec<Payload> = diesel::sql_query(
        "SELECT payload::text AS p FROM chat_outbox WHERE payload->'data'->>'type' = 'message.updated' ORDER BY id",
    )
    .load(&mut conn)
    .await
    .unwrap_or_default();
    let first: Value = serde_json::from_str(
        &updates
            .as_slice()
            .first()
            .map(|u| u.p.clone())
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(first["data"]["data"]["id"], message.as_str());
    assert_eq!(
        first["data"]["data"]["linkPreviews"][0]["title"],
        "OG Title"
    );
}

#[tokio::test]
async fn internal_addresses_are_never_fetched_and_nothing_blocks_the_workers() {
    // A second page server that must never be reached.
    let forbidden = PageServer::start("http://127.0.0.1:1/");
    let pages = PageServer::start(&forbidden.url("/og"));
    let server = server_allowing(&pages).await;
    let ann = server.token(1, 1);
    let dm = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "1"}),
        )
        .await;
    let dm = dm.body["id"].as_str().unwrap_or_default().to_owned();

    let refused = [
        "http://10.255.255.1/".to_owned(), // a private address
        "http://169.254.169.254/latest/meta-data/".to_owned(), // cloud metadata
        format!("http://localhost:{}/og", forbidden.port()), // a name resolving to loopback
        pages.url("/redirect-away"),       // a redirect to loopback
        pages.url("/huge"),                // past the size cap
        pages.url("/plain"),               // not HTML
    ];
    let slow = send(&server, &ann, &dm, &pages.url("/slow")).await;
    let mut bad = Vec::new();
    for link in &refused {
        bad.push(send(&server, &ann, &dm, link).await);
    }
    let good = send(&server, &ann, &dm, &pages.url("/og")).await;

    // The good link is unfurled while the slow one still hangs.
    eventually(WAIT, || async {
        previews_of(&server, &ann, &good)
            .await
            .as_array()
            .is_some_and(|p| !p.is_empty())
            .then_some(())
    })
    .await;
    eventually(WAIT, || async {
        (queued_jobs(&server).await == 0).then_some(())
    })
    .await;
    // Every refused or failed link ends as a cached failure: the fetch is
    // over (the slow one by timeout), with no preview.
    let mut links: Vec<String> = refused.to_vec();
    links.push(pages.url("/slow"));
    eventually(WAIT, || async {
        (cached_failures(&server, &links).await == links.len()).then_some(())
    })
    .await;
    for message in bad.iter().chain([&slow]) {
        assert_eq!(
            previews_of(&server, &ann, message).await,
            json!([]),
            "message {message}"
        );
    }
    assert_eq!(
        forbidden.hits(),
        0,
        "the loopback server behind the redirect and the name was never reached"
    );
}

/// The fetcher checks and pins the address it connects to; a proxy from the
/// environment would connect instead and resolve the name again (issue 24).
/// With `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` set, the page is still
/// fetched directly, and the proxy sees no connection.
#[tokio::test]
async fn previews_never_go_through_a_proxy_from_the_environment() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("a proxy port");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("its address"));
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        for stream in proxy.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });

    let pages = PageServer::start("http://127.0.0.1:1/");
    let server = server_allowing_with(
        &pages,
        &[
            ("HTTP_PROXY", proxy_url.as_str()),
            ("HTTPS_PROXY", proxy_url.as_str()),
            ("ALL_PROXY", proxy_url.as_str()),
        ],
    )
    .await;
    let ann = server.token(1, 1);
    let dm = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({"kind": "direct", "userId": "1"}),
        )
        .await;
    let dm = dm.body["id"].as_str().unwrap_or_default().to_owned();
    let message = send(&server, &ann, &dm, &format!("see {}", pages.url("/og"))).await;
    let previews = eventually(WAIT, || async {
        let previews = previews_of(&server, &ann, &message).await;
        previews
            .as_array()
            .is_some_and(|p| !p.is_empty())
            .then_some(previews)
    })
    .await;
    assert_eq!(previews[0]["title"], "OG Title");
    assert_eq!(
        AtomicUsize::load(&connections, Ordering::SeqCst),
        0,
        "nothing went through the proxy"
    );
}
