//! Cases for catching up after a disconnect (issue 15): numbered event
//! streams, their kept history, and sync.

use chat_domain::ConversationId;
use chat_domain::catch_up::{EventPage, SyncPage, SyncPosition};
use chat_domain::conversation::{ConversationKind, HistoryMode, PreferencesPatch};
use chat_domain::message::ReactionAction;
use chat_domain::service::{CreateConversation, EditMessage, MarkRead, UpdateConversation};
use chat_domain::user::Caller;

use super::membership::{is_invalid, is_not_found};
use super::{create, group_of, send, start};
use crate::Harness;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn events(h: &Harness, who: Caller, id: ConversationId, after: i64) -> EventPage {
    h.service
        .list_conversation_events(who, id, after, Some(500))
        .await
        .unwrap()
}

fn seqs(page: &EventPage) -> Vec<i64> {
    page.events.iter().map(|e| e.event_seq).collect()
}

fn types(page: &EventPage) -> Vec<&str> {
    page.events.iter().map(|e| e.event_type.as_str()).collect()
}

/// Every event of a page carries its number in its envelope, as published.
fn assert_numbered_envelopes(page: &EventPage) {
    for event in &page.events {
        // Stores may render JSON with or without spaces.
        let compact = event.envelope.replace(' ', "");
        assert!(
            compact.contains(&format!("\"eventSeq\":{}", event.event_seq)),
            "{}",
            event.envelope
        );
        assert!(event.envelope.contains(event.event_id.as_str()));
    }
}

fn since_join_channel(members: &[Caller]) -> CreateConversation {
    CreateConversation {
        name: Some("since-join".to_owned()),
        member_ids: members.iter().map(|m| m.user_id).collect(),
        history_mode: Some(HistoryMode::SinceJoin),
        ..create(ConversationKind::Channel)
    }
}

async fn sync_all(h: &Harness, who: Caller, position: Option<SyncPosition>) -> SyncPage {
    h.service.sync(who, position, Some(500)).await.unwrap()
}

pub async fn conversation_events_are_numbered_and_kept(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let first = send(&h, ann, group, "one").await;
    send(&h, bob, group, "two").await;
    let edit = EditMessage {
        content: Some("one, edited".to_owned()),
        ..EditMessage::default()
    };
    h.service
        .edit_message(ann, first.message.id, edit)
        .await
        .unwrap();
    h.service
        .react(bob, first.message.id, "👍".to_owned(), ReactionAction::Add)
        .await
        .unwrap();
    h.service
        .set_pinned(ann, first.message.id, true)
        .await
        .unwrap();
    let rename = UpdateConversation {
        name: Some(Some("renamed".to_owned())),
        ..UpdateConversation::default()
    };
    h.service
        .update_conversation(ann, group, rename)
        .await
        .unwrap();
    h.service
        .delete_message(ann, first.message.id)
        .await
        .unwrap();

    let page = events(&h, bob, group, 0).await;
    assert_eq!(
        types(&page),
        vec![
            "message.created",
            "message.created",
            "message.updated",
            "reaction.updated",
            "pin.added",
            "conversation.updated",
            "message.deleted",
        ]
    );
    assert_eq!(
        seqs(&page),
        (1..=7).collect::<Vec<i64>>(),
        "gap-free from 1"
    );
    assert!(!page.reset && !page.has_more);
    assert_eq!(page.last_event_seq, 7);
    assert_numbered_envelopes(&page);
    let conversation = h.service.get_conversation(bob, group).await.unwrap();
    assert_eq!(conversation.conversation.last_event_seq, 7);

    // Paging: two at a time, then from where the page ended.
    let first_page = h
        .service
        .list_conversation_events(bob, group, 0, Some(2))
        .await
        .unwrap();
    assert_eq!(seqs(&first_page), vec![1, 2]);
    assert!(first_page.has_more);
    assert_eq!(first_page.last_event_seq, 2);
    let rest = events(&h, bob, group, first_page.last_event_seq).await;
    assert_eq!(seqs(&rest), (3..=7).collect::<Vec<i64>>());
    // Caught up: nothing more, and the position stays.
    let caught_up = events(&h, bob, group, 7).await;
    assert!(caught_up.events.is_empty() && !caught_up.has_more && !caught_up.reset);
    assert_eq!(caught_up.last_event_seq, 7);
}

