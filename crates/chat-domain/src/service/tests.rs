//! Use-case rules checked against mocked ports: refusals happen before any
//! write reaches a store.

use std::sync::Arc;

use futures_executor::block_on;

use super::*;
use crate::conversation::{
    Conversation, ConversationKind, HistoryMode, Membership, NotifyLevel, PostingPolicy, Role,
    Visibility,
};
use crate::ports::{
    MockAttachmentRepository, MockClock, MockConversationRepository, MockEphemeralPublisher,
    MockEventHistoryRepository, MockEventIds, MockLinkFetcher, MockLinkPreviewRepository,
    MockMemberRepository, MockMessageRepository, MockObjectStore, MockReactionRepository,
    MockReadStateRepository, MockRealtimeTokens, MockSearchRepository, MockUserRepository,
};
use crate::{OrgId, UserId};

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis).unwrap_or_else(|| unreachable!())
}

fn caller() -> Caller {
    Caller {
        user_id: UserId::new(1),
        org_id: OrgId::new(9),
    }
}

fn access(role: Role, policy: PostingPolicy, archived: bool) -> Access {
    let id = ConversationId::new(5);
    Access {
        conversation: Conversation {
            id,
            org_id: OrgId::new(9),
            kind: ConversationKind::Channel,
            visibility: Visibility::Private,
            history_mode: HistoryMode::Full,
            posting_policy: policy,
            name: Some("c".to_owned()),
            description: None,
            avatar_file_id: None,
            metadata: None,
            created_by: UserId::new(2),
            created_at: at(0),
            updated_at: at(0),
            archived_at: archived.then(|| at(1)),
            last_message_at: None,
            last_seq: 0,
            member_count: 2,
            last_event_seq: 0,
        },
        membership: Membership {
            conversation_id: id,
            user_id: UserId::new(1),
            role,
            joined_at: at(0),
            history_from_seq: 0,
            history_from_event_seq: 0,
            last_read_seq: 0,
            last_read_message_id: None,
            starred: false,
            mute_until: None,
            notify_level: NotifyLevel::All,
            hidden: false,
        },
    }
}

/// A service whose conversation store returns `found`, and whose message
/// store must never be written.
fn service_with(found: Option<Access>) -> ChatService {
    let mut conversations = MockConversationRepository::new();
    conversations
        .expect_access()
        .returning(move |_, _| Ok(found.clone()));
    let mut messages = MockMessageRepository::new();
    messages.expect_insert().never();
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(10));
    ChatService::new(
        Ports {
            users: Arc::new(MockUserRepository::new()),
            conversations: Arc::new(conversations),
            messages: Arc::new(messages),
            members: Arc::new(MockMemberRepository::new()),
            read_state: Arc::new(MockReadStateRepository::new()),
            reactions: Arc::new(MockReactionRepository::new()),
            search: Arc::new(MockSearchRepository::new()),
            clock: Arc::new(clock),
            event_ids: Arc::new(MockEventIds::new()),
            ephemeral: Arc::new(MockEphemeralPublisher::new()),
            tokens: Arc::new(MockRealtimeTokens::new()),
            previews: Arc::new(MockLinkPreviewRepository::new()),
            fetcher: Arc::new(MockLinkFetcher::new()),
            attachments: Arc::new(MockAttachmentRepository::new()),
            objects: Arc::new(MockObjectStore::new()),
            event_history: Arc::new(MockEventHistoryRepository::new()),
        },
        Limits::default(),
    )
}

fn hello() -> SendMessage {
    SendMessage {
        conversation_id: ConversationId::new(5),
        content: "hello".to_owned(),
        client_msg_id: None,
        parent_id: None,
        quoted_message_id: None,
        mentions: Vec::new(),
        mention_everyone: false,
        gif: None,
        metadata: None,
        attachment_ids: Vec::new(),
    }
}

#[test]
fn archived_conversations_refuse_sends_with_conflict() {
    let service = service_with(Some(access(Role::Owner, PostingPolicy::Everyone, true)));
    let result = block_on(service.send_message(caller(), hello()));
    assert!(matches!(result, Err(ChatError::Conflict(_))), "{result:?}");
}

#[test]
fn admins_only_posting_forbids_members_but_not_admins() {
    let service = service_with(Some(access(Role::Member, PostingPolicy::Admins, false)));
    let result = block_on(service.send_message(caller(), hello()));
    assert!(matches!(result, Err(ChatError::Forbidden(_))), "{result:?}");
}

