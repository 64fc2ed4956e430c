//! What each case gets: a service over the store under test, with a manual
//! clock and predictable event ids.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chat_domain::events::OutboxEvent;
use chat_domain::limits::Limits;
use chat_domain::ports::{
    Clock, ConversationRepository, EphemeralPublisher, EventIds, MessageRepository, UserRepository,
};
use chat_domain::service::{ChatService, Ports};
use chat_domain::user::{Caller, User};
use chat_domain::{EventId, OrgId, Timestamp, UserId};

/// A clock that moves one millisecond per reading, from a fixed start, so
/// every write has a distinct, predictable instant.
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock at 2026-11-22T10:00:00Z.
    pub fn new() -> Self {
        Self {
            now: Mutex::new(Timestamp::from_unix_millis(1_795_341_600_000).unwrap()),
        }
    }
}

impl ManualClock {
    /// Moves the clock on, as if that much time had passed.
    pub fn advance(&self, millis: i64) {
        let mut now = self.now.lock().unwrap();
        *now = Timestamp::from_unix_millis(now.unix_millis() + millis).unwrap();
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let mut now = self.now.lock().unwrap();
        let current = *now;
        *now = Timestamp::from_unix_millis(current.unix_millis() + 1).unwrap();
        current
    }
}

/// Event ids `e1`, `e2`, ...
#[derive(Default)]
pub struct SequentialEventIds(AtomicU64);

impl EventIds for SequentialEventIds {
    fn next_event_id(&self) -> EventId {
        EventId::new(format!("e{}", self.0.fetch_add(1, Ordering::Relaxed) + 1))
    }
}

/// Renders the part of an envelope the suite reads back from a store: the
/// type and the event id (the wire shapes have their own tests). It also
/// remembers every event it rendered, by id, so a case can read what a
/// client received (the outbox or the event history names the id) as the
/// domain's typed event.
#[derive(Default)]
pub struct TypeAndIdEncoder {
    rendered: Mutex<HashMap<String, OutboxEvent>>,
}

impl TypeAndIdEncoder {
    /// The event rendered with this id. Only ids read back from a store are
    /// asked for, so an event whose transaction rolled back is never seen.
    pub fn event(&self, id: &str) -> Option<OutboxEvent> {
        self.rendered.lock().unwrap().get(id).cloned()
    }
}

impl chat_domain::events::EventEncoder for TypeAndIdEncoder {
    fn encode(&self, event: &OutboxEvent) -> String {
        self.rendered
            .lock()
            .unwrap()
            .insert(event.id.as_str().to_owned(), event.clone());
        format!(
            r#"{{"type":"{}","eventId":"{}","data":{{}}}}"#,
            event.payload.event_type(),
            event.id.as_str()
        )
    }
}

/// Drops ephemeral events: stores have no part in them.
struct DiscardEphemeral;

#[async_trait::async_trait]
impl EphemeralPublisher for DiscardEphemeral {
    async fn publish(&self, _event: OutboxEvent) -> Result<(), chat_domain::ChatError> {
        Ok(())
    }
}

/// Serves previews for `https://preview.test/<name>` links, nothing else,
/// and counts every fetch.
#[derive(Default)]
pub struct CannedFetcher {
    fetches: AtomicU64,
}

#[async_trait::async_trait]
impl chat_domain::ports::LinkFetcher for CannedFetcher {
    async fn fetch(&self, url: &str) -> Option<chat_domain::message::LinkPreview> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let name = url.strip_prefix("https://preview.test/")?;
        Some(chat_domain::message::LinkPreview {
            url: url.to_owned(),
            title: Some(format!("Title of {name}")),
            description: None,
            image_url: None,
            site_name: Some("preview.test".to_owned()),
        })
    }
}

