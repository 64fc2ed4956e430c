//! Cases for message edits, deletes, reactions, pins and reports (issue 4).

use chat_domain::conversation::{HistoryMode, Role};
use chat_domain::message::{ReactionAction, ReportReason};
use chat_domain::service::{EditMessage, MarkRead};
use chat_domain::{ChatError, MessageId};

use super::membership::{is_conflict, is_forbidden, is_invalid, is_not_found};
use super::{contents, group_of, list, org_channel, send, start, text};
use crate::Harness;

pub async fn edits_are_for_the_author(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let eve = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let message = send(&h, ann, group, "draft").await.message;
    assert!(message.edited_at.is_none());
    let edit = |content: &str| EditMessage {
        content: Some(content.to_owned()),
        ..EditMessage::default()
    };
    assert!(is_forbidden(
        &h.service
            .edit_message(bob, message.id, edit("mine now"))
            .await
    ));
    assert!(is_not_found(
        &h.service.edit_message(eve, message.id, edit("x")).await
    ));
    let edited = h
        .service
        .edit_message(ann, message.id, edit("final"))
        .await
        .unwrap();
    assert_eq!(edited.message.content, "final");
    assert!(edited.message.edited_at.is_some());
    assert_eq!(edited.message.seq, message.seq, "an edit keeps its place");

    let empty = h.service.edit_message(ann, message.id, edit("")).await;
    assert!(is_invalid(&empty, "content"));
    let with_gif = EditMessage {
        content: Some(String::new()),
        gif: Some(Some("https://media.example/a.gif".to_owned())),
        ..EditMessage::default()
    };
    assert!(
        h.service
            .edit_message(ann, message.id, with_gif)
            .await
            .is_ok(),
        "a gif alone is content"
    );
    let outsider = EditMessage {
        mentions: Some(vec![eve.user_id]),
        ..EditMessage::default()
    };
    assert!(is_invalid(
        &h.service.edit_message(ann, message.id, outsider).await,
        "mentions"
    ));
    let mention = EditMessage {
        content: Some("hey bob".to_owned()),
        gif: Some(None),
        mentions: Some(vec![bob.user_id]),
        metadata: Some(Some(r#"{"v":2}"#.to_owned())),
        ..EditMessage::default()
    };
    let edited = h
        .service
        .edit_message(ann, message.id, mention)
        .await
        .unwrap();
    assert_eq!(
        (edited.message.gif, edited.message.mentions.clone()),
        (None, vec![bob.user_id])
    );
    let bob_view = h
        .service
        .get_conversation(bob, group)
        .await
        .unwrap()
        .membership
        .unwrap();
    assert_eq!(
        bob_view.mention_count, 1,
        "a mention added by an edit counts"
    );

    h.service.delete_message(ann, message.id).await.unwrap();
    assert!(is_conflict(
        &h.service
            .edit_message(ann, message.id, edit("zombie"))
            .await
    ));
}

pub async fn deletes_leave_tombstones(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let carl = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob, carl])).await;
    let mut mention = text(group, "secret for carl");
    mention.mentions = vec![carl.user_id];
    mention.metadata = Some(r#"{"k":1}"#.to_owned());
    let doomed = h
        .service
        .send_message(bob, mention)
        .await
        .unwrap()
        .value
        .message;
    let mut quoting = text(group, "quoting it");
    quoting.quoted_message_id = Some(doomed.id);
    let quote = h
        .service
        .send_message(ann, quoting)
        .await
        .unwrap()
        .value
        .message;
    h.service.set_pinned(ann, doomed.id, true).await.unwrap();
    let before = h
        .service
        .get_conversation(carl, group)
        .await
        .unwrap()
        .membership
        .unwrap();
    assert_eq!((before.unread_count, before.mention_count), (2, 1));

    assert!(
        is_forbidden(&h.service.delete_message(carl, doomed.id).await),
        "members delete only their own"
    );
    let deleted = h.service.delete_message(bob, doomed.id).await.unwrap();
    assert!(
        deleted.user_deleted_at.is_some(),
        "the author deleted their own"
    );
    let tombstone = &deleted.message.message;
    assert!(tombstone.deleted_at.is_some());
    assert_eq!(
        (
            tombstone.content.as_str(),
            tombstone.metadata.clone(),
            tombstone.mentions.clone()
        ),
        ("", None, vec![])
    );
    assert!(!deleted.message.pinned, "deleting unpins");

    let page = h.service.list_messages(carl, list(group)).await.unwrap();
    assert_eq!(
        contents(&page),
        vec!["", "quoting it"],
        "the tombstone keeps its place"
    );
    let quoted = h
        .service
        .get_message(carl, quote.id)
        .await
        .unwrap()
        .quoted
        .unwrap();
    assert!(quoted.deleted && quoted.content.is_empty());
    let after = h
        .service
        .get_conversation(carl, group)
        .await
        .unwrap()
        .membership
        .unwrap();
    assert_eq!(
        (after.unread_count, after.mention_count),
        (1, 0),
        "deleted messages are not unread"
    );
    assert_eq!(h.service.unread_totals(carl).await.unwrap().total_unread, 1);

    let by_admin = send(&h, carl, group, "moderate me").await.message.id;
    let removed = h.service.delete_message(ann, by_admin).await.unwrap();
    assert!(
        removed.user_deleted_at.is_none(),
        "an admin deleted someone else's"
    );
    let again = h.service.delete_message(ann, by_admin).await.unwrap();
    assert_eq!(
        again.message.message.deleted_at, removed.message.message.deleted_at,
        "idempotent"
    );
}

