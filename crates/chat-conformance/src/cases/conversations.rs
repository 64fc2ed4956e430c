//! Cases for users, conversations and who may read them (issues 1-2).

use chat_domain::conversation::{ConversationKind, HistoryMode};
use chat_domain::service::MarkRead;
use chat_domain::user::Caller;
use chat_domain::{ChatError, ConversationId, OrgId, UserId};

use crate::Harness;

use super::*;

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

/// A user belongs to one org: a token with the same subject and another
/// org is not served, and neither moves the user nor rewrites their
/// profile. The first org's conversations stay out of its reach.
pub async fn a_user_stays_in_the_org_they_were_first_seen_in(h: Harness) {
    use chat_domain::service::Provisioned;
    use chat_domain::user::User;

    let ann = h.user(1, 10).await;
    let group = start(&h, ann, group_of(&[])).await;
    let from_elsewhere = User {
        id: UserId::new(1),
        org_id: OrgId::new(20),
        name: Some("Mallory".to_owned()),
        username: Some("mallory".to_owned()),
        avatar_url: None,
    };
    for _ in 0..2 {
        assert_eq!(
            h.service
                .provision_user(from_elsewhere.clone())
                .await
                .unwrap(),
            Provisioned::InAnotherOrg,
            "refused every time, not remembered as seen"
        );
    }
    let in_ten = h
        .users
        .find_in_org(OrgId::new(10), &[UserId::new(1)])
        .await
        .unwrap();
    assert_eq!(in_ten.len(), 1, "still in org 10");
    assert_eq!(
        in_ten[0].name.as_deref(),
        Some("User 1"),
        "profile unchanged"
    );
    assert!(
        h.users
            .find_in_org(OrgId::new(20), &[UserId::new(1)])
            .await
            .unwrap()
            .is_empty()
    );
    let same_org = User {
        name: Some("Ann".to_owned()),
        ..in_ten[0].clone()
    };
    assert_eq!(
        h.service.provision_user(same_org).await.unwrap(),
        Provisioned::Ready
    );
    let renamed = h
        .users
        .find_in_org(OrgId::new(10), &[UserId::new(1)])
        .await
        .unwrap();
    assert_eq!(
        renamed[0].name.as_deref(),
        Some("Ann"),
        "its own org refreshes it"
    );
    assert!(h.service.get_conversation(ann, group).await.is_ok());
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
