//! A stand-in for Centrifugo's server HTTP API: `POST /api/publish`,
//! `/api/broadcast` and `/api/batch` (commands in order, one reply each), the `X-API-Key` check (401 with an empty body when
//! wrong), `{"result": ...}` answers, `{"error": {"code", "message"}}` when
//! told to fail, and a record of every publication it accepted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

/// One accepted publication.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// `publish` or `broadcast`.
    pub method: String,
    /// The channel, or each channel of a broadcast.
    pub channels: Vec<String>,
    /// The published data (the event envelope).
    pub data: Value,
    pub idempotency_key: Option<String>,
    /// When the stand-in received it.
    pub received_at: std::time::SystemTime,
}

#[derive(Default)]
struct Shared {
    publications: Mutex<Vec<Publication>>,
    /// (channel, idempotency key) pairs seen: Centrifugo drops repeats.
    seen: Mutex<std::collections::HashSet<(String, String)>>,
    duplicates: std::sync::atomic::AtomicUsize,
    failing: AtomicBool,
    delay_ms: std::sync::atomic::AtomicU64,
    /// Channels whose publishes are refused with code 102.
    refused_channels: Mutex<std::collections::HashSet<String>>,
    /// HTTP calls answered (a batch is one).
    calls: std::sync::atomic::AtomicUsize,
}

/// A running stand-in.
pub struct CentrifugoStandIn {
    url: String,
    api_key: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl CentrifugoStandIn {
    /// Starts on a free loopback port, accepting `api_key`.
    pub fn start(api_key: &str) -> Self {
        let shared = Arc::new(Shared::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        let key = api_key.to_owned();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new((state.clone(), key.clone())))
                        .route("/api/{method}", web::post().to(api))
                })
                .on_connect(|connection, _| {
                    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                        let _ = tcp.set_nodelay(true);
                    }
                })
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("binding the stand-in");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle()))
                    .expect("reporting the address");
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("the stand-in starts");
        Self {
            url: format!("http://{addr}"),
            api_key: api_key.to_owned(),
            shared,
            handle,
        }
    }

    /// The base URL to configure as `CENTRIFUGO_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key it accepts, for `CENTRIFUGO_API_KEY`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Everything accepted so far, in arrival order.
    pub fn publications(&self) -> Vec<Publication> {
        self.shared.publications.lock().expect("lock").clone()
    }

    /// How many publishes were dropped as repeats of an idempotency key.
    pub fn duplicates(&self) -> usize {
        self.shared.duplicates.load(Ordering::SeqCst)
    }

    /// Makes every call take this long before answering.
    pub fn set_delay(&self, delay: std::time::Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(millis, Ordering::SeqCst);
    }

    /// Refuses every publish to `channel` with code 102 (unknown channel),
    /// as Centrifugo does for a namespace it does not know.
    pub fn refuse_channel(&self, channel: &str) {
        self.shared
            .refused_channels
            .lock()
            .expect("lock")
            .insert(channel.to_owned());
    }

    /// How many HTTP calls it answered.
    pub fn calls(&self) -> usize {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// While true, every call answers Centrifugo's internal error (code 100).
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }
}

impl Drop for CentrifugoStandIn {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn api(
    request: HttpRequest,
    method: web::Path<String>,
    state: web::Data<(Arc<Shared>, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (shared, key) = state.get_ref();
    let given = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok());
    if given != Some(key.as_str()) {
        return HttpResponse::Unauthorized().finish();
    }
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    if shared.failing.load(Ordering::SeqCst) {
        return HttpResponse::Ok()
            .json(json!({"error": {"code": 100, "message": "internal server error"}}));
    }
    let method = method.into_inner();
    let body = body.into_inner();
    if method == "batch" {
        // Commands run in order; each has its own reply (or error).
        let replies: Vec<Value> = body["commands"]
            .as_array()
            .map(|commands| {
                commands
                    .iter()
                    .map(|command| {
                        let Some((method, params)) =
                            command.as_object().and_then(|c| c.iter().next())
                        else {
                            return bad_request();
                        };
                        match apply(shared, method, params) {
                            Ok(result) => json!({ method.clone(): result }),
                            Err(error) => error,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        return HttpResponse::Ok().json(json!({ "replies": replies }));
    }
    match apply(shared, &method, &body) {
        Ok(result) => HttpResponse::Ok().json(json!({ "result": result })),
        Err(error) => HttpResponse::Ok().json(error),
    }
}

fn bad_request() -> Value {
    json!({"error": {"code": 107, "message": "bad request"}})
}

/// One `publish` or `broadcast`: its result, or its `{"error": ...}`.
fn apply(shared: &Shared, method: &str, body: &Value) -> Result<Value, Value> {
    let channels: Vec<String> = match method {
        "publish" => body["channel"]
            .as_str()
            .map(|c| vec![c.to_owned()])
            .unwrap_or_default(),
        "broadcast" => body["channels"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.as_str().map(ToOwned::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        _ => return Err(bad_request()),
    };
    if channels.is_empty() || body.get("data").is_none() {
        return Err(bad_request());
    }
    let refused = shared.refused_channels.lock().expect("lock");
    if method == "publish" && refused.contains(&channels[0]) {
        return Err(json!({"error": {"code": 102, "message": "unknown channel"}}));
    }
    drop(refused);
    let result = if method == "broadcast" {
        json!({"responses": channels.iter().map(|_| json!({"result": {}})).collect::<Vec<_>>()})
    } else {
        json!({})
    };
    let key = body["idempotency_key"].as_str().map(ToOwned::to_owned);
    if let Some(key) = &key {
        let mut seen = shared.seen.lock().expect("lock");
        let fresh: Vec<bool> = channels
            .iter()
            .map(|c| seen.insert((c.clone(), key.clone())))
            .collect();
        if !fresh.iter().any(|f| *f) {
            shared.duplicates.fetch_add(1, Ordering::SeqCst);
            return Ok(result);
        }
    }
    shared.publications.lock().expect("lock").push(Publication {
        method: method.to_owned(),
        channels,
        data: body["data"].clone(),
        idempotency_key: key,
        received_at: std::time::SystemTime::now(),
    });
    Ok(result)
}