/// Reaction counts are the most used first; among equals, the first used
/// first (not the alphabetical order of the emoji), wherever a message is
/// read.
pub async fn reaction_counts_are_most_used_first_then_first_used(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let carl = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob, carl])).await;
    let message = send(&h, ann, group, "react to me").await.message.id;
    for (who, emoji) in [
        (ann, ":x:"),
        (bob, ":z:"),
        (carl, ":z:"),
        (ann, ":y:"),
        (carl, ":y:"),
        (bob, ":w:"),
    ] {
        h.service
            .react(who, message, emoji.to_owned(), ReactionAction::Add)
            .await
            .unwrap();
    }
    let expected: Vec<(String, i64)> = [(":z:", 2), (":y:", 2), (":x:", 1), (":w:", 1)]
        .iter()
        .map(|(emoji, count)| ((*emoji).to_owned(), *count))
        .collect();
    let got = h.service.get_message(bob, message).await.unwrap();
    assert_eq!(got.reaction_counts, expected);
    assert_eq!(got.user_reactions, vec![":z:".to_owned(), ":w:".to_owned()]);
    let listed = h.service.list_messages(carl, list(group)).await.unwrap();
    assert_eq!(listed.messages[0].reaction_counts, expected);
    assert_eq!(
        listed.messages[0].user_reactions,
        vec![":z:".to_owned(), ":y:".to_owned()]
    );
}

