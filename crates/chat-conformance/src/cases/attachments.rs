//! Cases for attachments (issue 6), with an in-memory object store.

use chat_domain::conversation::HistoryMode;
use chat_domain::service::UpdateConversation;
use chat_domain::{AttachmentId, ChatError};

use super::membership::{is_conflict, is_invalid, is_not_found};
use super::{dm_with, group_of, org_channel, send, start, text};
use crate::Harness;

/// A ticket for `bytes`, uploaded as a client would, and finalized.
async fn uploaded(
    h: &Harness,
    who: chat_domain::user::Caller,
    conversation: chat_domain::ConversationId,
    name: &str,
    bytes: &[u8],
) -> AttachmentId {
    let size = i64::try_from(bytes.len()).unwrap();
    let ticket = h
        .service
        .upload_ticket(who, conversation, name, "text/plain", size)
        .await
        .unwrap();
    h.objects.upload(&ticket.attachment.object_key, bytes);
    h.service
        .finalize_attachment(who, ticket.attachment.id, None)
        .await
        .unwrap()
        .id
}

pub async fn uploads_are_checked_then_sent(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let ticket = h
        .service
        .upload_ticket(ann, dm, "../notes?.txt", "Text/Plain", 5)
        .await
        .unwrap();
    assert_eq!(
        ticket.attachment.filename, "notes_.txt",
        "sanitized, kept for display"
    );
    assert!(!ticket.attachment.ready);
    assert!(ticket.upload_url.contains(&ticket.attachment.object_key));
    assert!(
        ticket
            .attachment
            .object_key
            .starts_with(&format!("conversations/{dm}/"))
    );

    let missing = h
        .service
        .finalize_attachment(ann, ticket.attachment.id, None)
        .await;
    assert!(is_conflict(&missing), "nothing uploaded yet: {missing:?}");
    h.objects.upload(&ticket.attachment.object_key, b"four");
    let wrong = h
        .service
        .finalize_attachment(ann, ticket.attachment.id, None)
        .await;
    assert!(is_conflict(&wrong), "four bytes, five announced: {wrong:?}");
    h.objects.upload(&ticket.attachment.object_key, b"hello");
    assert!(
        is_not_found(
            &h.service
                .finalize_attachment(bob, ticket.attachment.id, None)
                .await
        ),
        "someone else's"
    );
    let ready = h
        .service
        .finalize_attachment(ann, ticket.attachment.id, None)
        .await
        .unwrap();
    assert!(ready.ready && ready.url.is_some());

    let mut with_file = text(dm, "");
    with_file.attachment_ids = vec![ready.id];
    let sent = h
        .service
        .send_message(ann, with_file.clone())
        .await
        .unwrap()
        .value;
    assert_eq!(
        sent.attachments.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![ready.id],
        "a file alone is a message"
    );
    assert!(sent.attachments[0].url.is_some());
    let again = h.service.send_message(ann, with_file).await;
    assert!(
        is_invalid(&again, "attachmentIds"),
        "an attachment is sent once"
    );
    let seen = h.service.get_message(bob, sent.message.id).await.unwrap();
    assert_eq!(seen.attachments[0].filename, "notes_.txt");
}

pub async fn only_own_ready_attachments_of_the_conversation_can_be_sent(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let elsewhere = start(&h, ann, dm_with(ann)).await;
    let bobs = uploaded(&h, bob, dm, "b.txt", b"bob").await;
    let other_conversation = uploaded(&h, ann, elsewhere, "c.txt", b"cc").await;
    let pending = h
        .service
        .upload_ticket(ann, dm, "p.txt", "text/plain", 3)
        .await
        .unwrap()
        .attachment
        .id;
    for id in [
        bobs,
        other_conversation,
        pending,
        AttachmentId::new(987_654),
    ] {
        let mut request = text(dm, "x");
        request.attachment_ids = vec![id];
        assert!(
            is_invalid(&h.service.send_message(ann, request).await, "attachmentIds"),
            "{id}"
        );
    }
    let mut too_many = text(dm, "x");
    too_many.attachment_ids = (1..=11).map(AttachmentId::new).collect();
    assert!(is_invalid(
        &h.service.send_message(ann, too_many).await,
        "attachmentIds"
    ));
}

pub async fn finalize_can_attach_to_the_callers_message(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let mine = send(&h, ann, dm, "file follows").await.message.id;
    let theirs = send(&h, bob, dm, "not yours").await.message.id;
    let ticket = h
        .service
        .upload_ticket(ann, dm, "a.txt", "text/plain", 2)
        .await
        .unwrap();
    h.objects.upload(&ticket.attachment.object_key, b"ok");
    let refused = h
        .service
        .finalize_attachment(ann, ticket.attachment.id, Some(theirs))
        .await;
    assert!(is_not_found(&refused));
    let before = h.outbox().await.len();
    let linked = h
        .service
        .finalize_attachment(ann, ticket.attachment.id, Some(mine))
        .await
        .unwrap();
    assert_eq!(linked.message_id, Some(mine));
    let view = h.service.get_message(bob, mine).await.unwrap();
    assert_eq!(view.attachments.len(), 1);
    let outbox = h.outbox().await;
    assert_eq!(
        outbox[before..]
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>(),
        vec!["message.updated"]
    );
}