#[test]
fn unreadable_conversations_are_not_found() {
    let service = service_with(None);
    let result = block_on(service.send_message(caller(), hello()));
    assert!(
        matches!(result, Err(ChatError::NotFound("conversation"))),
        "{result:?}"
    );
}

#[test]
fn content_rules_are_checked_before_writing() {
    let service = service_with(Some(access(Role::Member, PostingPolicy::Everyone, false)));
    let cases = [
        (
            SendMessage {
                content: String::new(),
                ..hello()
            },
            "content",
        ),
        (
            SendMessage {
                content: "x".repeat(10_001),
                ..hello()
            },
            "content",
        ),
        (
            SendMessage {
                gif: Some("http://insecure.example/a.gif".to_owned()),
                ..hello()
            },
            "gif",
        ),
        (
            SendMessage {
                client_msg_id: Some("c".repeat(65)),
                ..hello()
            },
            "clientMsgId",
        ),
        (
            SendMessage {
                metadata: Some(format!("{{\"k\":\"{}\"}}", "v".repeat(5_200))),
                ..hello()
            },
            "metadata",
        ),
        (
            SendMessage {
                mentions: (0..51).map(UserId::new).collect(),
                ..hello()
            },
            "mentions",
        ),
        (
            SendMessage {
                attachment_ids: (0..11).map(crate::AttachmentId::new).collect(),
                ..hello()
            },
            "attachmentIds",
        ),
    ];
    for (request, expected) in cases {
        let result = block_on(service.send_message(caller(), request));
        assert!(
            matches!(&result, Err(ChatError::Validation { field, .. }) if field == expected),
            "{expected}: {result:?}"
        );
    }
}

#[test]
fn a_gif_alone_is_a_message() {
    // Empty content is fine with a gif: the store is reached (and here fails
    // on purpose, proving validation let it through).
    let mut conversations = MockConversationRepository::new();
    let found = access(Role::Member, PostingPolicy::Everyone, false);
    conversations
        .expect_access()
        .returning(move |_, _| Ok(Some(found.clone())));
    let mut messages = MockMessageRepository::new();
    messages
        .expect_insert()
        .times(1)
        .returning(|_, _| Err(ChatError::Unavailable(anyhow::anyhow!("down"))));
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(10));
    let service = ChatService::new(
        Ports {
            users: Arc::new(MockUserRepository::new()),
            conversations: Arc::new(conversations),
            messages: Arc::new(messages),
            members: Arc::new(MockMemberRepository::new()),
            read_state: Arc::new(MockReadStateRepository::new()),
            reactions: Arc::new(MockReactionRepository::new()),
            search: Arc::new(MockSearchRepository::new()),
            clock: Arc::new(clock),
            event_ids: Arc::new(MockEventIds::new()),
            ephemeral: Arc::new(MockEphemeralPublisher::new()),
            tokens: Arc::new(MockRealtimeTokens::new()),
            previews: Arc::new(MockLinkPreviewRepository::new()),
            fetcher: Arc::new(MockLinkFetcher::new()),
            attachments: Arc::new(MockAttachmentRepository::new()),
            objects: Arc::new(MockObjectStore::new()),
            event_history: Arc::new(MockEventHistoryRepository::new()),
        },
        Limits::default(),
    );
    let request = SendMessage {
        content: String::new(),
        gif: Some("https://media.example/cat.gif".to_owned()),
        ..hello()
    };
    let result = block_on(service.send_message(caller(), request));
    assert!(
        matches!(result, Err(ChatError::Unavailable(_))),
        "{result:?}"
    );
}

#[test]
fn channel_creation_rules_need_no_store() {
    let service = service_with(None);
    let request = |kind, name: Option<&str>, visibility, members: Vec<i64>| CreateConversation {
        kind,
        user_id: None,
        name: name.map(ToOwned::to_owned),
        description: None,
        member_ids: members.into_iter().map(UserId::new).collect(),
        visibility,
        history_mode: None,
        posting_policy: None,
        metadata: None,
    };
    let cases = [
        (
            request(ConversationKind::Channel, None, None, vec![]),
            "name",
        ),
        (
            request(
                ConversationKind::Channel,
                Some(&"n".repeat(81)),
                None,
                vec![],
            ),
            "name",
        ),
        (
            request(
                ConversationKind::Channel,
                Some("c"),
                Some(Visibility::Org),
                vec![2],
            ),
            "memberIds",
        ),
        (
            request(ConversationKind::Group, None, Some(Visibility::Org), vec![]),
            "visibility",
        ),
        (
            request(ConversationKind::Group, None, None, (2..=101).collect()),
            "memberIds",
        ),
        (
            request(ConversationKind::Direct, None, None, vec![]),
            "userId",
        ),
    ];
    for (request, expected) in cases {
        let result = block_on(service.create_conversation(caller(), request));
        assert!(
            matches!(&result, Err(ChatError::Validation { field, .. }) if field == expected),
            "{expected}: {result:?}"
        );
    }
}