pub async fn reactions_add_remove_toggle_and_count(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let message = send(&h, ann, group, "react to me").await.message.id;
    let react = |who, emoji: &str, action| h.service.react(who, message, emoji.to_owned(), action);

    let added = react(ann, "👍", ReactionAction::Add).await.unwrap();
    assert_eq!(
        (added.delta, added.reaction_counts.clone()),
        (1, vec![("👍".to_owned(), 1)])
    );
    assert_eq!(
        react(ann, "👍", ReactionAction::Add).await.unwrap().delta,
        0,
        "adding twice is a no-op"
    );
    let both = react(bob, "👍", ReactionAction::Add).await.unwrap();
    assert_eq!(both.reaction_counts, vec![("👍".to_owned(), 2)]);
    let toggled = react(bob, ":tada:", ReactionAction::Toggle).await.unwrap();
    assert_eq!(toggled.delta, 1);
    assert_eq!(toggled.user_reactions.len(), 2);
    let toggled = react(bob, ":tada:", ReactionAction::Toggle).await.unwrap();
    assert_eq!(
        (toggled.delta, toggled.user_reactions.clone()),
        (-1, vec!["👍".to_owned()])
    );
    assert_eq!(
        react(ann, "❤️", ReactionAction::Remove)
            .await
            .unwrap()
            .delta,
        0
    );

    let seen_by_bob = h.service.get_message(bob, message).await.unwrap();
    assert_eq!(seen_by_bob.reaction_counts, vec![("👍".to_owned(), 2)]);
    assert_eq!(seen_by_bob.user_reactions, vec!["👍".to_owned()]);
    let listed = h.service.list_messages(ann, list(group)).await.unwrap();
    assert_eq!(listed.messages[0].user_reactions, vec!["👍".to_owned()]);

    let first = h
        .service
        .list_reactions(ann, message, "👍".to_owned(), None, Some(1))
        .await
        .unwrap();
    assert_eq!((first.total, first.reactions[0].user.id), (2, ann.user_id));
    let second = h
        .service
        .list_reactions(ann, message, "👍".to_owned(), first.next, Some(1))
        .await
        .unwrap();
    assert_eq!(second.reactions[0].user.id, bob.user_id);
    assert!(second.next.is_none());

    for bad in ["", "abcdefghijk"] {
        assert!(is_invalid(
            &react(ann, bad, ReactionAction::Add).await,
            "emoji"
        ));
    }
    assert!(
        react(ann, "0123456789", ReactionAction::Add).await.is_ok(),
        "ten characters"
    );

    // An outsider learns nothing: the message is not found, as one that
    // does not exist.
    let eve = h.user(3, 10).await;
    assert!(matches!(
        react(eve, "👍", ReactionAction::Add).await,
        Err(ChatError::NotFound("message"))
    ));
    let missing = MessageId::new(message.get() + 1_000);
    assert!(matches!(
        h.service
            .react(ann, missing, "👍".to_owned(), ReactionAction::Add)
            .await,
        Err(ChatError::NotFound("message"))
    ));
    let seen = h.service.get_message(ann, message).await.unwrap();
    assert_eq!(seen.reaction_counts.len(), 2, "nothing was added by them");
}

pub async fn a_message_holds_at_most_fifty_distinct_emoji(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let message = send(&h, ann, group, "many").await.message.id;
    for i in 0..50 {
        h.service
            .react(ann, message, format!(":e{i}:"), ReactionAction::Add)
            .await
            .unwrap();
    }
    let full = h
        .service
        .react(ann, message, ":e50:".to_owned(), ReactionAction::Add)
        .await;
    assert!(is_conflict(&full), "{full:?}");
    let existing = h
        .service
        .react(bob, message, ":e7:".to_owned(), ReactionAction::Add)
        .await
        .unwrap();
    assert_eq!(
        existing.delta, 1,
        "an emoji already there is no new distinct one"
    );
}

pub async fn pins_are_capped_and_listed_newest_first(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let mut ids = Vec::new();
    for i in 0..101 {
        ids.push(send(&h, ann, group, &format!("m{i}")).await.message.id);
    }
    for id in &ids[..100] {
        assert!(h.service.set_pinned(bob, *id, true).await.unwrap().pinned);
    }
    assert!(is_conflict(
        &h.service.set_pinned(ann, ids[100], true).await
    ));
    assert!(
        h.service
            .set_pinned(ann, ids[5], true)
            .await
            .unwrap()
            .pinned,
        "pinning twice is a no-op"
    );
    assert!(
        !h.service
            .set_pinned(ann, ids[99], false)
            .await
            .unwrap()
            .pinned
    );
    assert!(
        h.service.set_pinned(ann, ids[100], true).await.is_ok(),
        "room again"
    );

    let first = h
        .service
        .list_pins(bob, group, None, Some(2))
        .await
        .unwrap();
    let firsts: Vec<&str> = first
        .pins
        .iter()
        .map(|p| p.message.message.content.as_str())
        .collect();
    assert_eq!(firsts, vec!["m100", "m98"], "newest pin first");
    assert_eq!(first.pins[0].pinned_by, ann.user_id);
    let second = h
        .service
        .list_pins(bob, group, first.next, Some(2))
        .await
        .unwrap();
    let seconds: Vec<&str> = second
        .pins
        .iter()
        .map(|p| p.message.message.content.as_str())
        .collect();
    assert_eq!(seconds, vec!["m97", "m96"]);
}

