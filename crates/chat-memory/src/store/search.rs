//! Search in memory, with the same query language and tokenizer as
//! PostgreSQL.

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::message::Message;
use chat_domain::ports::SearchRepository;
use chat_domain::search::{
    Candidate, MessageSearch, RELEVANCE_WINDOW, SearchHit, SearchOrder, index_words, rank,
};

use super::*;

#[async_trait]
impl SearchRepository for InMemoryStore {
    async fn search(&self, search: MessageSearch) -> Result<Vec<SearchHit>, ChatError> {
        let state = self.lock();
        let mut hits: Vec<&Message> = Vec::new();
        for membership in state
            .members
            .values()
            .filter(|m| m.user_id == search.viewer)
        {
            if search
                .conversation_id
                .is_some_and(|c| c != membership.conversation_id)
            {
                continue;
            }
            hits.extend(state.timeline(membership.conversation_id).filter(|m| {
                membership.sees_seq(m.seq)
                    && !m.is_deleted()
                    && search.sender_id.is_none_or(|s| s == m.sender_id)
                    && search.from.is_none_or(|from| m.created_at >= from)
                    && search.to.is_none_or(|to| m.created_at <= to)
                    && search.query.matches(&index_words(&m.content))
            }));
        }
        hits.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
        // The page, with each hit's relevance (0 in newest-first order).
        let page: Vec<(&Message, i64)> = match search.order {
            SearchOrder::Newest => hits
                .into_iter()
                .filter(|m| {
                    search
                        .after
                        .is_none_or(|after| (m.created_at, m.id) < (after.created_at, after.id))
                })
                .take(search.limit)
                .map(|m| (m, 0))
                .collect(),
            SearchOrder::Relevance => {
                hits.truncate(RELEVANCE_WINDOW);
                let candidates: Vec<Candidate> = hits
                    .iter()
                    .map(|m| Candidate {
                        id: m.id,
                        created_at: m.created_at,
                        content: m.content.clone(),
                    })
                    .collect();
                rank(&search.query, &candidates, search.after, search.limit)
                    .into_iter()
                    .filter_map(|p| {
                        hits.iter()
                            .find(|m| m.id == p.id)
                            .map(|m| (*m, p.relevance))
                    })
                    .collect()
            }
        };
        page.into_iter()
            .map(|(m, relevance)| {
                Ok(SearchHit {
                    message: state.message_view(m, Some(search.viewer))?,
                    snippet: search.query.snippet(&m.content),
                    relevance,
                })
            })
            .collect()
    }
}
