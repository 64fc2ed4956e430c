//! The repository conformance suite: the same cases, through the domain
//! service, against every store. `chat-memory` and `chat-postgres` each call
//! [`conformance_suite!`] with a function that builds a fresh [`Harness`], so
//! the in-memory fake cannot drift from Postgres.
#![expect(
    clippy::unwrap_used,
    reason = "a test suite: a failed step is a failed test"
)]

pub mod cases;
mod harness;
pub mod model;

pub use harness::{
    CannedFetcher, Harness, ManualClock, MemoryObjects, OutboxRead, Published, SequentialEventIds,
    TypeAndIdEncoder, event_channels,
};

/// Expands to one `#[tokio::test]` per case, each on a fresh store made by
/// `$make` (an `async fn() -> Harness`).
#[macro_export]
macro_rules! conformance_suite {
    ($make:path) => {
        $crate::conformance_suite!(@cases $make;
            provisioned_users_are_found_only_in_their_org,
            a_user_stays_in_the_org_they_were_first_seen_in,
            direct_conversations_are_idempotent_from_either_side,
            direct_conversation_with_oneself_is_allowed,
            group_shows_other_members_without_the_viewer,
            creating_with_unknown_or_foreign_users_is_refused,
            org_channels_enroll_every_org_member_even_later_ones,
            since_join_members_see_only_later_messages,
            a_full_newest_page_stops_at_the_history_floor,
            non_members_cannot_read,
            seq_is_gap_free_and_client_msg_id_is_idempotent,
            concurrent_sends_get_distinct_gap_free_seqs,
            concurrent_retries_of_one_send_make_one_message,
            unread_counts_follow_the_contract,
            mark_read_is_forward_only_and_mark_unread_steps_back,
            unread_counts_stay_exact_through_deletes_and_edits,
            message_pages_move_in_both_directions,
            around_and_first_unread_contain_their_message,
            threads_are_one_level_and_counted_on_the_parent,
            quotes_and_mentions_are_checked,
            conversations_list_by_activity_with_cursor_paging,
            list_conversation_filters_apply,
            change_events_are_written_with_the_change,
            large_conversations_get_one_batched_unread_event,
            updating_needs_an_admin_and_not_a_direct_conversation,
            update_sets_and_clears_fields,
            archived_conversations_are_read_only_for_content,
            converting_turns_a_group_into_a_private_channel,
            deleting_is_for_owners_and_removes_it_for_everyone,
            member_lists_filter_by_role_and_page_with_a_total,
            adding_members_follows_the_rules,
            groups_hold_at_most_the_member_limit,
            added_members_of_since_join_conversations_see_only_later_messages,
            removing_members_and_the_last_owner,
            roles_change_by_owners_and_the_last_owner_stays,
            leaving_a_dm_hides_it_until_posting_or_mention,
            the_last_owner_leaving_a_group_hands_it_on,
            the_last_member_leaving_deletes_the_group,
            admins_only_posting_policy,
            preferences_star_mute_and_notify,
            unread_totals_leave_out_muted_and_hidden,
            membership_events_are_written,
            edits_are_for_the_author,
            deletes_leave_tombstones,
            reactions_add_remove_toggle_and_count,
            reaction_counts_are_most_used_first_then_first_used,
            a_message_holds_at_most_fifty_distinct_emoji,
            pins_are_capped_and_listed_newest_first,
            pins_and_reactions_respect_since_join_history,
            reports_are_once_per_reporter,
            archived_conversations_refuse_message_changes,
            admins_delete_but_members_do_not,
            message_change_events_are_written,
            thread_replies_update_their_parent_in_events,
            replies_reactions_pins_and_edits_of_one_message_run_side_by_side,
            search_matches_words_phrases_and_prefixes,
            search_sees_only_what_the_caller_may_read,
            search_filters_by_sender_and_time,
            search_pages_newest_first_without_duplicates,
            search_works_beyond_english,
            search_orders_by_relevance,
            links_are_unfurled_onto_their_message,
            the_same_link_is_fetched_once,
            edits_replace_previews_and_deletes_drop_them,
            uploads_are_checked_then_sent,
            only_own_ready_attachments_of_the_conversation_can_be_sent,
            finalize_can_attach_to_the_callers_message,
            attachment_lists_are_newest_first_within_history,
            upload_rules_hold,
            avatars_are_ready_attachments_of_the_conversation,
            the_janitor_removes_uploads_never_finalized,
            conversation_events_are_numbered_and_kept,
            event_reads_are_checked,
            concurrent_writers_keep_the_event_sequence_gap_free,
            concurrent_writers_keep_a_personal_sequence_gap_free,
            push_requests_follow_the_recipient_rules,
            members_see_events_from_joining_until_removal,
            personal_events_are_numbered_per_user,
            sync_reports_what_changed_since_the_cursor,
            readers_older_than_what_is_kept_reload,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::cases::$case($make().await).await;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    /// The suite's list of cases is written by hand (a macro cannot find
    /// functions): this test fails when a case in `src/cases/` is missing
    /// from [`conformance_suite!`], or the list names one that is gone.
    #[test]
    fn the_suite_names_every_case() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut cases = Vec::new();
        for entry in std::fs::read_dir(dir.join("cases")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ")
                    && let Some((name, args)) = rest.split_once('(')
                    && args.starts_with("h: Harness)")
                {
                    cases.push(name.to_owned());
                }
            }
        }
        let lib = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
        let start = lib.find("@cases $make;").unwrap();
        let listed: Vec<String> = lib[start..]
            .lines()
            .skip(1)
            .map(str::trim)
            .take_while(|line| !line.starts_with(')'))
            .map(|line| line.trim_end_matches(',').to_owned())
            .collect();
        assert!(
            cases.len() > 50,
            "found {} cases: the reading is broken",
            cases.len()
        );
        cases.sort();
        let mut sorted = listed.clone();
        sorted.sort();
        let unlisted: Vec<_> = cases.iter().filter(|c| !listed.contains(c)).collect();
        let gone: Vec<_> = listed.iter().filter(|c| !cases.contains(c)).collect();
        assert!(
            unlisted.is_empty(),
            "cases missing from conformance_suite!: {unlisted:?}"
        );
        assert!(
            gone.is_empty(),
            "conformance_suite! names no such case: {gone:?}"
        );
        sorted.dedup();
        assert_eq!(sorted.len(), listed.len(), "a case is listed twice");
    }
}
