//! Catching up after a disconnect: numbered event streams, their kept
//! history, and sync (contract: "Catching up after a disconnect").
//!
//! Every numbered event (see [`crate::events::OutboxEvent::is_numbered`])
//! takes the next number of its stream in the transaction that writes it:
//! a conversation's stream (`chat:<id>`) or a user's (`personal:<userId>`).
//! Stores keep the envelopes for the retention period; the rules of who sees
//! what and when a reader must reload live here.

use crate::{ConversationId, EventId, Timestamp};

/// Default and maximum events per page of list-conversation-events and
/// list-personal-events, and conversations per page of sync.
pub const EVENTS_PAGE: crate::limits::PageSize = crate::limits::PageSize {
    default: 100,
    max: 500,
};

/// One kept event: the envelope clients received, with its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub event_seq: i64,
    pub event_id: EventId,
    /// The contract's event `type`.
    pub event_type: String,
    /// The JSON envelope, `eventSeq` included, as published.
    pub envelope: String,
}

/// Which events of a conversation a member may read (see
/// [`crate::conversation::Membership::sees_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventVisibility {
    /// Only events numbered above this.
    pub from_event_seq: i64,
    /// Events about a message with `seq` at or below this are hidden.
    pub hidden_through_message_seq: i64,
}

/// What a store reads for one page of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRead {
    /// Events numbered above this, oldest first.
    pub after: i64,
    pub visibility: EventVisibility,
    /// At most this many (the service asks one more than the page to know
    /// whether there are more).
    pub limit: usize,
}

/// What a store found for an [`EventRead`], all from one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventSlice {
    /// The visible events after the position, oldest first.
    pub events: Vec<RecordedEvent>,
    /// The stream's newest number.
    pub last_event_seq: i64,
    /// The oldest number still kept; `None` when nothing is kept.
    pub oldest_kept: Option<i64>,
}

/// One page of list-conversation-events or list-personal-events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<RecordedEvent>,
    pub has_more: bool,
    /// Where the reader now is: pass it as `after` next time. The last
    /// event of the page while there are more; the stream's newest number
    /// once caught up (events the reader may not see are skipped over).
    pub last_event_seq: i64,
    /// `after` is older than what is kept: reload, then go on from
    /// `last_event_seq`.
    pub reset: bool,
}

impl EventPage {
    /// The page for a reader at `after` whose events start at `visible_from`
    /// (0, or the stream's number when a `sinceJoin` member joined), from
    /// what the store read (`limit + 1` events at most).
    pub fn from_slice(slice: EventSlice, after: i64, visible_from: i64, limit: usize) -> Self {
        let start = after.max(visible_from);
        let missing = start < slice.last_event_seq
            && slice
                .oldest_kept
                .is_none_or(|oldest| oldest > start.saturating_add(1));
        if missing {
            return Self {
                events: Vec::new(),
                has_more: false,
                last_event_seq: slice.last_event_seq,
                reset: true,
            };
        }
        let mut events = slice.events;
        let has_more = events.len() > limit;
        events.truncate(limit);
        let last_event_seq = match events.last() {
            Some(last) if has_more => last.event_seq,
            _ => slice.last_event_seq.max(start),
        };
        Self {
            events,
            has_more,
            last_event_seq,
            reset: false,
        }
    }
}

/// Where a sync chain stands. Opaque to clients (the HTTP adapter encodes
/// it); the stores' change markers are transaction ids on PostgreSQL and a
/// write counter in memory, both such that every change not seen by a read
/// is marked at or above the marker that read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPosition {
    /// Report conversations changed at or after this marker; `None` for a
    /// full sync (every current conversation).
    pub changed_since: Option<i64>,
    /// The marker of the chain's first page: the next chain starts there,
    /// so nothing that changed while the pages were read is missed.
    pub horizon: i64,
    /// The page boundary: conversations with a larger id come next.
    pub after: Option<ConversationId>,
    /// When the chain started, to notice a cursor older than what is kept.
    pub started_at: Timestamp,
}

/// What sync asks a store for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRead {
    pub changed_since: Option<i64>,
    pub after: Option<ConversationId>,
    pub limit: usize,
}

/// One conversation in a sync answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncEntry {
    pub conversation_id: ConversationId,
    pub last_event_seq: i64,
    /// The caller is no longer a member (left, removed, or it was deleted).
    pub removed: bool,
}

/// What a store found for a [`SyncRead`], from one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSlice {
    /// By conversation id, at most `limit` (the service asks one more).
    pub entries: Vec<SyncEntry>,
    /// Every change this read did not see is marked at or above this.
    pub marker: i64,
    /// The caller's personal stream's newest number.
    pub personal_event_seq: i64,
}

/// One page of sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPage {
    pub entries: Vec<SyncEntry>,
    pub has_more: bool,
    pub next: SyncPosition,
    pub personal_event_seq: i64,
}

