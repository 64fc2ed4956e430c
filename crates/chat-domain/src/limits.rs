//! The contract's limits. Every one has the contract's default and can be
//! changed by configuration.

/// Limits applied by the use cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Sends per second a user may sustain (per replica).
    pub send_rate_per_sec: f64,
    /// Sends a user may make at once before the rate applies.
    pub send_burst: u32,
    /// Milliseconds between two typing publishes of a user in a conversation.
    pub typing_interval_ms: i64,
    /// Conversations up to this size get exact per-member `unread.updated`
    /// on every message; larger ones get one batched "changed" broadcast.
    pub unread_fanout_max: i64,
    /// Bytes of one file, at most.
    pub file_bytes: i64,
    /// Seconds an upload ticket's URL stays valid.
    pub upload_ttl_secs: u64,
    /// Seconds a download URL stays valid.
    pub download_ttl_secs: u64,
    /// Unfurl links in messages (queue jobs on send and edit).
    pub unfurl_links: bool,
    /// How long a fetched preview (or a failure) is reused, in milliseconds.
    pub preview_cache_ttl_ms: i64,
    /// Characters of message content.
    pub content_chars: usize,
    /// Ids in `mentions`.
    pub mentions: usize,
    /// Bytes of serialized `metadata` JSON.
    pub metadata_bytes: usize,
    /// Characters of `clientMsgId`.
    pub client_msg_id_chars: usize,
    /// Attachments per message.
    pub attachments_per_message: usize,
    /// Characters of a conversation name.
    pub name_chars: usize,
    /// Characters of a conversation description.
    pub description_chars: usize,
    /// Members of a group, the creator included.
    pub group_members: usize,
    /// Distinct emoji per message.
    pub distinct_emoji: usize,
    /// Pinned messages per conversation.
    pub pins: usize,
    /// Default and maximum page size of list-conversations.
    pub conversations_page: PageSize,
    /// Default and maximum page size of list-messages.
    pub messages_page: PageSize,
    /// Default and maximum page size of the other lists.
    pub other_page: PageSize,
    /// How long numbered events are kept for catching up, in milliseconds
    /// (`CHAT_EVENT_RETENTION`).
    pub event_retention_ms: i64,
}

/// A list's default and maximum page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    pub default: usize,
    pub max: usize,
}

impl PageSize {
    /// The page size for a request's `limit`: the default when absent, else
    /// `1..=max`.
    ///
    /// # Errors
    /// `validation_failed` on `limit` outside `1..=max`.
    pub fn resolve(self, requested: Option<i64>) -> Result<usize, crate::ChatError> {
        match requested {
            None => Ok(self.default),
            Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= self.max) => {
                Ok(usize::try_from(n).unwrap_or(self.default))
            }
            Some(_) => Err(crate::ChatError::validation(
                "limit",
                format!("must be between 1 and {}", self.max),
            )),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            send_rate_per_sec: 10.0,
            send_burst: 20,
            typing_interval_ms: 2_000,
            unread_fanout_max: 25,
            file_bytes: 100 * 1024 * 1024,
            upload_ttl_secs: 15 * 60,
            download_ttl_secs: 60 * 60,
            unfurl_links: true,
            preview_cache_ttl_ms: 24 * 60 * 60 * 1000,
            content_chars: 10_000,
            mentions: 50,
            metadata_bytes: 5 * 1024,
            client_msg_id_chars: 64,
            attachments_per_message: 10,
            name_chars: 80,
            description_chars: 1_000,
            group_members: 100,
            distinct_emoji: 50,
            pins: 100,
            conversations_page: PageSize {
                default: 20,
                max: 50,
            },
            messages_page: PageSize {
                default: 50,
                max: 100,
            },
            other_page: PageSize {
                default: 50,
                max: 100,
            },
            event_retention_ms: 30 * 24 * 60 * 60 * 1000,
        }
    }
}
