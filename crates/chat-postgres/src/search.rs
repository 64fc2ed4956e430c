//! Message search on PostgreSQL full-text search.

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::ports::SearchRepository;
use chat_domain::search::{MessageSearch, SearchHit, Term};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::PgStore;
use crate::error::StoreError;
use crate::prepared::Prepare;
use crate::rows::{MESSAGE_COLUMNS, MESSAGE_JOINS, MessageRow};
use crate::views::decorate;

/// The query as a `tsquery`: terms ANDed, phrases with `<->`, prefixes with
/// `:*`. Words are letters and digits only, so quoting them is safe.
fn tsquery(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|term| match term {
            Term::Word {
                word,
                prefix: false,
            } => format!("'{word}'"),
            Term::Word { word, prefix: true } => format!("'{word}':*"),
            Term::Phrase(words) => {
                let inner: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
                format!("({})", inner.join(" <-> "))
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

#[async_trait]
impl SearchRepository for PgStore {
    async fn search(&self, search: MessageSearch) -> Result<Vec<SearchHit>, ChatError> {
        let mut conn = self.conn().await?;
        // Only the viewer's conversations, within their history; the GIN
        // index finds candidates, membership and paging filter them.
        let rows: Vec<MessageRow> = diesel::sql_query(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages x {MESSAGE_JOINS} \
             JOIN conversation_members m ON m.conversation_id = x.conversation_id AND m.user_id = $1 \
             WHERE x.search_vector @@ to_tsquery('simple', $2) \
               AND x.deleted_at IS NULL AND x.seq > m.history_from_seq \
               AND ($3::bigint IS NULL OR x.conversation_id = $3) \
               AND ($4::bigint IS NULL OR x.sender_id = $4) \
               AND ($5::timestamptz IS NULL OR x.created_at >= $5) \
               AND ($6::timestamptz IS NULL OR x.created_at <= $6) \
               AND ($7::timestamptz IS NULL OR (x.created_at, x.id) < ($7, $8)) \
             ORDER BY x.created_at DESC, x.id DESC LIMIT $9"
        ))
        .bind::<BigInt, _>(search.viewer.get())
        .bind::<Text, _>(tsquery(search.query.terms()))
        .bind::<Nullable<BigInt>, _>(search.conversation_id.map(|c| c.get()))
        .bind::<Nullable<BigInt>, _>(search.sender_id.map(|s| s.get()))
        .bind::<Nullable<Timestamptz>, _>(search.from.map(|t| t.datetime()))
        .bind::<Nullable<Timestamptz>, _>(search.to.map(|t| t.datetime()))
        .bind::<Nullable<Timestamptz>, _>(search.after.map(|(at, _)| at.datetime()))
        .bind::<BigInt, _>(search.after.map_or(0, |(_, id)| id.get()))
        .bind::<BigInt, _>(i64::try_from(search.limit).unwrap_or(i64::MAX))
        .prepared()
        .load(&mut conn)
        .await
        .map_err(|e| StoreError::from(e).into_chat())?;
        let mut views: Vec<_> = rows.into_iter().map(MessageRow::into_view).collect();
        decorate(&conn, Some(search.viewer), &mut views)
            .await
            .map_err(StoreError::into_chat)?;
        Ok(views
            .into_iter()
            .map(|message| SearchHit {
                snippet: search.query.snippet(&message.message.content),
                message,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::search::SearchQuery;

    #[test]
    fn builds_tsqueries() {
        let query =
            SearchQuery::parse(r#"ship "release notes" fri"#).unwrap_or_else(|_| unreachable!());
        assert_eq!(
            tsquery(query.terms()),
            "'ship' & ('release' <-> 'notes') & 'fri':*"
        );
    }
}