pub async fn event_reads_are_checked(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let eve = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let list = |who, after, limit| h.service.list_conversation_events(who, group, after, limit);
    assert!(is_not_found(&list(eve, 0, None).await), "readers only");
    assert!(is_not_found(
        &h.service
            .list_conversation_events(ann, ConversationId::new(999_999), 0, None)
            .await
    ));
    assert!(is_invalid(&list(ann, -1, None).await, "after"));
    assert!(is_invalid(&list(ann, 0, Some(0)).await, "limit"));
    assert!(is_invalid(&list(ann, 0, Some(501)).await, "limit"));
    assert!(list(ann, 0, Some(500)).await.is_ok());
    assert!(is_invalid(
        &h.service.list_personal_events(ann, -5, None).await,
        "after"
    ));
    assert!(is_invalid(
        &h.service.sync(ann, None, Some(501)).await,
        "limit"
    ));
}

/// Writers racing on one conversation still leave 1, 2, 3, ... behind:
/// the number is taken under the conversation's lock, in commit order.
pub async fn concurrent_writers_keep_the_event_sequence_gap_free(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let target = send(&h, ann, group, "react to me").await.message.id;
    let writes = (0..24).map(|i| {
        let service = h.service.clone();
        let who = if i % 2 == 0 { ann } else { bob };
        tokio::spawn(async move {
            if i % 3 == 0 {
                let emoji = format!("e{i}");
                service
                    .react(who, target, emoji, ReactionAction::Add)
                    .await
                    .map(|_| ())
            } else {
                service
                    .send_message(who, super::text(group, &format!("m{i}")))
                    .await
                    .map(|_| ())
            }
        })
    });
    for handle in writes.collect::<Vec<_>>() {
        handle.await.unwrap().unwrap();
    }
    let page = events(&h, ann, group, 0).await;
    assert_eq!(seqs(&page), (1..=25).collect::<Vec<i64>>());
    let conversation = h.service.get_conversation(ann, group).await.unwrap();
    assert_eq!(conversation.conversation.last_event_seq, 25);
}

/// A member added later to a `sinceJoin` conversation reads its events
/// from their joining on, and never one about a message from before; once
/// removed, they read nothing more and sync says so.
pub async fn members_see_events_from_joining_until_removal(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let carl = h.user(3, 10).await;
    let channel = start(&h, ann, since_join_channel(&[bob])).await;
    let before = send(&h, ann, channel, "before carl").await;
    h.service
        .add_members(ann, channel, vec![carl.user_id])
        .await
        .unwrap();
    let carls_cursor = sync_all(&h, carl, None).await.next;
    send(&h, bob, channel, "after carl").await;
    // An edit of a message carl cannot see is not carl's to read.
    let edit = EditMessage {
        content: Some("before carl, edited".to_owned()),
        ..EditMessage::default()
    };
    h.service
        .edit_message(ann, before.message.id, edit)
        .await
        .unwrap();

    let annes = events(&h, ann, channel, 0).await;
    assert_eq!(
        types(&annes),
        vec![
            "message.created",
            "member.added",
            "message.created",
            "message.updated"
        ]
    );
    let carls = events(&h, carl, channel, 0).await;
    assert_eq!(types(&carls), vec!["member.added", "message.created"]);
    assert_eq!(seqs(&carls), vec![2, 3]);
    assert!(!carls.reset);
    assert_eq!(carls.last_event_seq, 4, "caught up past the hidden edit");

    h.service
        .remove_member(ann, channel, carl.user_id)
        .await
        .unwrap();
    send(&h, ann, channel, "after removal").await;
    assert!(is_not_found(
        &h.service
            .list_conversation_events(carl, channel, 0, None)
            .await
    ));
    let synced = sync_all(&h, carl, Some(carls_cursor)).await;
    assert!(
        synced
            .entries
            .iter()
            .any(|e| e.conversation_id == channel && e.removed),
        "sync says carl was removed: {:?}",
        synced.entries
    );
    // carl's sidebar learnt it on the personal stream too.
    let personal = h.service.list_personal_events(carl, 0, None).await.unwrap();
    assert_eq!(
        types(&personal),
        vec!["conversation.added", "conversation.removed"]
    );
}

