//! A local web server with pages to unfurl: an Open Graph page, redirects,
//! an oversized page and a page that never finishes. It counts requests so
//! tests can prove a page was never fetched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};

/// A running page server.
pub struct PageServer {
    port: u16,
    hits: Arc<AtomicUsize>,
    handle: actix_web::dev::ServerHandle,
}

struct State {
    hits: Arc<AtomicUsize>,
    /// Where `/redirect-away` points.
    away: String,
}

impl PageServer {
    /// Starts on a free loopback port; `/redirect-away` redirects to `away`.
    pub fn start(away: &str) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let counter = hits.clone();
        let away = away.to_owned();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let state = web::Data::new(State {
                    hits: counter,
                    away,
                });
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .route("/og", web::get().to(og))
                        .route("/redirect-home", web::get().to(redirect_home))
                        .route("/redirect-away", web::get().to(redirect_away))
                        .route("/huge", web::get().to(huge))
                        .route("/slow", web::get().to(slow))
                        .route("/plain", web::get().to(plain))
                })
                .workers(2)
                .bind(("127.0.0.1", 0))
                .expect("binding the page server");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle()))
                    .expect("reporting the port");
                let _ = server.await;
            });
        });
        let (port, handle) = rx.recv().expect("the page server starts");
        Self { port, hits, handle }
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests served so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn count(state: &State) {
    state.hits.fetch_add(1, Ordering::SeqCst);
}

async fn og(state: web::Data<State>) -> HttpResponse {
    count(&state);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            r#"<!doctype html><html><head><title>Fallback title</title>
        <meta property="og:title" content="OG Title">
        <meta property="og:description" content="What the page is about">
        <meta property="og:image" content="/cover.png">
        <meta property="og:site_name" content="Local Pages">
        </head><body>hello</body></html>"#,
        )
}

async fn redirect_home(state: web::Data<State>) -> HttpResponse {
    count(&state);
    HttpResponse::Found()
        .insert_header(("Location", "/og"))
        .finish()
}

async fn redirect_away(state: web::Data<State>) -> HttpResponse {
    count(&state);
    HttpResponse::Found()
        .insert_header(("Location", state.away.clone()))
        .finish()
}

/// Two megabytes of head before the tags: past any sane size cap.
async fn huge(state: web::Data<State>) -> HttpResponse {
    count(&state);
    let mut body = String::from("<html><head><!--");
    body.push_str(&"x".repeat(2 * 1024 * 1024));
    body.push_str(r#"--><meta property="og:title" content="Too far"></head></html>"#);
    HttpResponse::Ok().content_type("text/html").body(body)
}

/// Answers after a minute: past any sane timeout.
async fn slow(state: web::Data<State>) -> HttpResponse {
    count(&state);
    actix_web::rt::time::sleep(Duration::from_secs(60)).await;
    HttpResponse::Ok()
        .content_type("text/html")
        .body("<title>Too late</title>")
}

async fn plain(state: web::Data<State>) -> HttpResponse {
    count(&state);
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("<title>not html</title>")
}