pub async fn attachment_lists_are_newest_first_within_history(h: Harness) {
    let owner = h.user(1, 10).await;
    let channel = start(&h, owner, org_channel("files", HistoryMode::SinceJoin)).await;
    let old = uploaded(&h, owner, channel, "old.txt", b"1").await;
    let mut request = text(channel, "old");
    request.attachment_ids = vec![old];
    h.service.send_message(owner, request).await.unwrap();
    let late = h.user(2, 10).await;
    let mut ids = Vec::new();
    for name in ["a.txt", "b.txt", "c.txt"] {
        let id = uploaded(&h, owner, channel, name, b"22").await;
        let mut request = text(channel, name);
        request.attachment_ids = vec![id];
        let sent = h.service.send_message(owner, request).await.unwrap().value;
        ids.push((id, sent.message.id));
    }
    h.service.delete_message(owner, ids[1].1).await.unwrap();
    let unsent = uploaded(&h, owner, channel, "unsent.txt", b"3").await;

    let first = h
        .service
        .list_attachments(late, channel, None, Some(1))
        .await
        .unwrap();
    let second = h
        .service
        .list_attachments(late, channel, first.next, Some(5))
        .await
        .unwrap();
    let listed: Vec<AttachmentId> = first
        .attachments
        .iter()
        .chain(&second.attachments)
        .map(|a| a.id)
        .collect();
    assert_eq!(
        listed,
        vec![ids[2].0, ids[0].0],
        "newest first; not deleted, not before joining, not unsent"
    );
    assert!(!listed.contains(&unsent) && !listed.contains(&old));
    let everything = h
        .service
        .list_attachments(owner, channel, None, None)
        .await
        .unwrap();
    assert_eq!(everything.attachments.len(), 3);
}

pub async fn upload_rules_hold(h: Harness) {
    let ann = h.user(1, 10).await;
    let eve = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[])).await;
    let huge = h
        .service
        .upload_ticket(
            ann,
            group,
            "big.bin",
            "application/octet-stream",
            100 * 1024 * 1024 + 1,
        )
        .await;
    assert!(matches!(huge, Err(ChatError::PayloadTooLarge(_))));
    assert!(
        h.service
            .upload_ticket(
                ann,
                group,
                "max.bin",
                "application/octet-stream",
                100 * 1024 * 1024
            )
            .await
            .is_ok()
    );
    assert!(is_invalid(
        &h.service
            .upload_ticket(ann, group, "x", "not a type", 1)
            .await,
        "contentType"
    ));
    assert!(is_invalid(
        &h.service
            .upload_ticket(ann, group, "/", "text/plain", 1)
            .await,
        "filename"
    ));
    assert!(is_not_found(
        &h.service
            .upload_ticket(eve, group, "x.txt", "text/plain", 1)
            .await
    ));
    h.service
        .archive_conversation(ann, group, true)
        .await
        .unwrap();
    assert!(is_conflict(
        &h.service
            .upload_ticket(ann, group, "x.txt", "text/plain", 1)
            .await
    ));
}

/// Only the caller's own ready upload to the conversation becomes its
/// avatar: an admin cannot publish another member's file (sent before
/// someone joined, or never sent at all) through `avatarUrl`.
pub async fn avatars_are_ready_attachments_of_the_conversation(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let other = start(&h, ann, group_of(&[])).await;
    let avatar = uploaded(&h, ann, group, "face.png", b"png").await;
    let foreign = uploaded(&h, ann, other, "face.png", b"png").await;
    let pending = h
        .service
        .upload_ticket(ann, group, "p.png", "image/png", 3)
        .await
        .unwrap()
        .attachment
        .id;
    let someone_elses = uploaded(&h, bob, group, "bobs-private.png", b"png").await;
    for bad in [foreign, pending, someone_elses] {
        let update = UpdateConversation {
            avatar_file_id: Some(Some(bad)),
            ..UpdateConversation::default()
        };
        assert!(is_invalid(
            &h.service.update_conversation(ann, group, update).await,
            "avatarFileId"
        ));
    }
    let update = UpdateConversation {
        avatar_file_id: Some(Some(avatar)),
        ..UpdateConversation::default()
    };
    let view = h
        .service
        .update_conversation(ann, group, update)
        .await
        .unwrap();
    assert_eq!(view.conversation.avatar_file_id, Some(avatar));
    assert!(
        view.avatar_url
            .as_deref()
            .is_some_and(|u| u.contains("face.png")),
        "{:?}",
        view.avatar_url
    );
}

pub async fn the_janitor_removes_uploads_never_finalized(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    let abandoned = h
        .service
        .upload_ticket(ann, dm, "gone.txt", "text/plain", 4)
        .await
        .unwrap()
        .attachment;
    h.objects.upload(&abandoned.object_key, b"half");
    let kept = uploaded(&h, ann, dm, "kept.txt", b"keep").await;
    // The manual clock moves a millisecond per reading: everything older
    // than "now" is stale at age 0.
    assert_eq!(h.service.sweep_pending_uploads(0, 10).await.unwrap(), 1);
    assert!(!h.objects.has(&abandoned.object_key), "the object goes");
    assert!(
        is_not_found(&h.service.finalize_attachment(ann, abandoned.id, None).await),
        "and the row"
    );
    let mut request = text(dm, "");
    request.attachment_ids = vec![kept];
    assert!(
        h.service.send_message(ann, request).await.is_ok(),
        "ready uploads stay"
    );
}