/// The personal stream: what concerns the user alone, numbered per user;
/// `unread.updated` is derived and not numbered.
pub async fn personal_events_are_numbered_per_user(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let sent = send(&h, ann, group, "hi").await;
    h.service
        .mark_read(
            bob,
            MarkRead {
                conversation_id: group,
                message_id: sent.message.id,
                mark_unread: false,
            },
        )
        .await
        .unwrap();
    let star = PreferencesPatch {
        starred: Some(true),
        mute_until: None,
        notify_level: None,
    };
    h.service
        .update_preferences(bob, group, star)
        .await
        .unwrap();
    let second = start(&h, ann, group_of(&[bob])).await;

    let page = h.service.list_personal_events(bob, 0, None).await.unwrap();
    assert_eq!(
        types(&page),
        vec![
            "conversation.added",
            "read.updated",
            "preferences.updated",
            "conversation.added"
        ]
    );
    assert_eq!(seqs(&page), vec![1, 2, 3, 4]);
    assert_numbered_envelopes(&page);
    let after_two = h
        .service
        .list_personal_events(bob, 2, Some(1))
        .await
        .unwrap();
    assert_eq!(seqs(&after_two), vec![3]);
    assert!(after_two.has_more);
    // ann's stream is her own: two conversations added.
    let annes = h.service.list_personal_events(ann, 0, None).await.unwrap();
    assert_eq!(seqs(&annes), vec![1, 2]);
    let synced = sync_all(&h, bob, None).await;
    assert_eq!(synced.personal_event_seq, 4);
    let ids: Vec<ConversationId> = synced.entries.iter().map(|e| e.conversation_id).collect();
    assert_eq!(ids, vec![group, second]);
}

/// Sync lists every conversation that changed since the cursor (events or
/// the caller's own membership), each once, in pages.
pub async fn sync_reports_what_changed_since_the_cursor(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let quiet = start(&h, ann, group_of(&[bob])).await;
    let busy = start(&h, ann, group_of(&[bob])).await;
    let read_elsewhere = start(&h, ann, group_of(&[bob])).await;
    let gone = start(&h, ann, group_of(&[bob])).await;
    let hello = send(&h, ann, read_elsewhere, "hello").await;

    let full = sync_all(&h, bob, None).await;
    let listed: Vec<ConversationId> = full.entries.iter().map(|e| e.conversation_id).collect();
    assert_eq!(listed, vec![quiet, busy, read_elsewhere, gone]);
    assert!(full.entries.iter().all(|e| !e.removed));
    assert_eq!(full.entries[2].last_event_seq, 1);
    assert!(!full.has_more);

    // While away: a message, the read cursor moved on another device, a
    // conversation deleted, a new one.
    send(&h, ann, busy, "news").await;
    h.service
        .mark_read(
            bob,
            MarkRead {
                conversation_id: read_elsewhere,
                message_id: hello.message.id,
                mark_unread: false,
            },
        )
        .await
        .unwrap();
    h.service.delete_conversation(ann, gone).await.unwrap();
    let fresh = start(&h, ann, group_of(&[bob])).await;

    let since = sync_all(&h, bob, Some(full.next)).await;
    let find = |id| since.entries.iter().find(|e| e.conversation_id == id);
    assert_eq!(
        find(busy).map(|e| (e.last_event_seq, e.removed)),
        Some((1, false))
    );
    assert!(find(read_elsewhere).is_some_and(|e| !e.removed));
    assert!(find(gone).is_some_and(|e| e.removed));
    assert!(find(fresh).is_some_and(|e| !e.removed));
    let mut ids: Vec<i64> = since
        .entries
        .iter()
        .map(|e| e.conversation_id.get())
        .collect();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "each once");

    // Pages of one: the chain lists all four current conversations once,
    // and its last cursor starts after everything it saw.
    let mut seen = Vec::new();
    let mut position = None;
    loop {
        let page = h.service.sync(bob, position, Some(1)).await.unwrap();
        seen.extend(page.entries.iter().map(|e| e.conversation_id));
        position = Some(page.next);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seen, vec![quiet, busy, read_elsewhere, fresh]);
    send(&h, ann, quiet, "later").await;
    let after_chain = sync_all(&h, bob, position).await;
    assert!(
        after_chain
            .entries
            .iter()
            .any(|e| e.conversation_id == quiet && e.last_event_seq == 1)
    );
}

