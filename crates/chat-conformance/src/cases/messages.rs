//! Cases for sending, numbering, paging and threading messages (issue 3).

use chat_domain::ChatError;
use chat_domain::conversation::HistoryMode;
use chat_domain::service::{Anchor, ListMessages, MarkRead};

use crate::Harness;

use super::*;

pub async fn since_join_members_see_only_later_messages(h: Harness) {
    let owner = h.user(1, 10).await;
    let channel = start(&h, owner, org_channel("news", HistoryMode::SinceJoin)).await;
    let before = send(&h, owner, channel, "before you came").await;
    let late = h.user(2, 10).await;
    send(&h, owner, channel, "after you came").await;

    let page = h.service.list_messages(late, list(channel)).await.unwrap();
    assert_eq!(contents(&page), vec!["after you came"]);
    assert!(!page.has_older);
    let hidden = h.service.get_message(late, before.message.id).await;
    assert!(matches!(hidden, Err(ChatError::NotFound(_))));
    let view = h.service.get_conversation(late, channel).await.unwrap();
    assert_eq!(view.membership.unwrap().unread_count, 1);
    let owner_page = h.service.list_messages(owner, list(channel)).await.unwrap();
    assert_eq!(owner_page.messages.len(), 2, "the creator sees everything");
}

pub async fn a_full_newest_page_stops_at_the_history_floor(h: Harness) {
    let owner = h.user(1, 10).await;
    let channel = start(&h, owner, org_channel("news", HistoryMode::SinceJoin)).await;
    send(&h, owner, channel, "before you came").await;
    let late = h.user(2, 10).await;
    for i in 0..3 {
        send(&h, owner, channel, &format!("after {i}")).await;
    }
    let mut request = list(channel);
    request.limit = Some(3);
    let page = h
        .service
        .list_messages(late, request.clone())
        .await
        .unwrap();
    assert_eq!(contents(&page), vec!["after 0", "after 1", "after 2"]);
    assert!(
        !page.has_older,
        "what lies before the floor is not older history"
    );

    send(&h, owner, channel, "after 3").await;
    let page = h
        .service
        .list_messages(late, request.clone())
        .await
        .unwrap();
    assert_eq!(contents(&page), vec!["after 1", "after 2", "after 3"]);
    assert!(page.has_older);

    request.anchor = Some(Anchor::Newest);
    let named = h.service.list_messages(late, request).await.unwrap();
    assert_eq!(
        contents(&named),
        contents(&page),
        "anchor newest is the default"
    );
    assert!(named.has_older);
}

pub async fn seq_is_gap_free_and_client_msg_id_is_idempotent(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let mut request = text(dm, "once");
    request.client_msg_id = Some("c-1".to_owned());
    let first = h.service.send_message(ann, request.clone()).await.unwrap();
    let retry = h.service.send_message(ann, request.clone()).await.unwrap();
    assert!(first.is_new && !retry.is_new);
    assert_eq!(retry.value.message.id, first.value.message.id);
    // The same client id from someone else is their own message.
    let from_bob = h.service.send_message(bob, request).await.unwrap();
    assert!(from_bob.is_new);
    let third = send(&h, ann, dm, "three").await;
    let seqs = [
        first.value.message.seq,
        from_bob.value.message.seq,
        third.message.seq,
    ];
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(
        h.service
            .get_conversation(ann, dm)
            .await
            .unwrap()
            .conversation
            .last_seq,
        3
    );
}