pub async fn pins_and_reactions_respect_since_join_history(h: Harness) {
    let ann = h.user(1, 10).await;
    let channel = start(&h, ann, org_channel("news", HistoryMode::SinceJoin)).await;
    let old = send(&h, ann, channel, "old").await.message.id;
    h.service.set_pinned(ann, old, true).await.unwrap();
    let late = h.user(2, 10).await;
    let new = send(&h, ann, channel, "new").await.message.id;
    h.service.set_pinned(ann, new, true).await.unwrap();
    let pins = h
        .service
        .list_pins(late, channel, None, None)
        .await
        .unwrap();
    assert_eq!(
        pins.pins
            .iter()
            .map(|p| p.message.message.id)
            .collect::<Vec<_>>(),
        vec![new]
    );
    assert!(is_not_found(&h.service.set_pinned(late, old, false).await));
    // The rule the store applies to a reaction under the message's lock.
    assert!(is_not_found(
        &h.service
            .react(late, old, "👍".to_owned(), ReactionAction::Add)
            .await
    ));
    let reacted = h
        .service
        .react(late, new, "👍".to_owned(), ReactionAction::Add)
        .await
        .unwrap();
    assert_eq!(reacted.delta, 1);
}

pub async fn reports_are_once_per_reporter(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let eve = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let message = send(&h, ann, group, "rude").await.message.id;
    assert!(
        h.service
            .report_message(bob, message, ReportReason::Harassment, None)
            .await
            .unwrap()
    );
    assert!(
        !h.service
            .report_message(bob, message, ReportReason::Spam, None)
            .await
            .unwrap()
    );
    assert!(
        h.service
            .report_message(
                ann,
                message,
                ReportReason::Other,
                Some("self-report".to_owned())
            )
            .await
            .unwrap()
    );
    assert!(is_not_found(
        &h.service
            .report_message(eve, message, ReportReason::Spam, None)
            .await
    ));
    let long = h
        .service
        .report_message(ann, message, ReportReason::Other, Some("x".repeat(1_001)))
        .await;
    assert!(is_invalid(&long, "details"));
}

pub async fn archived_conversations_refuse_message_changes(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let message = send(&h, ann, group, "frozen").await.message.id;
    h.service
        .archive_conversation(ann, group, true)
        .await
        .unwrap();
    let edit = EditMessage {
        content: Some("x".to_owned()),
        ..EditMessage::default()
    };
    assert!(is_conflict(
        &h.service.edit_message(ann, message, edit).await
    ));
    assert!(is_conflict(&h.service.delete_message(ann, message).await));
    assert!(is_conflict(
        &h.service
            .react(bob, message, "👍".to_owned(), ReactionAction::Add)
            .await
    ));
    assert!(is_conflict(&h.service.set_pinned(ann, message, true).await));
    assert!(
        h.service
            .report_message(bob, message, ReportReason::Spam, None)
            .await
            .is_ok(),
        "reporting still works"
    );
    let read = MarkRead {
        conversation_id: group,
        message_id: message,
        mark_unread: false,
    };
    assert!(h.service.mark_read(bob, read).await.is_ok());
}

