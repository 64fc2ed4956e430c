//! The cases. Each takes a fresh harness and asserts what a caller of the
//! service sees.

use chat_domain::conversation::{ConversationKind, ConversationListQuery, HistoryMode, Visibility};
use chat_domain::message::MessageView;
use chat_domain::service::{
    Anchor, CreateConversation, EditMessage, ListMessages, MarkRead, MessagePage, SendMessage,
};
use chat_domain::user::Caller;
use chat_domain::{ChatError, ConversationId, MessageId, OrgId, UserId};

use crate::Harness;

fn create(kind: ConversationKind) -> CreateConversation {
    CreateConversation {
        kind,
        user_id: None,
        name: None,
        description: None,
        member_ids: Vec::new(),
        visibility: None,
        history_mode: None,
        posting_policy: None,
        metadata: None,
    }
}

fn dm_with(other: Caller) -> CreateConversation {
    CreateConversation {
        user_id: Some(other.user_id),
        ..create(ConversationKind::Direct)
    }
}

/// A group of the caller and `members` (public: store-specific tests use it).
pub fn group_of(members: &[Caller]) -> CreateConversation {
    CreateConversation {
        member_ids: members.iter().map(|m| m.user_id).collect(),
        ..create(ConversationKind::Group)
    }
}

fn org_channel(name: &str, history: HistoryMode) -> CreateConversation {
    CreateConversation {
        name: Some(name.to_owned()),
        visibility: Some(Visibility::Org),
        history_mode: Some(history),
        ..create(ConversationKind::Channel)
    }
}

