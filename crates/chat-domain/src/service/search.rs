//! The search-messages use case.

use crate::search::{MessageSearch, SearchHit, SearchOrder, SearchPosition, SearchQuery};
use crate::user::Caller;
use crate::{ChatError, ConversationId, Timestamp, UserId};

use super::ChatService;

/// The search-messages request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchMessages {
    pub query: String,
    pub conversation_id: Option<ConversationId>,
    pub sender_id: Option<UserId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub order: SearchOrder,
    pub after: Option<SearchPosition>,
    pub limit: Option<i64>,
}

/// A page of hits, in the requested order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    pub next: Option<SearchPosition>,
}

impl ChatService {
    /// Searches every conversation the caller reads (or one of them).
    ///
    /// # Errors
    /// `validation_failed` for an empty or oversized query or a bad limit;
    /// `not_found` for a `conversationId` the caller cannot read.
    pub async fn search_messages(
        &self,
        caller: Caller,
        request: SearchMessages,
    ) -> Result<SearchPage, ChatError> {
        let query = SearchQuery::parse(&request.query)?;
        let limit = self.limits.other_page.resolve(request.limit)?;
        if let Some(id) = request.conversation_id {
            self.readable(caller, id).await?;
        }
        let search = MessageSearch {
            viewer: caller.user_id,
            query,
            conversation_id: request.conversation_id,
            sender_id: request.sender_id,
            from: request.from,
            to: request.to,
            order: request.order,
            after: request.after,
            limit: limit + 1,
        };
        let mut hits: Vec<SearchHit> = self
            .search
            .search(search)
            .await?
            .into_iter()
            .map(|hit| SearchHit {
                message: self.signer.view(hit.message),
                ..hit
            })
            .collect();
        let next = if hits.len() > limit {
            hits.truncate(limit);
            hits.last().map(SearchHit::position)
        } else {
            None
        };
        Ok(SearchPage { hits, next })
    }
}