pub async fn admins_delete_but_members_do_not(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let carl = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob, carl])).await;
    let message = send(&h, carl, group, "mine").await.message.id;
    assert!(is_forbidden(&h.service.delete_message(bob, message).await));
    h.service
        .change_member_role(ann, group, bob.user_id, Role::Admin)
        .await
        .unwrap();
    assert!(h.service.delete_message(bob, message).await.is_ok());
}

pub async fn message_change_events_are_written(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let message = send(&h, ann, group, "x").await.message.id;
    let edit = EditMessage {
        content: Some("y".to_owned()),
        ..EditMessage::default()
    };
    h.service.edit_message(ann, message, edit).await.unwrap();
    h.service
        .react(bob, message, "👍".to_owned(), ReactionAction::Add)
        .await
        .unwrap();
    h.service
        .react(bob, message, "👍".to_owned(), ReactionAction::Add)
        .await
        .unwrap();
    h.service
        .react(bob, message, "👍".to_owned(), ReactionAction::Remove)
        .await
        .unwrap();
    h.service.set_pinned(ann, message, true).await.unwrap();
    h.service.set_pinned(ann, message, true).await.unwrap();
    h.service.set_pinned(ann, message, false).await.unwrap();
    h.service
        .report_message(bob, message, ReportReason::Spam, None)
        .await
        .unwrap();
    h.service.delete_message(ann, message).await.unwrap();
    h.service.delete_message(ann, message).await.unwrap();
    let outbox = h.outbox().await;
    let types: Vec<&str> = outbox.iter().skip(3).map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "message.updated",
            "reaction.updated",
            "reaction.updated",
            "pin.added",
            "pin.removed",
            "message.deleted"
        ],
        "no-ops write nothing; reports are not broadcast"
    );
    let chat = format!("chat:{group}");
    assert!(
        outbox
            .iter()
            .skip(3)
            .all(|(_, channels)| channels == &vec![chat.clone()])
    );
}

pub async fn thread_replies_update_their_parent_in_events(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let parent = send(&h, ann, group, "parent").await.message.id;
    let mut reply = text(group, "reply");
    reply.parent_id = Some(parent);
    h.service.send_message(bob, reply).await.unwrap();
    let outbox = h.outbox().await;
    let types: Vec<&str> = outbox.iter().skip(3).map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        vec!["message.created", "message.updated"],
        "the reply, then its parent's new counts"
    );
    let parent_view = h.service.get_message(ann, parent).await.unwrap();
    assert_eq!(parent_view.message.thread_reply_count, 1);
}

/// Replies to a message while others react to it, pin it and edit it: each
/// of these locks the message and its conversation, and when two take them
/// in opposite orders, the database refuses one of them as a deadlock. Every
/// request here must succeed, and the parent must count every reply.
pub async fn replies_reactions_pins_and_edits_of_one_message_run_side_by_side(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let parent = send(&h, ann, group, "the parent").await.message.id;
    let requests = (0..48).map(|i| {
        let service = h.service.clone();
        tokio::spawn(async move {
            match i % 4 {
                0 => service
                    .send_message(
                        bob,
                        chat_domain::service::SendMessage {
                            parent_id: Some(parent),
                            ..text(group, &format!("reply {i}"))
                        },
                    )
                    .await
                    .map(drop),
                1 => service
                    .react(ann, parent, format!("e{}", i % 5), ReactionAction::Toggle)
                    .await
                    .map(drop),
                2 => service.set_pinned(bob, parent, i % 8 == 2).await.map(drop),
                _ => service
                    .edit_message(
                        ann,
                        parent,
                        EditMessage {
                            content: Some(format!("the parent, edit {i}")),
                            ..EditMessage::default()
                        },
                    )
                    .await
                    .map(drop),
            }
        })
    });
    for handle in requests.collect::<Vec<_>>() {
        let outcome = handle.await.unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    let parent = h.service.get_message(ann, parent).await.unwrap();
    assert_eq!(parent.message.thread_reply_count, 12);
}
