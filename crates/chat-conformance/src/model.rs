//! A model-based test of the events: random sequences of operations from
//! several users in one group, a client model fed only by what the store
//! published, and after every step a comparison of the model with what
//! get-message and list-messages answer.
//!
//! The client is the group's owner, as an app would be: it applies the
//! `chat:<id>` events in the order the store wrote them (live), and after a
//! simulated disconnect it misses them and catches up through
//! list-conversation-events from the `eventSeq` of the last event it saw.
//! Events are read back as the domain's typed events (by the event id the
//! store wrote), so the test is about what the events say, not how they are
//! rendered (the wire shapes have their own tests).
//!
//! Run with [`check_events_against_reads`]; proptest shrinks a failure to a
//! minimal sequence of steps.

use std::collections::BTreeMap;
use std::future::Future;

use chat_domain::ChatError;
use chat_domain::events::{ConversationChange, EventPayload, conversation_channel};
use chat_domain::message::{MessageView, ReactionAction};
use chat_domain::service::{EditMessage, ListMessages, SendMessage, UpdateConversation};
use chat_domain::user::Caller;
use chat_domain::{ConversationId, MessageId, OrgId};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::Harness;
use crate::cases::{group_of, text};

/// The users: 1 owns the group, 2 and 3 are members, 4 starts outside.
const USERS: usize = 4;
const EMOJI: [&str; 3] = ["👍", "🎉", ":eyes:"];

/// One thing a user does. Targets are indexes into the messages sent so
/// far (modulo their number), so every generated sequence is meaningful
/// and shrinks well.
#[derive(Debug, Clone)]
pub enum Step {
    Send {
        by: usize,
        link: bool,
    },
    Reply {
        by: usize,
        to: usize,
    },
    Quote {
        by: usize,
        of: usize,
    },
    /// By the message's author.
    Edit {
        target: usize,
        link: bool,
    },
    Delete {
        by: usize,
        target: usize,
    },
    React {
        by: usize,
        target: usize,
        emoji: usize,
    },
    Pin {
        by: usize,
        target: usize,
        pinned: bool,
    },
    /// Queued link previews arrive.
    PreviewsArrive,
    AddMember {
        user: usize,
    },
    RemoveMember {
        user: usize,
    },
    Rename {
        name: u8,
    },
    /// The client stops receiving live events.
    Disconnect,
    /// The client catches up through the event history.
    Reconnect,
}

fn step() -> impl Strategy<Value = Step> {
    let user = 0..USERS;
    let target = 0..64usize;
    prop_oneof![
        4 => (user.clone(), any::<bool>()).prop_map(|(by, link)| Step::Send { by, link }),
        3 => (user.clone(), target.clone()).prop_map(|(by, to)| Step::Reply { by, to }),
        1 => (user.clone(), target.clone()).prop_map(|(by, of)| Step::Quote { by, of }),
        2 => (target.clone(), any::<bool>()).prop_map(|(target, link)| Step::Edit { target, link }),
        1 => (user.clone(), target.clone()).prop_map(|(by, target)| Step::Delete { by, target }),
        4 => (user.clone(), target.clone(), 0..EMOJI.len())
            .prop_map(|(by, target, emoji)| Step::React { by, target, emoji }),
        2 => (user.clone(), target.clone(), any::<bool>())
            .prop_map(|(by, target, pinned)| Step::Pin { by, target, pinned }),
        1 => Just(Step::PreviewsArrive),
        1 => (1..USERS).prop_map(|user| Step::AddMember { user }),
        1 => (1..USERS).prop_map(|user| Step::RemoveMember { user }),
        1 => any::<u8>().prop_map(|name| Step::Rename { name }),
        1 => Just(Step::Disconnect),
        1 => Just(Step::Reconnect),
    ]
}

