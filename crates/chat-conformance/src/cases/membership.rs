//! Cases for conversation management and membership (issue 3).

use chat_domain::conversation::{
    ConversationKind, HistoryMode, NotifyLevel, PostingPolicy, PreferencesPatch, Role, Visibility,
};
use chat_domain::service::{CreateConversation, MarkRead, UpdateConversation};
use chat_domain::{ChatError, Timestamp, UserId};

use super::{
    contents, conversations_of, create, dm_with, group_of, list, org_channel, send, start, text,
};
use crate::Harness;

pub(super) fn is_conflict<T: std::fmt::Debug>(result: &Result<T, ChatError>) -> bool {
    matches!(result, Err(ChatError::Conflict(_)))
}

pub(super) fn is_forbidden<T: std::fmt::Debug>(result: &Result<T, ChatError>) -> bool {
    matches!(result, Err(ChatError::Forbidden(_)))
}

pub(super) fn is_not_found<T: std::fmt::Debug>(result: &Result<T, ChatError>) -> bool {
    matches!(result, Err(ChatError::NotFound(_)))
}

pub(super) fn is_invalid<T: std::fmt::Debug>(
    result: &Result<T, ChatError>,
    expected: &str,
) -> bool {
    matches!(result, Err(ChatError::Validation { field, .. }) if field == expected)
}

fn private_channel(
    name: &str,
    members: &[chat_domain::user::Caller],
    history: HistoryMode,
) -> CreateConversation {
    CreateConversation {
        name: Some(name.to_owned()),
        member_ids: members.iter().map(|m| m.user_id).collect(),
        history_mode: Some(history),
        ..create(ConversationKind::Channel)
    }
}

pub async fn updating_needs_an_admin_and_not_a_direct_conversation(h: Harness) {
    let owner = h.user(1, 10).await;
    let member = h.user(2, 10).await;
    let group = start(&h, owner, group_of(&[member])).await;
    let rename = || UpdateConversation {
        name: Some(Some("renamed".to_owned())),
        ..UpdateConversation::default()
    };
    assert!(is_forbidden(
        &h.service.update_conversation(member, group, rename()).await
    ));
    let dm = start(&h, owner, dm_with(member)).await;
    assert!(is_conflict(
        &h.service.update_conversation(owner, dm, rename()).await
    ));
    h.service
        .change_member_role(owner, group, member.user_id, Role::Admin)
        .await
        .unwrap();
    let updated = h
        .service
        .update_conversation(member, group, rename())
        .await
        .unwrap();
    assert_eq!(updated.conversation.name.as_deref(), Some("renamed"));
}

