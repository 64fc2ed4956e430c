//! Push requests: who a new message is pushed to, with which reason and
//! badge, a batch at a time (contract: "Webhooks and push"). The rules are
//! the domain's (`chat_domain::push`); these cases check that each store
//! gives them the right facts.

use chat_domain::conversation::{HistoryMode, NotifyLevel, PreferencesPatch};
use chat_domain::push::PushPlan;
use chat_domain::service::SendMessage;
use chat_domain::user::Caller;
use chat_domain::{ConversationId, MessageId, Timestamp, UserId};

use super::{dm_with, group_of, org_channel, send, start, text};
use crate::Harness;

/// Every batch of a message's push, each as `(user, reason, badge)`.
async fn push_batches(
    h: &Harness,
    message: MessageId,
    batch_size: usize,
) -> Vec<Vec<(i64, &'static str, i64)>> {
    let Some(plan) = PushPlan::load(&*h.push, message).await.unwrap() else {
        return Vec::new();
    };
    let mut batches = Vec::new();
    let mut after = None;
    while let Some(batch) = plan
        .next_batch(&*h.push, after, h.now(), batch_size)
        .await
        .unwrap()
    {
        after = Some(batch.resume_after);
        batches.push(
            batch
                .recipients
                .iter()
                .map(|r| (r.user_id.get(), r.reason.as_str(), r.badge))
                .collect(),
        );
    }
    batches
}

/// The recipients of a message's push, in one batch.
async fn recipients(h: &Harness, message: MessageId) -> Vec<(i64, &'static str)> {
    push_batches(h, message, 500)
        .await
        .concat()
        .into_iter()
        .map(|(user, reason, _)| (user, reason))
        .collect()
}

async fn set(h: &Harness, who: Caller, id: ConversationId, patch: PreferencesPatch) {
    h.service.update_preferences(who, id, patch).await.unwrap();
}

fn notify(level: NotifyLevel) -> PreferencesPatch {
    PreferencesPatch {
        notify_level: Some(level),
        ..PreferencesPatch::default()
    }
}

async fn send_with(h: &Harness, from: Caller, message: SendMessage) -> MessageId {
    h.service
        .send_message(from, message)
        .await
        .unwrap()
        .value
        .message
        .id
}

async fn total_unread(h: &Harness, who: i64) -> i64 {
    let caller = Caller {
        user_id: UserId::new(who),
        org_id: chat_domain::OrgId::new(10),
    };
    h.service.unread_totals(caller).await.unwrap().total_unread
}

pub async fn push_requests_follow_the_recipient_rules(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let carl = h.user(3, 10).await;
    let dora = h.user(4, 10).await;
    let eve = h.user(5, 10).await;
    let finn = h.user(6, 10).await;
    let gus = h.user(7, 10).await;
    let channel = start(&h, ann, org_channel("general", HistoryMode::Full)).await;
    let muted_until = Timestamp::from_unix_millis(4_000_000_000_000).unwrap();
    set(
        &h,
        carl,
        channel,
        PreferencesPatch {
            mute_until: Some(Some(muted_until)),
            ..PreferencesPatch::default()
        },
    )
    .await;
    set(&h, dora, channel, notify(NotifyLevel::None)).await;
    set(&h, eve, channel, notify(NotifyLevel::Mentions)).await;
    set(&h, finn, channel, notify(NotifyLevel::Everyone)).await;
    h.service.leave_conversation(gus, channel).await.unwrap();
    // Bob has two unread messages elsewhere: his badge counts them.
    let group = start(&h, ann, group_of(&[bob])).await;
    send(&h, ann, group, "one").await;
    send(&h, ann, group, "two").await;

    let plain = send(&h, ann, channel, "hello").await.message.id;
    // A member enrolled after the message is not pushed for it.
    h.user(8, 10).await;
    assert_eq!(recipients(&h, plain).await, vec![(2, "message")]);
    let badge = push_batches(&h, plain, 500).await[0][0].2;
    assert_eq!(badge, 3, "bob's two unread in the group and this one");
    assert_eq!(badge, total_unread(&h, 2).await, "badge = totalUnread");

    let everyone = send_with(
        &h,
        ann,
        SendMessage {
            mention_everyone: true,
            ..text(channel, "@everyone")
        },
    )
    .await;
    // Eve wants names only, Gus has hidden the channel; Henry (8) joined
    // before this one.
    assert_eq!(
        recipients(&h, everyone).await,
        vec![(2, "everyone"), (6, "everyone"), (8, "everyone")]
    );
    // One member at a time: a batch per recipient, each resuming after the
    // last member examined, badges as get-unread-counts says.
    let batches = push_batches(&h, everyone, 1).await;
    assert_eq!(batches.len(), 3, "{batches:?}");
    for batch in &batches {
        let [(user, _, badge)] = batch.as_slice() else {
            panic!("one recipient per batch: {batches:?}");
        };
        assert_eq!(*badge, total_unread(&h, *user).await);
    }

    let named = send_with(
        &h,
        ann,
        SendMessage {
            mentions: vec![carl.user_id, dora.user_id, eve.user_id, gus.user_id],
            ..text(channel, "carl dora eve gus")
        },
    )
    .await;
    // Muted and `none` stay silent even when named; a hidden member is
    // pushed when named.
    assert_eq!(
        recipients(&h, named).await,
        vec![
            (2, "message"),
            (5, "mention"),
            (7, "mention"),
            (8, "message")
        ]
    );

    // Replies go to the thread's participants, and to whoever they name.
    let reply = SendMessage {
        parent_id: Some(plain),
        ..text(channel, "re")
    };
    let first = send_with(&h, bob, reply.clone()).await;
    assert_eq!(recipients(&h, first).await, vec![(1, "thread")]);
    let second = send_with(
        &h,
        eve,
        SendMessage {
            mentions: vec![finn.user_id],
            ..reply
        },
    )
    .await;
    assert_eq!(
        recipients(&h, second).await,
        vec![(1, "thread"), (2, "thread"), (6, "mention")]
    );

    // A direct message is `direct`; the sender never gets their own.
    let dm = start(&h, ann, dm_with(bob)).await;
    let direct = send(&h, ann, dm, "psst").await.message.id;
    assert_eq!(recipients(&h, direct).await, vec![(2, "direct")]);

    // A message deleted before its push went out is not pushed.
    h.service.delete_message(ann, direct).await.unwrap();
    assert!(PushPlan::load(&*h.push, direct).await.unwrap().is_none());
}