pub async fn concurrent_sends_get_distinct_gap_free_seqs(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let sends = (0..40).map(|i| {
        let service = h.service.clone();
        let from = if i % 2 == 0 { ann } else { bob };
        tokio::spawn(async move {
            let mut request = text(dm, &format!("m{i}"));
            request.client_msg_id = Some(format!("c{i}"));
            service
                .send_message(from, request)
                .await
                .map(|s| s.value.message.seq)
        })
    });
    let mut seqs = Vec::new();
    for handle in sends.collect::<Vec<_>>() {
        seqs.push(handle.await.unwrap().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
}

pub async fn concurrent_retries_of_one_send_make_one_message(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let attempts = (0..8).map(|_| {
        let service = h.service.clone();
        tokio::spawn(async move {
            let mut request = text(dm, "once, however often it is sent");
            request.client_msg_id = Some("flaky-1".to_owned());
            service.send_message(ann, request).await
        })
    });
    let mut answers = Vec::new();
    for handle in attempts.collect::<Vec<_>>() {
        answers.push(handle.await.unwrap().unwrap());
    }
    assert_eq!(answers.iter().filter(|a| a.is_new).count(), 1);
    let id = answers[0].value.message.id;
    assert!(answers.iter().all(|a| a.value.message.id == id));
    assert_eq!(answers[0].value.message.seq, 1);
    let next = send(&h, ann, dm, "next").await;
    assert_eq!(next.message.seq, 2, "the lost races returned their seq");
    let created = h
        .outbox()
        .await
        .into_iter()
        .filter(|(event, _)| event == "message.created")
        .count();
    assert_eq!(created, 2, "one message.created per message");
}

pub async fn message_pages_move_in_both_directions(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    let mut ids = Vec::new();
    for i in 1..=7 {
        ids.push(send(&h, ann, dm, &i.to_string()).await.message.id);
    }
    let page = |f: fn(&mut ListMessages)| {
        let mut request = list(dm);
        request.limit = Some(3);
        f(&mut request);
        request
    };
    let newest = h.service.list_messages(ann, page(|_| {})).await.unwrap();
    assert_eq!(contents(&newest), vec!["5", "6", "7"]);
    assert!(newest.has_older && !newest.has_newer);

    let mut older = page(|_| {});
    older.before = Some(ids[4]);
    let older = h.service.list_messages(ann, older).await.unwrap();
    assert_eq!(contents(&older), vec!["2", "3", "4"]);
    assert!(older.has_older && older.has_newer);

    let oldest = h
        .service
        .list_messages(ann, page(|r| r.anchor = Some(Anchor::Oldest)))
        .await
        .unwrap();
    assert_eq!(contents(&oldest), vec!["1", "2", "3"]);
    assert!(!oldest.has_older && oldest.has_newer);

    let mut newer = page(|_| {});
    newer.after = Some(ids[4]);
    let newer = h.service.list_messages(ann, newer).await.unwrap();
    assert_eq!(contents(&newer), vec!["6", "7"]);
    assert!(newer.has_older && !newer.has_newer);

    let mut two = page(|_| {});
    two.before = Some(ids[0]);
    two.after = Some(ids[1]);
    assert!(matches!(
        h.service.list_messages(ann, two).await,
        Err(ChatError::Validation { .. })
    ));
    let mut huge = list(dm);
    huge.limit = Some(101);
    assert!(matches!(
        h.service.list_messages(ann, huge).await,
        Err(ChatError::Validation { .. })
    ));
}

pub async fn around_and_first_unread_contain_their_message(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let mut ids = Vec::new();
    for i in 1..=9 {
        ids.push(send(&h, ann, dm, &i.to_string()).await.message.id);
    }
    let mut around = list(dm);
    around.around = Some(ids[4]);
    around.limit = Some(3);
    let page = h.service.list_messages(ann, around).await.unwrap();
    assert_eq!(contents(&page), vec!["4", "5", "6"]);
    assert!(page.has_older && page.has_newer);

    let mark = MarkRead {
        conversation_id: dm,
        message_id: ids[5],
        mark_unread: false,
    };
    h.service.mark_read(bob, mark).await.unwrap();
    let mut unread = list(dm);
    unread.anchor = Some(Anchor::FirstUnread);
    unread.limit = Some(4);
    let page = h.service.list_messages(bob, unread.clone()).await.unwrap();
    assert!(contents(&page).contains(&"7"), "{:?}", contents(&page));

    let all_read = MarkRead {
        conversation_id: dm,
        message_id: ids[8],
        mark_unread: false,
    };
    h.service.mark_read(bob, all_read).await.unwrap();
    let page = h.service.list_messages(bob, unread).await.unwrap();
    assert_eq!(
        contents(&page),
        vec!["6", "7", "8", "9"],
        "nothing unread: the newest page"
    );
}

pub async fn threads_are_one_level_and_counted_on_the_parent(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    let parent = send(&h, ann, dm, "parent").await.message.id;
    let mut reply = text(dm, "reply");
    reply.parent_id = Some(parent);
    let reply = h.service.send_message(ann, reply).await.unwrap().value;
    assert_eq!(reply.message.seq, 2, "replies take a seq too");

    let mut nested = text(dm, "nested");
    nested.parent_id = Some(reply.message.id);
    let refused = h.service.send_message(ann, nested).await;
    assert!(matches!(refused, Err(ChatError::Validation { ref field, .. }) if field == "parentId"));

    let parent_view = h.service.get_message(ann, parent).await.unwrap();
    assert_eq!(parent_view.message.thread_reply_count, 1);
    assert_eq!(
        parent_view.message.last_reply_at,
        Some(reply.message.created_at)
    );

    let top = h.service.list_messages(ann, list(dm)).await.unwrap();
    assert_eq!(contents(&top), vec!["parent"]);
    let mut thread = list(dm);
    thread.parent_id = Some(parent);
    let thread_page = h.service.list_messages(ann, thread.clone()).await.unwrap();
    assert_eq!(contents(&thread_page), vec!["reply"]);
    thread.has_replies = Some(true);
    let empty = h.service.list_messages(ann, thread).await.unwrap();
    assert!(empty.messages.is_empty() && empty.notice.is_some());

    let mut with_replies = list(dm);
    with_replies.has_replies = Some(true);
    send(&h, ann, dm, "lonely").await;
    let page = h.service.list_messages(ann, with_replies).await.unwrap();
    assert_eq!(contents(&page), vec!["parent"]);
}

pub async fn quotes_and_mentions_are_checked(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let eve = h.user(3, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let other = start(&h, ann, dm_with(eve)).await;
    let quoted = send(&h, bob, dm, "quote me").await.message.id;
    let elsewhere = send(&h, eve, other, "not here").await.message.id;

    let mut quoting = text(dm, "quoting");
    quoting.quoted_message_id = Some(quoted);
    let sent = h.service.send_message(ann, quoting).await.unwrap().value;
    let embedded = sent.quoted.unwrap();
    assert_eq!(
        (embedded.id, embedded.content.as_str(), embedded.deleted),
        (quoted, "quote me", false)
    );
    assert_eq!(embedded.sender.id, bob.user_id);

    let mut foreign_quote = text(dm, "x");
    foreign_quote.quoted_message_id = Some(elsewhere);
    let refused = h.service.send_message(ann, foreign_quote).await;
    assert!(
        matches!(refused, Err(ChatError::Validation { ref field, .. }) if field == "quotedMessageId")
    );

    let mut outsider = text(dm, "x");
    outsider.mentions = vec![eve.user_id];
    let refused = h.service.send_message(ann, outsider).await;
    assert!(matches!(refused, Err(ChatError::Validation { ref field, .. }) if field == "mentions"));
}
