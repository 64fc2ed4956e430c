//! The contract's refusals that depend on facts only a store's transaction
//! can see: counts and roles read under the conversation's (or message's)
//! row lock. A store loads the facts inside its transaction, asks the rule,
//! and writes only what the rule allows; every store asks the same rule, so
//! the stores cannot drift apart.

use crate::ChatError;
use crate::conversation::{Access, Role};
use crate::message::Message;

/// Whether the holder of `access` (the caller's access to the message's
/// conversation; `None`: not a member) may react to `message`: they read it
/// (a member, and the message within their history), the conversation is
/// not archived, and the message is not deleted. The store reads both under
/// the message's lock, in the reaction's first round trip.
///
/// # Errors
/// `not_found` when unreadable; `conflict` when archived or deleted.
pub fn may_react(access: Option<Access>, message: &Message) -> Result<(), ChatError> {
    let access = access
        .filter(|a| a.sees_seq(message.seq))
        .ok_or(ChatError::NotFound("message"))?;
    if access.conversation.is_archived() {
        return Err(ChatError::conflict("the conversation is archived"));
    }
    if message.is_deleted() {
        return Err(ChatError::conflict("the message is deleted"));
    }
    Ok(())
}

/// The member count after adding `fresh` new members to a conversation of
/// `member_count`, refused past `max_members` (groups have a cap).
///
/// # Errors
/// `conflict` when the conversation would be over its cap.
pub fn members_after_adding(
    member_count: i64,
    fresh: usize,
    max_members: Option<i64>,
) -> Result<i64, ChatError> {
    let grown = member_count.saturating_add(i64::try_from(fresh).unwrap_or(i64::MAX));
    if max_members.is_some_and(|max| grown > max) {
        return Err(ChatError::conflict("the conversation is full"));
    }
    Ok(grown)
}

/// A member with `role` may be removed unless they are the last of
/// `owners` owners.
///
/// # Errors
/// `conflict` for the last owner.
pub fn may_remove_member(role: Role, owners: usize) -> Result<(), ChatError> {
    if role == Role::Owner && owners <= 1 {
        return Err(ChatError::conflict("the last owner cannot be removed"));
    }
    Ok(())
}

/// A member's role may change from `current` to `new` unless that demotes
/// the last of `owners` owners.
///
/// # Errors
/// `conflict` for demoting the last owner.
pub fn may_change_role(current: Role, new: Role, owners: usize) -> Result<(), ChatError> {
    if current == Role::Owner && new != Role::Owner && owners <= 1 {
        return Err(ChatError::conflict("the last owner cannot be demoted"));
    }
    Ok(())
}

/// A reaction with an emoji the message does not carry yet needs room among
/// its `distinct_others` other distinct emoji.
///
/// # Errors
/// `conflict` when the message already has `max_distinct` other emoji.
pub fn may_add_reaction(
    emoji_known: bool,
    distinct_others: usize,
    max_distinct: usize,
) -> Result<(), ChatError> {
    if !emoji_known && distinct_others >= max_distinct {
        return Err(ChatError::conflict(format!(
            "a message has at most {max_distinct} distinct emoji"
        )));
    }
    Ok(())
}

/// A new pin needs room among the conversation's `pins`.
///
/// # Errors
/// `conflict` when the conversation has `max_pins` pins.
pub fn may_pin(pins: usize, max_pins: usize) -> Result<(), ChatError> {
    if pins >= max_pins {
        return Err(ChatError::conflict(format!(
            "a conversation has at most {max_pins} pins"
        )));
    }
    Ok(())
}

/// Edits and reactions need a live message.
///
/// # Errors
/// `conflict` for a deleted message.
pub fn must_be_live(deleted: bool) -> Result<(), ChatError> {
    if deleted {
        return Err(ChatError::conflict("the message is deleted"));
    }
    Ok(())
}

/// A send links only the sender's ready, unsent uploads to this
/// conversation: all `requested` of them, or the send is refused.
///
/// # Errors
/// `validation_failed` on `attachmentIds` when any is not usable.
pub fn all_attachments_usable(usable: usize, requested: usize) -> Result<(), ChatError> {
    if usable != requested {
        return Err(ChatError::validation("attachmentIds", "unknown attachment"));
    }
    Ok(())
}

/// An upload is attached to an existing message only while it is ready and
/// unsent and the message is live, in the same conversation.
///
/// # Errors
/// `conflict` otherwise.
pub fn may_attach_to_message(linkable: bool) -> Result<(), ChatError> {
    if !linkable {
        return Err(ChatError::conflict(
            "the attachment is sent already, or the message is deleted",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_conflict(result: Result<impl std::fmt::Debug, ChatError>) -> bool {
        matches!(result, Err(ChatError::Conflict(_)))
    }

    #[test]
    fn a_group_fills_up_to_its_cap() {
        assert_eq!(members_after_adding(98, 2, Some(100)).ok(), Some(100));
        assert!(is_conflict(members_after_adding(99, 2, Some(100))));
        assert_eq!(members_after_adding(5_000, 10, None).ok(), Some(5_010));
    }

    #[test]
    fn the_last_owner_stays() {
        assert!(is_conflict(may_remove_member(Role::Owner, 1)));
        assert!(may_remove_member(Role::Owner, 2).is_ok());
        assert!(may_remove_member(Role::Member, 1).is_ok());
        assert!(is_conflict(may_change_role(Role::Owner, Role::Admin, 1)));
        assert!(may_change_role(Role::Owner, Role::Admin, 2).is_ok());
        assert!(may_change_role(Role::Owner, Role::Owner, 1).is_ok());
        assert!(may_change_role(Role::Member, Role::Owner, 1).is_ok());
    }

    #[test]
    fn reactions_and_pins_have_caps() {
        assert!(is_conflict(may_add_reaction(false, 50, 50)));
        assert!(may_add_reaction(true, 50, 50).is_ok());
        assert!(may_add_reaction(false, 49, 50).is_ok());
        assert!(is_conflict(may_pin(100, 100)));
        assert!(may_pin(99, 100).is_ok());
    }

    #[test]
    fn deleted_messages_and_unusable_attachments_are_refused() {
        assert!(is_conflict(must_be_live(true)));
        assert!(must_be_live(false).is_ok());
        assert!(matches!(
            all_attachments_usable(1, 2),
            Err(ChatError::Validation { .. })
        ));
        assert!(all_attachments_usable(2, 2).is_ok());
        assert!(is_conflict(may_attach_to_message(false)));
    }
}
