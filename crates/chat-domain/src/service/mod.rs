//! The use cases. [`ChatService`] holds the ports; each area of the contract
//! adds its operations in its own module.

mod attachments;
mod catch_up;
mod conversations;
mod manage;
mod members;
mod message_changes;
mod messages;
mod preferences;
mod reactions;
mod read_state;
mod realtime;
mod search;
mod typing;
mod unfurl;

use std::sync::Arc;

pub use attachments::AttachmentPage;
pub use conversations::CreateConversation;
pub use manage::UpdateConversation;
pub use members::MemberPage;
pub use message_changes::{DeletedMessage, EditMessage};
pub use messages::{Anchor, ListMessages, MessagePage, SendMessage};
pub use reactions::{PinPage, ReactionPage};
pub use read_state::{MarkRead, ReadState};
pub use search::{SearchMessages, SearchPage};

use crate::UserId;
use crate::conversation::Access;
use crate::events::{Audience, EventPayload, OutboxEvent};
use crate::limits::Limits;
use crate::ports::{
    AttachmentRepository, Clock, ConversationRepository, EphemeralPublisher,
    EventHistoryRepository, EventIds, LinkFetcher, LinkPreviewRepository, MemberRepository,
    MessageRepository, ObjectStore, ReactionRepository, ReadStateRepository, RealtimeTokens,
    SearchRepository, UserRepository,
};
use crate::throttle::{MinInterval, RecentlySeen, TokenBuckets};
use crate::user::{Caller, User};
use crate::{ChatError, ConversationId, Timestamp};

/// The adapters a [`ChatService`] works with.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub conversations: Arc<dyn ConversationRepository>,
    pub members: Arc<dyn MemberRepository>,
    pub read_state: Arc<dyn ReadStateRepository>,
    pub messages: Arc<dyn MessageRepository>,
    pub reactions: Arc<dyn ReactionRepository>,
    pub search: Arc<dyn SearchRepository>,
    pub clock: Arc<dyn Clock>,
    pub event_ids: Arc<dyn EventIds>,
    pub ephemeral: Arc<dyn EphemeralPublisher>,
    pub tokens: Arc<dyn RealtimeTokens>,
    pub previews: Arc<dyn LinkPreviewRepository>,
    pub fetcher: Arc<dyn LinkFetcher>,
    pub attachments: Arc<dyn AttachmentRepository>,
    pub objects: Arc<dyn ObjectStore>,
    pub event_history: Arc<dyn EventHistoryRepository>,
}

/// Every use case of the chat contract.
#[derive(Clone)]
pub struct ChatService {
    users: Arc<dyn UserRepository>,
    conversations: Arc<dyn ConversationRepository>,
    members: Arc<dyn MemberRepository>,
    read_state: Arc<dyn ReadStateRepository>,
    messages: Arc<dyn MessageRepository>,
    reactions: Arc<dyn ReactionRepository>,
    search: Arc<dyn SearchRepository>,
    clock: Arc<dyn Clock>,
    ephemeral: Arc<dyn EphemeralPublisher>,
    tokens: Arc<dyn RealtimeTokens>,
    previews: Arc<dyn LinkPreviewRepository>,
    fetcher: Arc<dyn LinkFetcher>,
    attachments: Arc<dyn AttachmentRepository>,
    event_history: Arc<dyn EventHistoryRepository>,
    signer: attachments::UrlSigner,
    events: EventFactory,
    limits: Limits,
    sends: Arc<TokenBuckets<UserId>>,
    typing: Arc<MinInterval<(UserId, ConversationId)>>,
    provisioned: Arc<RecentlySeen<UserId, User>>,
}

/// How long a provisioned user's claims are trusted to be in the directory
/// before the next call writes them again.
const PROVISION_TTL_MS: i64 = 60_000;

impl ChatService {
    /// A service over these ports and limits.
    pub fn new(ports: Ports, limits: Limits) -> Self {
        Self {
            users: ports.users,
            conversations: ports.conversations,
            members: ports.members,
            read_state: ports.read_state,
            messages: ports.messages,
            reactions: ports.reactions,
            search: ports.search,
            clock: ports.clock,
            ephemeral: ports.ephemeral,
            tokens: ports.tokens,
            previews: ports.previews,
            fetcher: ports.fetcher,
            attachments: ports.attachments,
            event_history: ports.event_history,
            signer: attachments::UrlSigner {
                objects: ports.objects,
                ttl_secs: limits.download_ttl_secs,
            },
            events: EventFactory {
                ids: ports.event_ids,
            },
            sends: Arc::new(TokenBuckets::new(
                limits.send_rate_per_sec,
                limits.send_burst,
            )),
            typing: Arc::new(MinInterval::new(limits.typing_interval_ms)),
            provisioned: Arc::new(RecentlySeen::new(PROVISION_TTL_MS)),
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Creates or refreshes the caller's directory entry from their token.
    /// A user belongs to one org: a token naming another org than the one
    /// the user was first seen in is [`Provisioned::InAnotherOrg`], and is
    /// not to be served (it would read the first org's conversations).
    ///
    /// # Errors
    /// `Unavailable` / `Unexpected` from the store.
    /// Skipped when the same claims were provisioned less than a minute ago:
    /// most calls would otherwise cost a round trip for nothing.
    pub async fn provision_user(&self, user: User) -> Result<Provisioned, ChatError> {
        let now = self.clock.now();
        if self.provisioned.contains(user.id, &user, now) {
            return Ok(Provisioned::Ready);
        }
        let org = self.users.provision(user.clone(), now).await?;
        if org != user.org_id {
            return Ok(Provisioned::InAnotherOrg);
        }
        self.provisioned.record(user.id, user, now);
        Ok(Provisioned::Ready)
    }

    /// The caller's access to a conversation, or `not_found` when they cannot
    /// read it (never `forbidden`: no existence leak).
    async fn readable(&self, caller: Caller, id: ConversationId) -> Result<Access, ChatError> {
        self.conversations
            .access(id, caller.user_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))
    }
}

/// What provisioning a token's user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    /// The user is in the token's org; serve the request.
    Ready,
    /// The user belongs to another org than the token names: refuse it.
    InAnotherOrg,
}

/// Makes events with fresh ids; cheap to clone into a store's event closure.
#[derive(Clone)]
struct EventFactory {
    ids: Arc<dyn EventIds>,
}

impl EventFactory {
    fn event(
        &self,
        conversation_id: ConversationId,
        occurred_at: Timestamp,
        audience: Audience,
        payload: EventPayload,
    ) -> OutboxEvent {
        OutboxEvent {
            id: self.ids.next_event_id(),
            conversation_id,
            occurred_at,
            audience,
            payload,
        }
    }
}

#[cfg(test)]
mod tests;