/// An object store in memory, with URLs that name the key: stores have no
/// part in the bytes, but the cases upload and check sizes through it.
#[derive(Default)]
pub struct MemoryObjects {
    objects: Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

impl MemoryObjects {
    /// Stores bytes at `key`, as an upload through a presigned URL would.
    pub fn upload(&self, key: &str, bytes: &[u8]) {
        self.objects
            .lock()
            .unwrap()
            .insert(key.to_owned(), bytes.to_vec());
    }

    /// Whether `key` holds an object.
    pub fn has(&self, key: &str) -> bool {
        self.objects.lock().unwrap().contains_key(key)
    }
}

#[async_trait::async_trait]
impl chat_domain::ports::ObjectStore for MemoryObjects {
    fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        _size: i64,
        _expires_in_secs: u64,
    ) -> Result<(String, Vec<(String, String)>), chat_domain::ChatError> {
        Ok((
            format!("memory://put/{key}"),
            vec![("Content-Type".to_owned(), content_type.to_owned())],
        ))
    }

    fn download_url(&self, key: &str, _expires_in_secs: u64) -> String {
        format!("memory://get/{key}")
    }

    async fn object_size(&self, key: &str) -> Result<Option<i64>, chat_domain::ChatError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(key)
            .map(|b| i64::try_from(b.len()).unwrap()))
    }

    async fn put_object(
        &self,
        key: &str,
        _content_type: &str,
        mut body: Box<dyn chat_domain::ports::ByteSource>,
        max_size: i64,
    ) -> Result<i64, chat_domain::ChatError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next_chunk().await? {
            bytes.extend_from_slice(&chunk);
            if i64::try_from(bytes.len()).unwrap() > max_size {
                return Err(chat_domain::ChatError::PayloadTooLarge(
                    "too large".to_owned(),
                ));
            }
        }
        let size = i64::try_from(bytes.len()).unwrap();
        self.objects.lock().unwrap().insert(key.to_owned(), bytes);
        Ok(size)
    }

    async fn delete_object(&self, key: &str) -> Result<(), chat_domain::ChatError> {
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }
}

/// Tokens are the realtime adapter's business, not the stores'.
struct NoTokens;

impl chat_domain::ports::RealtimeTokens for NoTokens {
    fn connection(
        &self,
        _: chat_domain::UserId,
        _: Timestamp,
    ) -> Result<chat_domain::ports::IssuedToken, chat_domain::ChatError> {
        Err(chat_domain::ChatError::Unavailable(anyhow::anyhow!(
            "no realtime in store tests"
        )))
    }

    fn subscription(
        &self,
        _: chat_domain::UserId,
        _: chat_domain::ConversationId,
        _: Timestamp,
    ) -> Result<chat_domain::ports::IssuedToken, chat_domain::ChatError> {
        Err(chat_domain::ChatError::Unavailable(anyhow::anyhow!(
            "no realtime in store tests"
        )))
    }
}

/// A service over one fresh store, and a way to read what it wrote to its
/// outbox (as domain events, whatever the store's row format).
pub struct Harness {
    pub service: ChatService,
    /// The store's user directory, for cases about provisioning.
    pub users: Arc<dyn UserRepository>,
    /// The fake link fetcher, to count fetches.
    pub fetcher: Arc<CannedFetcher>,
    /// The object store: bytes by key.
    pub objects: Arc<MemoryObjects>,
    /// What push requests are planned from (the webhook deliverer's reads).
    pub push: Arc<dyn chat_domain::ports::PushFacts>,
    clock: Arc<ManualClock>,
    encoder: Arc<TypeAndIdEncoder>,
    outbox: Box<dyn Fn() -> OutboxRead + Send + Sync>,
    _guard: Box<dyn Any + Send>,
}

/// One event a store wrote to its outbox: its id, type and channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub event_id: String,
    pub event_type: String,
    pub channels: Vec<String>,
}

/// Reads a store's outbox: each written event, in write order.
pub type OutboxRead = Pin<Box<dyn Future<Output = Vec<Published>> + Send>>;

