//! Cases for read state and unread figures (issues 3 and 13).

use chat_domain::conversation::HistoryMode;
use chat_domain::service::{EditMessage, MarkRead};
use chat_domain::{ChatError, MessageId};

use crate::Harness;

use super::*;

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
