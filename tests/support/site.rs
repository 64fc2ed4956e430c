//! A local web site whose pages a test sets and swaps while it runs: the
//! origin of browser pages, an identity provider's JWKS. Pages may POST what
//! they saw to `/report`, which the test reads back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// A running site.
pub struct LocalSite {
    port: u16,
    state: Arc<SiteState>,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Default)]
struct SiteState {
    /// Path → (content type, body).
    pages: Mutex<HashMap<String, (String, String)>>,
    /// Path → GETs served.
    hits: Mutex<HashMap<String, usize>>,
    reports: Mutex<Vec<String>>,
}

impl LocalSite {
    /// Starts on a free loopback port with no pages.
    pub fn start() -> Self {
        let state = Arc::new(SiteState::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let data = web::Data::from(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route("/report", web::post().to(report))
                        .default_service(web::get().to(page))
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("binding the local site");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle()))
                    .expect("reporting the port");
                let _ = server.await;
            });
        });
        let (port, handle) = rx.recv().expect("the local site starts");
        Self {
            port,
            state,
            handle,
        }
    }

    /// `http://127.0.0.1:<port>`: the site's origin.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Serves `body` at `path` from now on.
    pub fn set(&self, path: &str, content_type: &str, body: &str) {
        self.state
            .pages
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body.to_owned()));
    }

    /// Stops serving `path` (it answers 404, as a provider that is down).
    pub fn remove(&self, path: &str) {
        self.state.pages.lock().unwrap().remove(path);
    }

    /// How many times `path` was fetched.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// What pages have POSTed to `/report`, oldest first.
    pub fn reports(&self) -> Vec<String> {
        self.state.reports.lock().unwrap().clone()
    }
}

impl Drop for LocalSite {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn page(request: HttpRequest, state: web::Data<SiteState>) -> HttpResponse {
    let path = request.path().to_owned();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    match state.pages.lock().unwrap().get(&path) {
        Some((content_type, body)) => HttpResponse::Ok()
            .content_type(content_type.as_str())
            .body(body.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn report(body: String, state: web::Data<SiteState>) -> HttpResponse {
    state.reports.lock().unwrap().push(body);
    HttpResponse::NoContent().finish()
}