impl Harness {
    /// A harness over a store implementing every port, built with
    /// `encoder`. `outbox` lists what the store wrote (in write order);
    /// `guard` lives as long as the harness (a test database, say).
    pub fn new<S>(
        store: Arc<S>,
        encoder: Arc<TypeAndIdEncoder>,
        outbox: impl Fn() -> OutboxRead + Send + Sync + 'static,
        guard: impl Any + Send,
    ) -> Self
    where
        S: UserRepository
            + ConversationRepository
            + chat_domain::ports::MemberRepository
            + chat_domain::ports::ReadStateRepository
            + MessageRepository
            + chat_domain::ports::ReactionRepository
            + chat_domain::ports::SearchRepository
            + chat_domain::ports::LinkPreviewRepository
            + chat_domain::ports::AttachmentRepository
            + chat_domain::ports::EventHistoryRepository
            + chat_domain::ports::PushFacts
            + 'static,
    {
        let users: Arc<dyn UserRepository> = store.clone();
        let fetcher = Arc::new(CannedFetcher::default());
        let objects = Arc::new(MemoryObjects::default());
        let clock = Arc::new(ManualClock::new());
        let ports = Ports {
            users: users.clone(),
            conversations: store.clone(),
            members: store.clone(),
            read_state: store.clone(),
            messages: store.clone(),
            reactions: store.clone(),
            search: store.clone(),
            clock: clock.clone(),
            event_ids: Arc::new(SequentialEventIds::default()),
            ephemeral: Arc::new(DiscardEphemeral),
            tokens: Arc::new(NoTokens),
            previews: store.clone(),
            fetcher: fetcher.clone(),
            attachments: store.clone(),
            objects: objects.clone(),
            event_history: store.clone(),
        };
        Self {
            // Cases send in bursts; the rate limit has its own tests.
            service: ChatService::new(
                ports,
                Limits {
                    send_burst: 10_000,
                    ..Limits::default()
                },
            ),
            users,
            fetcher,
            objects,
            push: store,
            clock,
            encoder,
            outbox: Box::new(outbox),
            _guard: Box::new(guard),
        }
    }

    /// Provisions a user (as their first call would) and returns them as a caller.
    pub async fn user(&self, id: i64, org: i64) -> Caller {
        let user = User {
            id: UserId::new(id),
            org_id: OrgId::new(org),
            name: Some(format!("User {id}")),
            username: Some(format!("user{id}")),
            avatar_url: None,
        };
        self.service.provision_user(user).await.unwrap();
        Caller {
            user_id: UserId::new(id),
            org_id: OrgId::new(org),
        }
    }

    /// The service's clock's next reading.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves the service's clock on.
    pub fn advance_clock(&self, millis: i64) {
        self.clock.advance(millis);
    }

    /// How many links were fetched so far.
    pub fn fetches(&self) -> u64 {
        self.fetcher.fetches.load(Ordering::SeqCst)
    }

    /// What the store wrote to its outbox so far: (type, channels).
    pub async fn outbox(&self) -> Vec<(String, Vec<String>)> {
        (self.outbox)()
            .await
            .into_iter()
            .map(|p| (p.event_type, p.channels))
            .collect()
    }

    /// What the store wrote to its outbox so far, with event ids.
    pub async fn published(&self) -> Vec<Published> {
        (self.outbox)().await
    }

    /// The typed event behind an id read back from the store.
    pub fn event(&self, id: &str) -> Option<OutboxEvent> {
        self.encoder.event(id)
    }
}

/// Channels of an in-memory event, for stores that keep typed events.
pub fn event_channels(event: &OutboxEvent) -> Vec<String> {
    use chat_domain::events::{Audience, conversation_channel, personal_channel};
    match &event.audience {
        Audience::Conversation => vec![conversation_channel(event.conversation_id)],
        Audience::Users(users) => users.iter().map(|u| personal_channel(*u)).collect(),
        Audience::Members => Vec::new(),
    }
}