/// A plain text message (public: store-specific tests use it).
pub fn text(conversation: ConversationId, content: &str) -> SendMessage {
    SendMessage {
        conversation_id: conversation,
        content: content.to_owned(),
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

fn list(conversation: ConversationId) -> ListMessages {
    ListMessages {
        conversation_id: conversation,
        parent_id: None,
        before: None,
        after: None,
        around: None,
        anchor: None,
        limit: None,
        has_replies: None,
    }
}

fn conversations_of(viewer: Caller) -> ConversationListQuery {
    ConversationListQuery {
        viewer: viewer.user_id,
        kinds: Vec::new(),
        starred: None,
        archived: false,
        include_hidden: false,
        after: None,
        limit: 0,
    }
}

async fn start(h: &Harness, owner: Caller, request: CreateConversation) -> ConversationId {
    h.service
        .create_conversation(owner, request)
        .await
        .unwrap()
        .value
        .conversation
        .id
}

async fn send(
    h: &Harness,
    from: Caller,
    conversation: ConversationId,
    content: &str,
) -> MessageView {
    h.service
        .send_message(from, text(conversation, content))
        .await
        .unwrap()
        .value
}

fn contents(page: &MessagePage) -> Vec<&str> {
    page.messages
        .iter()
        .map(|m| m.message.content.as_str())
        .collect()
}

pub async fn provisioned_users_are_found_only_in_their_org(h: Harness) {
    h.user(1, 10).await;
    h.user(2, 10).await;
    h.user(3, 20).await;
    let ids = [
        UserId::new(1),
        UserId::new(2),
        UserId::new(3),
        UserId::new(99),
    ];
    let found = h.users.find_in_org(OrgId::new(10), &ids).await.unwrap();
    let found: Vec<UserId> = found.iter().map(|u| u.id).collect();
    assert_eq!(found, vec![UserId::new(1), UserId::new(2)]);
}

pub async fn direct_conversations_are_idempotent_from_either_side(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let first = h
        .service
        .create_conversation(ann, dm_with(bob))
        .await
        .unwrap();
    assert!(first.is_new);
    let again = h
        .service
        .create_conversation(ann, dm_with(bob))
        .await
        .unwrap();
    let other_side = h
        .service
        .create_conversation(bob, dm_with(ann))
        .await
        .unwrap();
    assert!(!again.is_new && !other_side.is_new);
    assert_eq!(again.value.conversation.id, first.value.conversation.id);
    assert_eq!(
        other_side.value.conversation.id,
        first.value.conversation.id
    );
    assert_eq!(first.value.conversation.member_count, 2);
    let others: Vec<UserId> = other_side
        .value
        .other_members
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(others, vec![ann.user_id]);
}

pub async fn direct_conversation_with_oneself_is_allowed(h: Harness) {
    let ann = h.user(1, 10).await;
    let created = h
        .service
        .create_conversation(ann, dm_with(ann))
        .await
        .unwrap();
    assert!(created.is_new);
    assert_eq!(created.value.conversation.member_count, 1);
    assert!(created.value.other_members.is_empty());
    let again = h
        .service
        .create_conversation(ann, dm_with(ann))
        .await
        .unwrap();
    assert_eq!(again.value.conversation.id, created.value.conversation.id);
}

pub async fn group_shows_other_members_without_the_viewer(h: Harness) {
    let owner = h.user(1, 10).await;
    let mut members = Vec::new();
    for id in 2..=8 {
        members.push(h.user(id, 10).await);
    }
    let group = h
        .service
        .create_conversation(owner, group_of(&members))
        .await
        .unwrap()
        .value;
    assert_eq!(group.conversation.member_count, 8);
    assert_eq!(group.other_members.len(), 5);
    assert!(group.other_members.iter().all(|u| u.id != owner.user_id));
    let membership = group.membership.unwrap().membership;
    assert_eq!(membership.role.as_str(), "owner");
    let seen_by_member = h
        .service
        .get_conversation(members[0], group.conversation.id)
        .await
        .unwrap();
    assert!(
        seen_by_member
            .other_members
            .iter()
            .all(|u| u.id != members[0].user_id)
    );
    assert_eq!(
        seen_by_member.membership.unwrap().membership.role.as_str(),
        "member"
    );
}

pub async fn creating_with_unknown_or_foreign_users_is_refused(h: Harness) {
    let ann = h.user(1, 10).await;
    let stranger = h.user(2, 20).await;
    let unknown = Caller {
        user_id: UserId::new(77),
        org_id: OrgId::new(10),
    };
    for other in [stranger, unknown] {
        let dm = h.service.create_conversation(ann, dm_with(other)).await;
        assert!(
            matches!(dm, Err(ChatError::Validation { ref field, .. }) if field == "userId"),
            "{dm:?}"
        );
        let group = h.service.create_conversation(ann, group_of(&[other])).await;
        assert!(
            matches!(group, Err(ChatError::Validation { ref field, .. }) if field == "memberIds"),
            "{group:?}"
        );
    }
    let page = h
        .service
        .list_conversations(conversations_of(ann), None)
        .await
        .unwrap()
        .0;
    assert!(page.is_empty(), "nothing was created");
}

pub async fn org_channels_enroll_every_org_member_even_later_ones(h: Harness) {
    let owner = h.user(1, 10).await;
    let early = h.user(2, 10).await;
    let foreign = h.user(3, 20).await;
    let channel = start(&h, owner, org_channel("general", HistoryMode::Full)).await;
    let late = h.user(4, 10).await;
    for member in [early, late] {
        let view = h.service.get_conversation(member, channel).await.unwrap();
        assert_eq!(view.membership.unwrap().membership.role.as_str(), "member");
    }
    assert!(matches!(
        h.service.get_conversation(foreign, channel).await,
        Err(ChatError::NotFound(_))
    ));
    let view = h.service.get_conversation(owner, channel).await.unwrap();
    assert_eq!(view.conversation.member_count, 3);
    assert!(view.other_members.is_empty(), "channels list no members");
}

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

/// The newest page read for a member whose history floor lies just past a
/// full page: exactly the visible messages, nothing older to load; one more
/// visible message and there is.
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

pub async fn non_members_cannot_read(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let eve = h.user(3, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let message = send(&h, ann, dm, "private").await;
    assert!(matches!(
        h.service.get_conversation(eve, dm).await,
        Err(ChatError::NotFound(_))
    ));
    assert!(matches!(
        h.service.list_messages(eve, list(dm)).await,
        Err(ChatError::NotFound(_))
    ));
    assert!(matches!(
        h.service.get_message(eve, message.message.id).await,
        Err(ChatError::NotFound(_))
    ));
    assert!(matches!(
        h.service.send_message(eve, text(dm, "hi")).await,
        Err(ChatError::NotFound(_))
    ));
    let missing = ConversationId::new(987_654);
    assert!(matches!(
        h.service.get_conversation(ann, missing).await,
        Err(ChatError::NotFound(_))
    ));
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

/// A client that retries a send before the first attempt answered (a flaky
/// network) gets one message: every attempt answers it, one as new, and the
/// losers of the race leave no gap in `seq` and no second event.
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

pub async fn unread_counts_follow_the_contract(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let first = send(&h, ann, group, "one").await;
    send(&h, bob, group, "mine: posting marks the conversation read").await;
    send(&h, ann, group, "two").await;
    let mut mention = text(group, "hey bob");
    mention.mentions = vec![bob.user_id];
    h.service.send_message(ann, mention).await.unwrap();
    let mut reply = text(group, "a reply is not unread");
    reply.parent_id = Some(first.message.id);
    h.service.send_message(ann, reply).await.unwrap();

    let bob_view = h
        .service
        .get_conversation(bob, group)
        .await
        .unwrap()
        .membership
        .unwrap();
    assert_eq!((bob_view.unread_count, bob_view.mention_count), (2, 1));
    let ann_view = h
        .service
        .get_conversation(ann, group)
        .await
        .unwrap()
        .membership
        .unwrap();
    assert_eq!(
        (ann_view.unread_count, ann_view.mention_count),
        (0, 0),
        "her own posts"
    );

    // Stepping back over his own message: it still does not count.
    let back = MarkRead {
        conversation_id: group,
        message_id: first.message.id,
        mark_unread: true,
    };
    let state = h.service.mark_read(bob, back).await.unwrap();
    assert_eq!((state.unread_count, state.mention_count), (3, 1));
    let totals = h.service.unread_totals(bob).await.unwrap();
    assert_eq!(
        (
            totals.total_unread,
            totals.unread_conversation_count,
            totals.mention_count
        ),
        (3, 1, 1)
    );

    let mut everyone = text(group, "@everyone");
    everyone.mention_everyone = true;
    h.service.send_message(ann, everyone).await.unwrap();
    let totals = h.service.unread_totals(bob).await.unwrap();
    assert_eq!((totals.total_unread, totals.mention_count), (4, 2));
    assert_eq!(h.service.unread_totals(ann).await.unwrap().total_unread, 0);
}

pub async fn mark_read_is_forward_only_and_mark_unread_steps_back(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let m1 = send(&h, ann, dm, "1").await.message.id;
    let m2 = send(&h, ann, dm, "2").await.message.id;
    let m3 = send(&h, ann, dm, "3").await.message.id;
    let read = |message_id: MessageId, mark_unread: bool| MarkRead {
        conversation_id: dm,
        message_id,
        mark_unread,
    };

    let state = h.service.mark_read(bob, read(m3, false)).await.unwrap();
    assert_eq!(
        (state.last_read_message_id, state.unread_count),
        (Some(m3), 0)
    );
    let state = h.service.mark_read(bob, read(m1, false)).await.unwrap();
    assert_eq!(
        (state.last_read_message_id, state.unread_count),
        (Some(m3), 0),
        "never backwards"
    );
    let state = h.service.mark_read(bob, read(m2, true)).await.unwrap();
    assert_eq!(
        (state.last_read_message_id, state.unread_count),
        (Some(m1), 2)
    );
    let state = h.service.mark_read(bob, read(m1, true)).await.unwrap();
    assert_eq!((state.last_read_message_id, state.unread_count), (None, 3));

    // What is not found is named as the conversation alone would tell it:
    // an outsider learns nothing about the message.
    let eve = h.user(3, 10).await;
    assert!(matches!(
        h.service.mark_read(eve, read(m1, false)).await,
        Err(ChatError::NotFound("conversation"))
    ));
    let elsewhere = start(&h, ann, dm_with(ann)).await;
    let foreign = MarkRead {
        conversation_id: elsewhere,
        message_id: m1,
        mark_unread: false,
    };
    assert!(matches!(
        h.service.mark_read(ann, foreign).await,
        Err(ChatError::NotFound("message"))
    ));
    let into_eves = MarkRead {
        conversation_id: start(&h, eve, dm_with(eve)).await,
        message_id: m1,
        mark_unread: false,
    };
    assert!(matches!(
        h.service.mark_read(ann, into_eves).await,
        Err(ChatError::NotFound("conversation"))
    ));
    let missing = read(MessageId::new(m3.get() + 1_000), false);
    assert!(matches!(
        h.service.mark_read(bob, missing).await,
        Err(ChatError::NotFound("message"))
    ));
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

pub async fn conversations_list_by_activity_with_cursor_paging(h: Harness) {
    let ann = h.user(1, 10).await;
    let mut made = Vec::new();
    for id in 2..=6 {
        let other = h.user(id, 10).await;
        made.push(start(&h, ann, dm_with(other)).await);
    }
    // The oldest conversation gets the newest message: it leads the list.
    send(&h, ann, made[0], "bump").await;
    let mut expected = vec![made[0]];
    expected.extend(made[1..].iter().rev());

    let mut seen = Vec::new();
    let mut query = conversations_of(ann);
    loop {
        let (page, next) = h
            .service
            .list_conversations(query.clone(), Some(2))
            .await
            .unwrap();
        seen.extend(page.iter().map(|v| v.conversation.id));
        match next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    let bumped = h.service.get_conversation(ann, made[0]).await.unwrap();
    assert_eq!(bumped.last_message.unwrap().content, "bump");
}

pub async fn list_conversation_filters_apply(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let mut only_groups = conversations_of(ann);
    only_groups.kinds = vec![ConversationKind::Group];
    let (page, _) = h
        .service
        .list_conversations(only_groups, None)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|v| v.conversation.id).collect::<Vec<_>>(),
        vec![group]
    );
    let mut starred = conversations_of(ann);
    starred.starred = Some(true);
    assert!(
        h.service
            .list_conversations(starred, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let mut archived = conversations_of(ann);
    archived.archived = true;
    assert!(
        h.service
            .list_conversations(archived, None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let (all, _) = h
        .service
        .list_conversations(conversations_of(bob), None)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|v| v.conversation.id == dm));
}

pub async fn change_events_are_written_with_the_change(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let sent = send(&h, ann, dm, "hello").await;
    let mut retry = text(dm, "x");
    retry.client_msg_id = Some("r".to_owned());
    h.service.send_message(ann, retry.clone()).await.unwrap();
    h.service.send_message(ann, retry).await.unwrap();
    h.service
        .mark_read(
            bob,
            MarkRead {
                conversation_id: dm,
                message_id: sent.message.id,
                mark_unread: false,
            },
        )
        .await
        .unwrap();

    let chat = format!("chat:{dm}");
    let outbox = h.outbox().await;
    let kinds: Vec<&str> = outbox.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "conversation.added",
            "message.created",
            "unread.updated",
            "message.created",
            "unread.updated",
            "read.updated",
            "unread.updated",
        ],
        "a retried send writes no second event"
    );
    let mut added = outbox[0].1.clone();
    added.sort();
    assert_eq!(
        added,
        vec!["personal:1".to_owned(), "personal:2".to_owned()]
    );
    assert_eq!(outbox[1].1, vec![chat]);
    assert_eq!(
        outbox[2].1,
        vec!["personal:2".to_owned()],
        "the other member's sidebar"
    );
    assert_eq!(outbox[5].1, vec!["personal:2".to_owned()]);
}

pub async fn large_conversations_get_one_batched_unread_event(h: Harness) {
    let owner = h.user(1, 10).await;
    for id in 2..=102 {
        h.user(id, 10).await;
    }
    let channel = start(&h, owner, org_channel("everyone", HistoryMode::Full)).await;
    let before = h.outbox().await.len();
    send(&h, owner, channel, "to all 102").await;
    let outbox = h.outbox().await;
    let unread: Vec<&(String, Vec<String>)> = outbox[before..]
        .iter()
        .filter(|(t, _)| t == "unread.updated")
        .collect();
    let channels: usize = unread.iter().map(|(_, c)| c.len()).sum();
    assert!(
        unread.len() <= 1,
        "one event, not one per member: {}",
        unread.len()
    );
    assert_eq!(channels, 102, "every member's personal channel");
}

mod membership;
pub use membership::*;
mod message_changes;
pub use message_changes::*;
mod search;
pub use search::*;
mod previews;
pub use previews::*;
mod attachments;
pub use attachments::*;
mod catch_up;
pub use catch_up::*;
mod push;
pub use push::*;

/// The corrections of an unread count (own and deleted messages past the
/// cursor, mentions added by an edit) stay exact as messages change after a
/// member stepped back.
pub async fn unread_counts_stay_exact_through_deletes_and_edits(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let m1 = send(&h, ann, group, "one").await.message.id;
    let own = send(&h, bob, group, "bob's own").await.message.id;
    let m2 = send(&h, ann, group, "two").await.message.id;
    let m3 = send(&h, ann, group, "three").await.message.id;
    let figures = |h: &Harness| {
        let service = h.service.clone();
        async move {
            let view = service
                .get_conversation(bob, group)
                .await
                .unwrap()
                .membership
                .unwrap();
            let totals = service.unread_totals(bob).await.unwrap();
            assert_eq!(
                (totals.total_unread, totals.mention_count),
                (view.unread_count, view.mention_count),
                "get-unread-counts agrees with the conversation"
            );
            (view.unread_count, view.mention_count)
        }
    };
    let back = MarkRead {
        conversation_id: group,
        message_id: m1,
        mark_unread: true,
    };
    h.service.mark_read(bob, back).await.unwrap();
    assert_eq!(figures(&h).await, (3, 0), "one, two, three; not his own");

    h.service.delete_message(ann, m2).await.unwrap();
    assert_eq!(figures(&h).await, (2, 0), "a deleted message is not unread");
    h.service.delete_message(bob, own).await.unwrap();
    assert_eq!(
        figures(&h).await,
        (2, 0),
        "his own, deleted, changes nothing"
    );

    let mention_bob = EditMessage {
        content: Some("three, @bob".to_owned()),
        gif: None,
        mentions: Some(vec![bob.user_id]),
        mention_everyone: None,
        metadata: None,
    };
    h.service.edit_message(ann, m3, mention_bob).await.unwrap();
    assert_eq!(
        figures(&h).await,
        (2, 1),
        "a mention added by an edit counts"
    );

    let read = MarkRead {
        conversation_id: group,
        message_id: m3,
        mark_unread: false,
    };
    h.service.mark_read(bob, read).await.unwrap();
    assert_eq!(figures(&h).await, (0, 0));
    h.service.delete_message(ann, m1).await.unwrap();
    assert_eq!(
        figures(&h).await,
        (0, 0),
        "deleting what he read changes nothing"
    );
    let m4 = send(&h, ann, group, "four").await.message.id;
    h.service.delete_message(ann, m4).await.unwrap();
    assert_eq!(figures(&h).await, (0, 0));
    send(&h, ann, group, "five").await;
    assert_eq!(figures(&h).await, (1, 0));
}