/// Past the retention period events are pruned; a reader older than what
/// is kept is told to reload, and an old sync cursor gets a full sync.
pub async fn readers_older_than_what_is_kept_reload(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    send(&h, ann, group, "old one").await;
    send(&h, ann, group, "old two").await;
    let old_cursor = sync_all(&h, bob, None).await.next;
    h.advance_clock(31 * DAY_MS);
    send(&h, ann, group, "new").await;
    let mut pruned = 0;
    loop {
        let n = h.service.prune_event_history(1).await.unwrap();
        pruned += n;
        if n == 0 {
            break;
        }
    }
    // Two conversation events and bob's first personal event (and ann's).
    assert!(pruned >= 3, "pruned {pruned}");

    let stale = events(&h, bob, group, 0).await;
    assert!(stale.reset);
    assert!(stale.events.is_empty());
    assert_eq!(stale.last_event_seq, 3);
    // A reader that had seen event 2 missed nothing that was pruned.
    let current = events(&h, bob, group, 2).await;
    assert!(!current.reset);
    assert_eq!(seqs(&current), vec![3]);
    let personal = h.service.list_personal_events(bob, 0, None).await.unwrap();
    assert!(personal.reset);

    let full_again = sync_all(&h, bob, Some(old_cursor)).await;
    let ids: Vec<ConversationId> = full_again
        .entries
        .iter()
        .map(|e| e.conversation_id)
        .collect();
    assert_eq!(ids, vec![group], "a cursor past retention is a full sync");
}

/// A user's stream stays gap-free when changes in different conversations
/// (each under its own conversation lock) number it at once.
pub async fn concurrent_writers_keep_a_personal_sequence_gap_free(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let mut groups = Vec::new();
    for _ in 0..12 {
        groups.push(start(&h, ann, group_of(&[bob])).await);
    }
    let writes = groups.iter().map(|group| {
        let service = h.service.clone();
        let group = *group;
        tokio::spawn(async move {
            let star = PreferencesPatch {
                starred: Some(true),
                mute_until: None,
                notify_level: None,
            };
            service
                .update_preferences(bob, group, star)
                .await
                .map(|_| ())
        })
    });
    for handle in writes.collect::<Vec<_>>() {
        handle.await.unwrap().unwrap();
    }
    let page = h.service.list_personal_events(bob, 0, None).await.unwrap();
    assert_eq!(seqs(&page), (1..=24).collect::<Vec<i64>>());
    assert_eq!(
        types(&page)
            .iter()
            .filter(|t| **t == "preferences.updated")
            .count(),
        12
    );
}