#[test]
fn sends_past_the_burst_are_rate_limited_before_any_store_work() {
    let mut conversations = MockConversationRepository::new();
    conversations
        .expect_access()
        .times(3)
        .returning(|_, _| Ok(None));
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(10));
    let limits = Limits {
        send_burst: 3,
        send_rate_per_sec: 0.5,
        ..Limits::default()
    };
    let service = ChatService::new(
        Ports {
            users: Arc::new(MockUserRepository::new()),
            conversations: Arc::new(conversations),
            messages: Arc::new(MockMessageRepository::new()),
            members: Arc::new(MockMemberRepository::new()),
            read_state: Arc::new(MockReadStateRepository::new()),
            reactions: Arc::new(MockReactionRepository::new()),
            search: Arc::new(MockSearchRepository::new()),
            clock: Arc::new(clock),
            event_ids: Arc::new(MockEventIds::new()),
            ephemeral: Arc::new(MockEphemeralPublisher::new()),
            tokens: Arc::new(MockRealtimeTokens::new()),
            previews: Arc::new(MockLinkPreviewRepository::new()),
            fetcher: Arc::new(MockLinkFetcher::new()),
            attachments: Arc::new(MockAttachmentRepository::new()),
            objects: Arc::new(MockObjectStore::new()),
            event_history: Arc::new(MockEventHistoryRepository::new()),
        },
        limits,
    );
    for _ in 0..3 {
        let result = block_on(service.send_message(caller(), hello()));
        assert!(matches!(result, Err(ChatError::NotFound(_))), "{result:?}");
    }
    let limited = block_on(service.send_message(caller(), hello()));
    assert!(
        matches!(
            limited,
            Err(ChatError::RateLimited {
                retry_after_secs: 2
            })
        ),
        "{limited:?}"
    );
}

#[test]
fn typing_publishes_at_most_once_per_interval() {
    let found = access(Role::Member, PostingPolicy::Everyone, false);
    let mut conversations = MockConversationRepository::new();
    conversations
        .expect_access()
        .returning(move |_, _| Ok(Some(found.clone())));
    let now = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let clock_now = now.clone();
    let mut clock = MockClock::new();
    clock
        .expect_now()
        .returning(move || at(clock_now.load(std::sync::atomic::Ordering::SeqCst)));
    let mut ids = MockEventIds::new();
    ids.expect_next_event_id()
        .returning(|| crate::EventId::new("e"));
    let mut ephemeral = MockEphemeralPublisher::new();
    ephemeral.expect_publish().times(2).returning(|event| {
        assert_eq!(event.payload.event_type(), "typing");
        Err(ChatError::Unavailable(anyhow::anyhow!(
            "realtime is down: still a success"
        )))
    });
    let service = ChatService::new(
        Ports {
            users: Arc::new(MockUserRepository::new()),
            conversations: Arc::new(conversations),
            messages: Arc::new(MockMessageRepository::new()),
            members: Arc::new(MockMemberRepository::new()),
            read_state: Arc::new(MockReadStateRepository::new()),
            reactions: Arc::new(MockReactionRepository::new()),
            search: Arc::new(MockSearchRepository::new()),
            clock: Arc::new(clock),
            event_ids: Arc::new(ids),
            ephemeral: Arc::new(ephemeral),
            tokens: Arc::new(MockRealtimeTokens::new()),
            previews: Arc::new(MockLinkPreviewRepository::new()),
            fetcher: Arc::new(MockLinkFetcher::new()),
            attachments: Arc::new(MockAttachmentRepository::new()),
            objects: Arc::new(MockObjectStore::new()),
            event_history: Arc::new(MockEventHistoryRepository::new()),
        },
        Limits::default(),
    );
    let conversation = ConversationId::new(5);
    for millis in [0, 500, 1_999, 2_000, 2_100] {
        now.store(millis, std::sync::atomic::Ordering::SeqCst);
        assert!(block_on(service.send_typing(caller(), conversation, None)).is_ok());
    }
}
