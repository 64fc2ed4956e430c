//! A webhook endpoint for tests: verifies each delivery's Standard Webhooks
//! signature with the endpoint's secret, records it, and can be told to be
//! down (answer 503), to refuse one delivery, or to be slow.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chat_webhooks::signing::SigningKey;
use serde_json::Value;

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: String,
    /// `webhook-timestamp`, as sent.
    pub timestamp: i64,
    /// The signature matched the body, id and timestamp.
    pub verified: bool,
    /// The envelope.
    pub body: Value,
    /// Answered 2xx (taken), or refused while down.
    pub accepted: bool,
    /// When it arrived.
    pub received_at: std::time::Instant,
}

struct Shared {
    key: SigningKey,
    deliveries: Mutex<Vec<Delivery>>,
    down: AtomicBool,
    delay_ms: AtomicU64,
    /// Deliveries whose id ends so are refused, once each suffix.
    refuse_once: Mutex<Vec<String>>,
}

/// A running receiver.
pub struct WebhookReceiver {
    url: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl WebhookReceiver {
    /// Starts on a free loopback port, verifying with `secret`.
    pub fn start(secret: &str) -> Self {
        let shared = Arc::new(Shared {
            key: SigningKey::parse(secret).expect("a valid secret"),
            deliveries: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            refuse_once: Mutex::new(Vec::new()),
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(state.clone()))
                        .route("/hook", web::post().to(receive))
                })
                .workers(2)
                .bind(("127.0.0.1", 0))
                .expect("binding the receiver");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle()))
                    .expect("reporting the address");
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("the receiver starts");
        Self {
            url: format!("http://{addr}/hook"),
            shared,
            handle,
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every delivery so far, in arrival order (refused ones included).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().expect("lock").clone()
    }

    /// How many deliveries arrived so far (without copying them).
    pub fn count(&self) -> usize {
        self.shared.deliveries.lock().expect("lock").len()
    }

    /// The deliveries it took (answered 2xx).
    pub fn accepted(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.accepted)
            .collect()
    }

    /// While down, every delivery is answered 503.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// The first delivery whose `webhook-id` ends with `suffix` is refused
    /// (503); later ones are taken.
    pub fn refuse_once(&self, suffix: &str) {
        self.shared
            .refuse_once
            .lock()
            .expect("lock")
            .push(suffix.to_owned());
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(millis, Ordering::SeqCst);
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn receive(
    state: web::Data<Arc<Shared>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let webhook_id = header("webhook-id");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or(-1);
    let verified = state
        .key
        .verify(&webhook_id, timestamp, &body, &header("webhook-signature"));
    let refused_once = {
        let mut suffixes = state.refuse_once.lock().expect("lock");
        let found = suffixes
            .iter()
            .position(|s| webhook_id.ends_with(s.as_str()));
        found.map(|i| suffixes.remove(i)).is_some()
    };
    let accepted = !state.down.load(Ordering::SeqCst) && !refused_once;
    state.deliveries.lock().expect("lock").push(Delivery {
        webhook_id,
        timestamp,
        verified,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        accepted,
        received_at: std::time::Instant::now(),
    });
    if accepted {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::ServiceUnavailable().finish()
    }
}