impl SyncPage {
    /// The page for `position` (`None`: a first, full sync started `now`)
    /// from what the store read (`limit + 1` entries at most).
    pub fn from_slice(
        slice: SyncSlice,
        position: Option<SyncPosition>,
        now: Timestamp,
        limit: usize,
    ) -> Self {
        let mut entries = slice.entries;
        let has_more = entries.len() > limit;
        entries.truncate(limit);
        let (changed_since, horizon, started_at) = match position {
            Some(p) if p.after.is_some() => (p.changed_since, p.horizon, p.started_at),
            Some(p) => (p.changed_since, slice.marker, now),
            None => (None, slice.marker, now),
        };
        let next = match entries.last() {
            Some(last) if has_more => SyncPosition {
                changed_since,
                horizon,
                after: Some(last.conversation_id),
                started_at,
            },
            _ => SyncPosition {
                changed_since: Some(horizon),
                horizon,
                after: None,
                started_at,
            },
        };
        Self {
            entries,
            has_more,
            next,
            personal_event_seq: slice.personal_event_seq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64) -> RecordedEvent {
        RecordedEvent {
            event_seq: seq,
            event_id: EventId::new(format!("e{seq}")),
            event_type: "message.created".to_owned(),
            envelope: "{}".to_owned(),
        }
    }

    fn slice(seqs: &[i64], last: i64, oldest: Option<i64>) -> EventSlice {
        EventSlice {
            events: seqs.iter().copied().map(event).collect(),
            last_event_seq: last,
            oldest_kept: oldest,
        }
    }

    #[test]
    fn a_reader_within_what_is_kept_gets_the_events_after_its_position() {
        let page = EventPage::from_slice(slice(&[4, 5, 6], 6, Some(1)), 3, 0, 10);
        assert!(!page.reset);
        assert!(!page.has_more);
        assert_eq!(page.events.len(), 3);
        assert_eq!(page.last_event_seq, 6);
    }

    #[test]
    fn a_full_page_says_where_to_go_on() {
        let page = EventPage::from_slice(slice(&[4, 5, 6], 9, Some(1)), 3, 0, 2);
        assert!(page.has_more);
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.last_event_seq, 5);
    }

    #[test]
    fn a_position_older_than_what_is_kept_is_a_reset() {
        // Events 1..=4 were pruned: a reader at 2 missed 3 and 4.
        let page = EventPage::from_slice(slice(&[5, 6], 6, Some(5)), 2, 0, 10);
        assert!(page.reset);
        assert!(page.events.is_empty());
        assert_eq!(page.last_event_seq, 6);
        // A reader at 4 missed nothing.
        assert!(!EventPage::from_slice(slice(&[5, 6], 6, Some(5)), 4, 0, 10).reset);
        // Everything pruned: only a reader already at the end is not reset.
        assert!(EventPage::from_slice(slice(&[], 6, None), 5, 0, 10).reset);
        assert!(!EventPage::from_slice(slice(&[], 6, None), 6, 0, 10).reset);
    }

    #[test]
    fn a_late_sincejoin_member_starts_at_their_joining() {
        // Joined when the stream was at 10; 1..=10 are not theirs, even
        // when already pruned, so no reset.
        let page = EventPage::from_slice(slice(&[11, 12], 12, Some(8)), 0, 10, 10);
        assert!(!page.reset);
        assert_eq!(page.events.len(), 2);
    }

    #[test]
    fn hidden_events_at_the_end_are_skipped_over() {
        let page = EventPage::from_slice(slice(&[], 9, Some(1)), 6, 0, 10);
        assert!(!page.reset);
        assert_eq!(page.last_event_seq, 9);
    }

    fn entries(ids: std::ops::RangeInclusive<i64>) -> Vec<SyncEntry> {
        ids.map(|id| SyncEntry {
            conversation_id: ConversationId::new(id),
            last_event_seq: 1,
            removed: false,
        })
        .collect()
    }

    #[test]
    fn a_sync_chain_ends_where_its_first_page_started() {
        let now = Timestamp::from_unix_millis(1_000).unwrap_or_else(|| unreachable!());
        let first = SyncPage::from_slice(
            SyncSlice {
                entries: entries(1..=3),
                marker: 100,
                personal_event_seq: 4,
            },
            None,
            now,
            2,
        );
        assert!(first.has_more);
        assert_eq!(first.next.changed_since, None);
        assert_eq!(first.next.after, Some(ConversationId::new(2)));
        // Changes made while paging are marked above 100: the next chain
        // starts at the first page's marker, not the last page's.
        let last = SyncPage::from_slice(
            SyncSlice {
                entries: entries(3..=3),
                marker: 180,
                personal_event_seq: 4,
            },
            Some(first.next),
            now,
            2,
        );
        assert!(!last.has_more);
        assert_eq!(last.next.changed_since, Some(100));
        assert_eq!(last.next.after, None);
    }
}