/// Runs `cases` random sequences of up to `max_steps` steps, each on a
/// fresh store made by `make`, and panics with the minimal failing
/// sequence when a model and the reads disagree.
pub fn check_events_against_reads<F, Fut>(make: F, cases: u32, max_steps: usize)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Harness>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        // Sequences are cheap to regenerate; no files in the source tree.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(step(), 1..max_steps), |steps| {
        runtime.block_on(async {
            let h = make().await;
            run(&h, &steps).await
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// What the test drives: the group, its users and the messages sent.
struct World {
    conversation: ConversationId,
    users: Vec<Caller>,
    sent: Vec<MessageId>,
}

impl World {
    fn target(&self, index: usize) -> Option<MessageId> {
        (!self.sent.is_empty()).then(|| self.sent[index % self.sent.len()])
    }
}

/// The client: everything it knows came from an event.
#[derive(Default)]
struct Client {
    messages: BTreeMap<MessageId, MessageView>,
    name: Option<String>,
    connected: bool,
    /// How far into the store's outbox the live connection has read.
    outbox_read: usize,
    /// The id of the last event applied, whose `eventSeq` a real client
    /// keeps from the envelope.
    last_event_id: Option<String>,
}

impl Client {
    fn apply(&mut self, payload: EventPayload) {
        match payload {
            EventPayload::MessageCreated(view)
            | EventPayload::MessageUpdated(view)
            | EventPayload::MessageDeleted(view) => {
                self.refresh_quotes_of(&view);
                self.messages.insert(view.message.id, view);
            }
            EventPayload::ReactionUpdated(update) => {
                if let Some(view) = self.messages.get_mut(&update.message_id) {
                    view.reaction_counts = update.reaction_counts;
                }
            }
            EventPayload::PinAdded(pin) => self.set_pinned(pin.message_id, true),
            EventPayload::PinRemoved(pin) => self.set_pinned(pin.message_id, false),
            EventPayload::Conversation(ConversationChange::Updated, view) => {
                self.name = view.conversation.name;
            }
            _ => {}
        }
    }

    fn set_pinned(&mut self, id: MessageId, pinned: bool) {
        if let Some(view) = self.messages.get_mut(&id) {
            view.pinned = pinned;
        }
    }

    /// A quote shows the quoted message as it is now: a client updates the
    /// quotes it holds from the quoted message's own events (no event is
    /// published for every message quoting it).
    fn refresh_quotes_of(&mut self, quoted: &MessageView) {
        for view in self.messages.values_mut() {
            if let Some(quote) = view.quoted.as_mut().filter(|q| q.id == quoted.message.id) {
                quote.deleted = quoted.message.is_deleted();
                quote.content = if quote.deleted {
                    String::new()
                } else {
                    quoted.message.content.clone()
                };
            }
        }
    }
}

async fn run(h: &Harness, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut users = Vec::with_capacity(USERS);
    for id in 1..=USERS {
        users.push(h.user(i64::try_from(id).unwrap(), 10).await);
    }
    let conversation = h
        .service
        .create_conversation(users[0], group_of(&users[1..3]))
        .await
        .unwrap()
        .value
        .conversation
        .id;
    let mut world = World {
        conversation,
        users,
        sent: Vec::new(),
    };
    let mut client = Client {
        connected: true,
        ..Client::default()
    };
    receive_live(h, &world, &mut client).await;
    for (n, step) in steps.iter().enumerate() {
        perform(h, &mut world, step).await?;
        match step {
            Step::Disconnect => {
                client.connected = false;
            }
            Step::Reconnect if !client.connected => {
                // Live events published meanwhile are lost to this client.
                client.outbox_read = h.published().await.len();
                catch_up(h, &world, &mut client).await;
                client.connected = true;
            }
            _ => {}
        }
        if client.connected {
            receive_live(h, &world, &mut client).await;
            compare(h, &world, &client)
                .await
                .map_err(|e| TestCaseError::fail(format!("after step {n} ({step:?}): {e}")))?;
        }
    }
    if !client.connected {
        client.outbox_read = h.published().await.len();
        catch_up(h, &world, &mut client).await;
        compare(h, &world, &client)
            .await
            .map_err(|e| TestCaseError::fail(format!("after catching up at the end: {e}")))?;
    }
    Ok(())
}

/// Carries out one step; refusals (a non-member, a deleted target, a full
/// pin list) are part of the game, a failure of the store is not.
async fn perform(h: &Harness, world: &mut World, step: &Step) -> Result<(), TestCaseError> {
    let s = &h.service;
    let conversation = world.conversation;
    let n = world.sent.len();
    let outcome: Result<(), ChatError> = match *step {
        Step::Send { by, link } => {
            let content = if link {
                format!("news {n} https://preview.test/p{n}")
            } else {
                format!("hello {n}")
            };
            send(world, s, by, text(conversation, &content)).await
        }
        Step::Reply { by, to } => match world.target(to) {
            Some(parent) => {
                let reply = SendMessage {
                    parent_id: Some(parent),
                    ..text(conversation, &format!("reply {n}"))
                };
                send(world, s, by, reply).await
            }
            None => Ok(()),
        },
        Step::Quote { by, of } => match world.target(of) {
            Some(quoted) => {
                let quote = SendMessage {
                    quoted_message_id: Some(quoted),
                    ..text(conversation, &format!("quoting {n}"))
                };
                send(world, s, by, quote).await
            }
            None => Ok(()),
        },
        Step::Edit { target, link } => match world.target(target) {
            Some(id) => {
                let author = s.get_message(world.users[0], id).await?.message.sender_id;
                let by = Caller {
                    user_id: author,
                    org_id: OrgId::new(10),
                };
                let content = if link {
                    format!("edited {n} https://preview.test/e{n}")
                } else {
                    format!("edited {n}")
                };
                s.edit_message(
                    by,
                    id,
                    EditMessage {
                        content: Some(content),
                        gif: None,
                        mentions: None,
                        mention_everyone: None,
                        metadata: None,
                    },
                )
                .await
                .map(drop)
            }
            None => Ok(()),
        },
        Step::Delete { by, target } => match world.target(target) {
            Some(id) => s.delete_message(world.users[by], id).await.map(drop),
            None => Ok(()),
        },
        Step::React { by, target, emoji } => match world.target(target) {
            Some(id) => s
                .react(
                    world.users[by],
                    id,
                    EMOJI[emoji].to_owned(),
                    ReactionAction::Toggle,
                )
                .await
                .map(drop),
            None => Ok(()),
        },
        Step::Pin { by, target, pinned } => match world.target(target) {
            Some(id) => s.set_pinned(world.users[by], id, pinned).await.map(drop),
            None => Ok(()),
        },
        Step::PreviewsArrive => s.unfurl_queued(10).await.map(drop),
        Step::AddMember { user } => s
            .add_members(
                world.users[0],
                conversation,
                vec![world.users[user].user_id],
            )
            .await
            .map(drop),
        Step::RemoveMember { user } => {
            s.remove_member(world.users[0], conversation, world.users[user].user_id)
                .await
        }
        Step::Rename { name } => s
            .update_conversation(
                world.users[0],
                conversation,
                UpdateConversation {
                    name: Some(Some(format!("crew {name}"))),
                    description: None,
                    avatar_file_id: None,
                    posting_policy: None,
                    metadata: None,
                },
            )
            .await
            .map(drop),
        Step::Disconnect | Step::Reconnect => Ok(()),
    };
    match outcome {
        Err(e @ (ChatError::Unavailable(_) | ChatError::Unexpected(_))) => Err(
            TestCaseError::fail(format!("{step:?} failed in the store: {e:?}")),
        ),
        _ => Ok(()),
    }
}

/// Sends as user `by` and remembers the message as a target of later steps.
async fn send(
    world: &mut World,
    service: &chat_domain::service::ChatService,
    by: usize,
    request: SendMessage,
) -> Result<(), ChatError> {
    let sent = service.send_message(world.users[by], request).await?;
    world.sent.push(sent.value.message.id);
    Ok(())
}

/// Applies the conversation's events written since the last read.
async fn receive_live(h: &Harness, world: &World, client: &mut Client) {
    let channel = conversation_channel(world.conversation);
    let published = h.published().await;
    for entry in &published[client.outbox_read..] {
        if entry.channels.contains(&channel) {
            let event = h.event(&entry.event_id).unwrap();
            client.apply(event.payload);
            client.last_event_id = Some(entry.event_id.clone());
        }
    }
    client.outbox_read = published.len();
}

/// Applies the kept events after the last one the client saw.
async fn catch_up(h: &Harness, world: &World, client: &mut Client) {
    let owner = world.users[0];
    let after = match &client.last_event_id {
        Some(id) => event_seq_of(h, world, id).await,
        None => 0,
    };
    let mut after = after;
    loop {
        let page = h
            .service
            .list_conversation_events(owner, world.conversation, after, Some(500))
            .await
            .unwrap();
        assert!(!page.reset, "nothing is pruned in this test");
        for recorded in &page.events {
            let event = h.event(recorded.event_id.as_str()).unwrap();
            client.apply(event.payload);
            client.last_event_id = Some(recorded.event_id.as_str().to_owned());
        }
        after = page.last_event_seq;
        if !page.has_more {
            break;
        }
    }
}

/// The `eventSeq` the envelope of event `id` carried.
async fn event_seq_of(h: &Harness, world: &World, id: &str) -> i64 {
    let mut after = 0;
    loop {
        let page = h
            .service
            .list_conversation_events(world.users[0], world.conversation, after, Some(500))
            .await
            .unwrap();
        if let Some(found) = page.events.iter().find(|e| e.event_id.as_str() == id) {
            return found.event_seq;
        }
        assert!(page.has_more, "event {id} is kept");
        after = page.last_event_seq;
    }
}

/// The model against get-message, list-messages (top level and every
/// thread) and get-conversation.
async fn compare(h: &Harness, world: &World, client: &Client) -> Result<(), String> {
    let owner = world.users[0];
    for id in &world.sent {
        let got = h
            .service
            .get_message(owner, *id)
            .await
            .map_err(|e| format!("get-message {id}: {e:?}"))?
            .for_everyone();
        match client.messages.get(id) {
            Some(known) if *known == got => {}
            Some(known) => {
                return Err(format!(
                    "message {id} from events differs from get-message:\n  events: {known:?}\n  get:    {got:?}"
                ));
            }
            None => return Err(format!("message {id} never reached the client")),
        }
    }
    let top_level = list(h, owner, world.conversation, None).await?;
    let mut listed = top_level.clone();
    for parent in top_level
        .iter()
        .filter(|m| m.message.thread_reply_count > 0)
    {
        listed.extend(list(h, owner, world.conversation, Some(parent.message.id)).await?);
    }
    let known: Vec<&MessageView> = client.messages.values().collect();
    let mut listed: Vec<MessageView> = listed.iter().map(MessageView::for_everyone).collect();
    listed.sort_by_key(|m| m.message.id);
    if listed.iter().collect::<Vec<_>>() != known {
        return Err(format!(
            "list-messages differs from the events:\n  events: {known:?}\n  lists:  {listed:?}"
        ));
    }
    let conversation = h
        .service
        .get_conversation(owner, world.conversation)
        .await
        .map_err(|e| format!("get-conversation: {e:?}"))?;
    if conversation.conversation.name != client.name {
        return Err(format!(
            "name from events {:?}, get-conversation {:?}",
            client.name, conversation.conversation.name
        ));
    }
    Ok(())
}

async fn list(
    h: &Harness,
    viewer: Caller,
    conversation: ConversationId,
    parent: Option<MessageId>,
) -> Result<Vec<MessageView>, String> {
    let page = h
        .service
        .list_messages(
            viewer,
            ListMessages {
                conversation_id: conversation,
                parent_id: parent,
                before: None,
                after: None,
                around: None,
                anchor: None,
                limit: Some(100),
                has_replies: None,
            },
        )
        .await
        .map_err(|e| format!("list-messages: {e:?}"))?;
    Ok(page.messages)
}