pub async fn update_sets_and_clears_fields(h: Harness) {
    let owner = h.user(1, 10).await;
    let channel = start(
        &h,
        owner,
        private_channel("general", &[], HistoryMode::Full),
    )
    .await;
    let set = UpdateConversation {
        description: Some(Some("about things".to_owned())),
        metadata: Some(Some(r#"{"topic":"x"}"#.to_owned())),
        posting_policy: Some(PostingPolicy::Admins),
        ..UpdateConversation::default()
    };
    let view = h
        .service
        .update_conversation(owner, channel, set)
        .await
        .unwrap();
    assert_eq!(
        view.conversation.description.as_deref(),
        Some("about things")
    );
    assert!(
        view.conversation
            .metadata
            .as_deref()
            .is_some_and(|m| m.contains("topic"))
    );
    assert_eq!(view.conversation.posting_policy, PostingPolicy::Admins);
    assert_eq!(
        view.conversation.name.as_deref(),
        Some("general"),
        "absent fields stay"
    );

    let clear = UpdateConversation {
        description: Some(None),
        metadata: Some(None),
        ..UpdateConversation::default()
    };
    let view = h
        .service
        .update_conversation(owner, channel, clear)
        .await
        .unwrap();
    assert_eq!(
        (view.conversation.description, view.conversation.metadata),
        (None, None)
    );

    let unnamed = UpdateConversation {
        name: Some(None),
        ..UpdateConversation::default()
    };
    assert!(is_invalid(
        &h.service.update_conversation(owner, channel, unnamed).await,
        "name"
    ));
    let long = UpdateConversation {
        name: Some(Some("n".repeat(81))),
        ..UpdateConversation::default()
    };
    assert!(is_invalid(
        &h.service.update_conversation(owner, channel, long).await,
        "name"
    ));
}

pub async fn archived_conversations_are_read_only_for_content(h: Harness) {
    let owner = h.user(1, 10).await;
    let member = h.user(2, 10).await;
    let group = start(&h, owner, group_of(&[member])).await;
    let message = send(&h, owner, group, "before").await.message.id;
    assert!(is_forbidden(
        &h.service.archive_conversation(member, group, true).await
    ));
    let archived = h
        .service
        .archive_conversation(owner, group, true)
        .await
        .unwrap();
    assert!(archived.conversation.archived_at.is_some());

    assert!(is_conflict(
        &h.service.send_message(member, text(group, "no")).await
    ));
    let rename = UpdateConversation {
        name: Some(Some("x".to_owned())),
        ..UpdateConversation::default()
    };
    assert!(is_conflict(
        &h.service.update_conversation(owner, group, rename).await
    ));
    assert!(is_conflict(
        &h.service
            .add_members(owner, group, vec![UserId::new(1)])
            .await
    ));
    // Reading, mark-read and preferences still work.
    assert_eq!(
        contents(&h.service.list_messages(member, list(group)).await.unwrap()),
        vec!["before"]
    );
    let read = MarkRead {
        conversation_id: group,
        message_id: message,
        mark_unread: false,
    };
    assert!(h.service.mark_read(member, read).await.is_ok());
    let star = PreferencesPatch {
        starred: Some(true),
        ..PreferencesPatch::default()
    };
    assert!(
        h.service
            .update_preferences(member, group, star)
            .await
            .is_ok()
    );

    assert!(
        h.service
            .list_conversations(conversations_of(member), None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let mut only_archived = conversations_of(member);
    only_archived.archived = true;
    assert_eq!(
        h.service
            .list_conversations(only_archived, None)
            .await
            .unwrap()
            .0
            .len(),
        1
    );

    let again = h
        .service
        .archive_conversation(owner, group, true)
        .await
        .unwrap();
    assert_eq!(
        again.conversation.archived_at, archived.conversation.archived_at,
        "idempotent"
    );
    h.service
        .archive_conversation(owner, group, false)
        .await
        .unwrap();
    assert!(
        h.service
            .send_message(member, text(group, "back"))
            .await
            .is_ok()
    );
}

pub async fn converting_turns_a_group_into_a_private_channel(h: Harness) {
    let owner = h.user(1, 10).await;
    let member = h.user(2, 10).await;
    let group = start(&h, owner, group_of(&[member])).await;
    send(&h, member, group, "history stays").await;
    assert!(is_invalid(
        &h.service.convert_conversation(owner, group, None).await,
        "name"
    ));
    assert!(is_forbidden(
        &h.service
            .convert_conversation(member, group, Some("c".to_owned()))
            .await
    ));
    let channel = h
        .service
        .convert_conversation(owner, group, Some("project".to_owned()))
        .await
        .unwrap();
    assert_eq!(channel.conversation.kind, ConversationKind::Channel);
    assert_eq!(channel.conversation.visibility, Visibility::Private);
    assert_eq!(channel.conversation.name.as_deref(), Some("project"));
    assert_eq!(channel.conversation.member_count, 2);
    assert_eq!(
        contents(&h.service.list_messages(member, list(group)).await.unwrap()),
        vec!["history stays"]
    );
    assert!(is_conflict(
        &h.service
            .convert_conversation(owner, group, Some("again".to_owned()))
            .await
    ));
}

pub async fn deleting_is_for_owners_and_removes_it_for_everyone(h: Harness) {
    let owner = h.user(1, 10).await;
    let admin = h.user(2, 10).await;
    let group = start(&h, owner, group_of(&[admin])).await;
    send(&h, owner, group, "soon gone").await;
    h.service
        .change_member_role(owner, group, admin.user_id, Role::Admin)
        .await
        .unwrap();
    assert!(is_forbidden(
        &h.service.delete_conversation(admin, group).await
    ));
    h.service.delete_conversation(owner, group).await.unwrap();
    for who in [owner, admin] {
        assert!(is_not_found(&h.service.get_conversation(who, group).await));
        assert!(
            h.service
                .list_conversations(conversations_of(who), None)
                .await
                .unwrap()
                .0
                .is_empty()
        );
    }
    assert!(is_not_found(
        &h.service.delete_conversation(owner, group).await
    ));
}

pub async fn member_lists_filter_by_role_and_page_with_a_total(h: Harness) {
    let owner = h.user(1, 10).await;
    let mut others = Vec::new();
    for id in 2..=6 {
        others.push(h.user(id, 10).await);
    }
    let group = start(&h, owner, group_of(&others)).await;
    h.service
        .change_member_role(owner, group, others[0].user_id, Role::Admin)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = h
            .service
            .list_members(others[1], group, None, after, Some(2))
            .await
            .unwrap();
        assert_eq!(page.total, 6);
        seen.extend(page.members.iter().map(|m| m.user.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut expected = vec![owner.user_id];
    expected.extend(others.iter().map(|o| o.user_id));
    assert_eq!(seen, expected, "oldest first, each once");
    let admins = h
        .service
        .list_members(owner, group, Some(Role::Admin), None, None)
        .await
        .unwrap();
    assert_eq!(
        (admins.total, admins.members[0].user.id),
        (1, others[0].user_id)
    );
    let stranger = h.user(9, 10).await;
    assert!(is_not_found(
        &h.service
            .list_members(stranger, group, None, None, None)
            .await
    ));
}

pub async fn adding_members_follows_the_rules(h: Harness) {
    let owner = h.user(1, 10).await;
    let member = h.user(2, 10).await;
    let newcomer = h.user(3, 10).await;
    let foreign = h.user(4, 20).await;
    let group = start(&h, owner, group_of(&[member])).await;
    assert!(is_forbidden(
        &h.service
            .add_members(member, group, vec![newcomer.user_id])
            .await
    ));
    let unknown = h
        .service
        .add_members(owner, group, vec![newcomer.user_id, UserId::new(404)])
        .await;
    assert!(is_invalid(&unknown, "userIds"));
    assert!(is_invalid(
        &h.service
            .add_members(owner, group, vec![foreign.user_id])
            .await,
        "userIds"
    ));
    let added = h
        .service
        .add_members(owner, group, vec![newcomer.user_id])
        .await
        .unwrap();
    assert_eq!(
        added
            .iter()
            .map(|m| (m.user.id, m.role))
            .collect::<Vec<_>>(),
        vec![(newcomer.user_id, Role::Member)]
    );
    let again = h
        .service
        .add_members(owner, group, vec![newcomer.user_id])
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "adding a member twice changes nothing");
    assert_eq!(
        h.service
            .get_conversation(owner, group)
            .await
            .unwrap()
            .conversation
            .member_count,
        3
    );

    let dm = start(&h, owner, dm_with(member)).await;
    assert!(is_conflict(
        &h.service
            .add_members(owner, dm, vec![newcomer.user_id])
            .await
    ));
    let org = start(&h, owner, org_channel("all", HistoryMode::Full)).await;
    assert!(is_conflict(
        &h.service
            .add_members(owner, org, vec![newcomer.user_id])
            .await
    ));
}

pub async fn groups_hold_at_most_the_member_limit(h: Harness) {
    let owner = h.user(1, 10).await;
    let mut members = Vec::new();
    for id in 2..=100 {
        members.push(h.user(id, 10).await);
    }
    let group = start(&h, owner, group_of(&members)).await;
    let extra = h.user(101, 10).await;
    let full = h
        .service
        .add_members(owner, group, vec![extra.user_id])
        .await;
    assert!(is_conflict(&full), "{full:?}");
}

pub async fn added_members_of_since_join_conversations_see_only_later_messages(h: Harness) {
    let owner = h.user(1, 10).await;
    let late = h.user(2, 10).await;
    let channel = start(&h, owner, private_channel("c", &[], HistoryMode::SinceJoin)).await;
    let old = send(&h, owner, channel, "old").await.message.id;
    h.service
        .add_members(owner, channel, vec![late.user_id])
        .await
        .unwrap();
    let view = h.service.get_conversation(late, channel).await.unwrap();
    assert_eq!(
        view.membership.unwrap().unread_count,
        0,
        "joiners start caught up"
    );
    assert!(
        view.last_message.is_none(),
        "the last message is before their history"
    );
    send(&h, owner, channel, "new").await;
    assert_eq!(
        contents(&h.service.list_messages(late, list(channel)).await.unwrap()),
        vec!["new"]
    );
    assert!(is_not_found(&h.service.get_message(late, old).await));
    assert_eq!(h.service.unread_totals(late).await.unwrap().total_unread, 1);

    let full = start(&h, owner, private_channel("f", &[], HistoryMode::Full)).await;
    send(&h, owner, full, "visible to later members").await;
    h.service
        .add_members(owner, full, vec![late.user_id])
        .await
        .unwrap();
    assert_eq!(
        contents(&h.service.list_messages(late, list(full)).await.unwrap()),
        vec!["visible to later members"]
    );
}

pub async fn removing_members_and_the_last_owner(h: Harness) {
    let owner = h.user(1, 10).await;
    let admin = h.user(2, 10).await;
    let member = h.user(3, 10).await;
    let group = start(&h, owner, group_of(&[admin, member])).await;
    h.service
        .change_member_role(owner, group, admin.user_id, Role::Admin)
        .await
        .unwrap();
    assert!(is_forbidden(
        &h.service.remove_member(member, group, admin.user_id).await
    ));
    assert!(
        is_forbidden(&h.service.remove_member(admin, group, owner.user_id).await),
        "admins cannot remove owners"
    );
    assert!(
        is_conflict(&h.service.remove_member(owner, group, owner.user_id).await),
        "the last owner stays"
    );
    assert!(is_invalid(
        &h.service.remove_member(owner, group, UserId::new(77)).await,
        "userId"
    ));
    h.service
        .remove_member(admin, group, member.user_id)
        .await
        .unwrap();
    assert!(is_not_found(
        &h.service.get_conversation(member, group).await
    ));
    assert_eq!(
        h.service
            .get_conversation(owner, group)
            .await
            .unwrap()
            .conversation
            .member_count,
        2
    );
}

pub async fn roles_change_by_owners_and_the_last_owner_stays(h: Harness) {
    let owner = h.user(1, 10).await;
    let other = h.user(2, 10).await;
    let group = start(&h, owner, group_of(&[other])).await;
    assert!(is_forbidden(
        &h.service
            .change_member_role(other, group, other.user_id, Role::Owner)
            .await
    ));
    assert!(is_conflict(
        &h.service
            .change_member_role(owner, group, owner.user_id, Role::Member)
            .await
    ));
    h.service
        .change_member_role(owner, group, other.user_id, Role::Owner)
        .await
        .unwrap();
    let demoted = h
        .service
        .change_member_role(other, group, owner.user_id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        demoted.role,
        Role::Admin,
        "with two owners, one may step down"
    );
    assert!(is_invalid(
        &h.service
            .change_member_role(other, group, UserId::new(55), Role::Admin)
            .await,
        "userId"
    ));
}

pub async fn leaving_a_dm_hides_it_until_posting_or_mention(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    h.service.leave_conversation(bob, dm).await.unwrap();
    assert!(
        h.service
            .list_conversations(conversations_of(bob), None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    let mut with_hidden = conversations_of(bob);
    with_hidden.include_hidden = true;
    let listed = h
        .service
        .list_conversations(with_hidden, None)
        .await
        .unwrap()
        .0;
    assert!(listed[0].membership.as_ref().unwrap().membership.hidden);

    send(&h, ann, dm, "others' posts do not unhide it").await;
    assert!(
        h.service
            .list_conversations(conversations_of(bob), None)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(
        h.service.unread_totals(bob).await.unwrap().total_unread,
        0,
        "hidden conversations are not counted"
    );
    let mut mention = text(dm, "bob?");
    mention.mentions = vec![bob.user_id];
    h.service.send_message(ann, mention).await.unwrap();
    assert_eq!(
        h.service
            .list_conversations(conversations_of(bob), None)
            .await
            .unwrap()
            .0
            .len(),
        1
    );

    h.service.leave_conversation(bob, dm).await.unwrap();
    send(&h, bob, dm, "back").await;
    assert_eq!(
        h.service
            .list_conversations(conversations_of(bob), None)
            .await
            .unwrap()
            .0
            .len(),
        1
    );

    let org = start(&h, ann, org_channel("all", HistoryMode::Full)).await;
    h.service.leave_conversation(bob, org).await.unwrap();
    let view = h.service.get_conversation(bob, org).await.unwrap();
    assert!(
        view.membership.unwrap().membership.hidden,
        "org channels are hidden, not left"
    );
}

pub async fn the_last_owner_leaving_a_group_hands_it_on(h: Harness) {
    let owner = h.user(1, 10).await;
    let first = h.user(2, 10).await;
    let second = h.user(3, 10).await;
    let group = start(&h, owner, group_of(&[first])).await;
    h.service
        .add_members(owner, group, vec![second.user_id])
        .await
        .unwrap();
    h.service.leave_conversation(owner, group).await.unwrap();
    assert!(is_not_found(
        &h.service.get_conversation(owner, group).await
    ));
    let heir = h.service.get_conversation(first, group).await.unwrap();
    assert_eq!(
        heir.membership.unwrap().membership.role,
        Role::Owner,
        "the longest-standing member"
    );
    let other = h.service.get_conversation(second, group).await.unwrap();
    assert_eq!(other.membership.unwrap().membership.role, Role::Member);
    assert_eq!(other.conversation.member_count, 2);
}

pub async fn the_last_member_leaving_deletes_the_group(h: Harness) {
    let owner = h.user(1, 10).await;
    let group = start(&h, owner, group_of(&[])).await;
    send(&h, owner, group, "alone").await;
    h.service.leave_conversation(owner, group).await.unwrap();
    assert!(is_not_found(
        &h.service.get_conversation(owner, group).await
    ));
    let outbox = h.outbox().await;
    assert!(outbox.iter().any(|(t, _)| t == "conversation.deleted"));
}

pub async fn admins_only_posting_policy(h: Harness) {
    let owner = h.user(1, 10).await;
    let member = h.user(2, 10).await;
    let channel = start(
        &h,
        owner,
        private_channel("news", &[member], HistoryMode::Full),
    )
    .await;
    let admins_only = UpdateConversation {
        posting_policy: Some(PostingPolicy::Admins),
        ..UpdateConversation::default()
    };
    h.service
        .update_conversation(owner, channel, admins_only)
        .await
        .unwrap();
    assert!(is_forbidden(
        &h.service
            .send_message(member, text(channel, "may I?"))
            .await
    ));
    assert!(
        h.service
            .send_message(owner, text(channel, "announcement"))
            .await
            .is_ok()
    );
    h.service
        .change_member_role(owner, channel, member.user_id, Role::Admin)
        .await
        .unwrap();
    assert!(
        h.service
            .send_message(member, text(channel, "now I may"))
            .await
            .is_ok()
    );
}

pub async fn preferences_star_mute_and_notify(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let dm = start(&h, ann, dm_with(bob)).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let star = PreferencesPatch {
        starred: Some(true),
        ..PreferencesPatch::default()
    };
    let view = h
        .service
        .update_preferences(bob, group, star)
        .await
        .unwrap();
    assert!(view.membership.starred);
    let mut starred = conversations_of(bob);
    starred.starred = Some(true);
    let listed = h.service.list_conversations(starred, None).await.unwrap().0;
    assert_eq!(
        listed.iter().map(|v| v.conversation.id).collect::<Vec<_>>(),
        vec![group]
    );

    let forever = Timestamp::from_unix_millis(253_402_300_799_000).unwrap();
    let mute = PreferencesPatch {
        mute_until: Some(Some(forever)),
        notify_level: Some(NotifyLevel::Mentions),
        ..PreferencesPatch::default()
    };
    let view = h
        .service
        .update_preferences(bob, group, mute)
        .await
        .unwrap();
    assert_eq!(
        (view.membership.mute_until, view.membership.notify_level),
        (Some(forever), NotifyLevel::Mentions)
    );
    assert!(view.membership.starred, "absent fields stay");
    let unmute = PreferencesPatch {
        mute_until: Some(None),
        ..PreferencesPatch::default()
    };
    assert_eq!(
        h.service
            .update_preferences(bob, group, unmute)
            .await
            .unwrap()
            .membership
            .mute_until,
        None
    );

    let bad = PreferencesPatch {
        notify_level: Some(NotifyLevel::Mentions),
        ..PreferencesPatch::default()
    };
    assert!(is_invalid(
        &h.service.update_preferences(bob, dm, bad).await,
        "notifyLevel"
    ));
    let none = PreferencesPatch {
        notify_level: Some(NotifyLevel::None),
        ..PreferencesPatch::default()
    };
    assert!(h.service.update_preferences(bob, dm, none).await.is_ok());
    let ann_view = h.service.get_conversation(ann, group).await.unwrap();
    assert!(
        !ann_view.membership.unwrap().membership.starred,
        "preferences are the caller's own"
    );
}

pub async fn unread_totals_leave_out_muted_and_hidden(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let carl = h.user(3, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let muted = start(&h, ann, group_of(&[bob])).await;
    let dm = start(&h, carl, dm_with(bob)).await;
    send(&h, ann, group, "1").await;
    send(&h, ann, group, "2").await;
    send(&h, ann, muted, "3").await;
    send(&h, carl, dm, "4").await;
    let totals = h.service.unread_totals(bob).await.unwrap();
    assert_eq!(
        (totals.total_unread, totals.unread_conversation_count),
        (4, 3)
    );

    // Muted until far in the future (the clock reads 2026).
    let until = Timestamp::from_unix_millis(4_000_000_000_000).unwrap();
    let mute = PreferencesPatch {
        mute_until: Some(Some(until)),
        ..PreferencesPatch::default()
    };
    h.service
        .update_preferences(bob, muted, mute)
        .await
        .unwrap();
    // Muted until a past instant counts again.
    h.service.leave_conversation(bob, dm).await.unwrap();
    let totals = h.service.unread_totals(bob).await.unwrap();
    assert_eq!(
        (totals.total_unread, totals.unread_conversation_count),
        (2, 1)
    );
    let past = PreferencesPatch {
        mute_until: Some(Some(Timestamp::from_unix_millis(0).unwrap())),
        ..PreferencesPatch::default()
    };
    h.service
        .update_preferences(bob, muted, past)
        .await
        .unwrap();
    assert_eq!(h.service.unread_totals(bob).await.unwrap().total_unread, 3);
}

pub async fn membership_events_are_written(h: Harness) {
    let owner = h.user(1, 10).await;
    let member = h.user(2, 10).await;
    let newcomer = h.user(3, 10).await;
    let group = start(&h, owner, group_of(&[member])).await;
    let rename = UpdateConversation {
        name: Some(Some("n".to_owned())),
        ..UpdateConversation::default()
    };
    h.service
        .update_conversation(owner, group, rename)
        .await
        .unwrap();
    h.service
        .add_members(owner, group, vec![newcomer.user_id])
        .await
        .unwrap();
    h.service
        .change_member_role(owner, group, newcomer.user_id, Role::Admin)
        .await
        .unwrap();
    h.service
        .remove_member(owner, group, newcomer.user_id)
        .await
        .unwrap();
    let star = PreferencesPatch {
        starred: Some(true),
        ..PreferencesPatch::default()
    };
    h.service
        .update_preferences(member, group, star)
        .await
        .unwrap();
    h.service
        .archive_conversation(owner, group, true)
        .await
        .unwrap();
    h.service
        .archive_conversation(owner, group, false)
        .await
        .unwrap();
    h.service
        .convert_conversation(owner, group, None)
        .await
        .unwrap();
    h.service.delete_conversation(owner, group).await.unwrap();

    let chat = format!("chat:{group}");
    let outbox = h.outbox().await;
    let events: Vec<(&str, Vec<String>)> = outbox
        .iter()
        .map(|(t, c)| (t.as_str(), c.clone()))
        .collect();
    let personal = |id: i64| vec![format!("personal:{id}")];
    let mut both = events[events.len() - 1].1.clone();
    both.sort();
    assert_eq!(
        events[1..events.len() - 1].to_vec(),
        vec![
            ("conversation.updated", vec![chat.clone()]),
            ("member.added", vec![chat.clone()]),
            ("conversation.added", personal(3)),
            ("member.updated", vec![chat.clone()]),
            ("member.removed", vec![chat.clone()]),
            ("conversation.removed", personal(3)),
            ("preferences.updated", personal(2)),
            ("conversation.archived", vec![chat.clone()]),
            ("conversation.unarchived", vec![chat.clone()]),
            ("conversation.converted", vec![chat.clone()]),
            ("conversation.deleted", vec![chat.clone()]),
        ]
    );
    assert_eq!(events[events.len() - 1].0, "conversation.removed");
    assert_eq!(both, vec!["personal:1".to_owned(), "personal:2".to_owned()]);
}
