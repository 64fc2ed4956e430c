//! Message search on PostgreSQL full-text search.
//!
//! The index holds exactly the domain's words (`chat_domain::search::
//! index_words`: normalized, accents folded, CJK as bigrams), written as a
//! `tsvector` literal, and queries are `tsquery` literals of the same words:
//! PostgreSQL's own parser and dictionaries never touch them, so both stores
//! match the same messages.
//!
//! Two plans, chosen here rather than left to the planner's guess:
//! - **rare**: when a query word is rare, the GIN index finds every hit first
//!   (a few rows), then visibility, filters and order apply to those;
//! - **common**: when every word is common, the newest messages are walked
//!   in order (the conversation's, or everyone's) and the first hits are
//!   found within a few rows.
//!
//! Which words are common comes from PostgreSQL's own statistics of the
//! column (`pg_stats.most_common_elems`, kept by ANALYZE), cached for a few
//! minutes. A word that is not among them is rare by construction.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chat_domain::ChatError;
use chat_domain::ports::SearchRepository;
use chat_domain::search::{
    Candidate, MessageSearch, RELEVANCE_WINDOW, SearchHit, SearchOrder, SearchPosition, Term,
    index_words, rank,
};
use chat_domain::{MessageId, Timestamp};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Double, Float4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::PgStore;
use crate::error::{StoreError, db_error};
use crate::prepared::Prepare;
use crate::rows::{MESSAGE_COLUMNS, MessageRow, SEARCH_MESSAGE_JOINS};
use crate::views::decorate;

/// A word expected in more messages than this is common: walking the newest
/// messages finds a page of its hits quickly, and reading all its hits
/// through the index would not be quick. Reading 10,000 hits through the
/// index and ordering them took 35 ms (issue 23's bench); at 3,000 it is
/// about 10 ms, and a walk through a million-message conversation that holds
/// 3,000 of them reads some 7,000 rows for a page.
const COMMON_HITS: f64 = 3_000.0;
/// A prefix of fewer characters than this is common, whatever the
/// statistics list (see [`WordStatistics::plan`]).
const SHORTEST_RARE_PREFIX: usize = 3;
/// How long the word statistics are reused.
const STATISTICS_TTL: Duration = Duration::from_secs(300);
/// PostgreSQL keeps positions up to this value.
const MAX_POSITION: usize = 16_383;

/// The `tsvector` literal of `text`: each word with its positions, 1-based,
/// in the order of [`index_words`].
pub(crate) fn search_vector(text: &str) -> String {
    let mut positions: Vec<(String, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, word) in index_words(text).into_iter().enumerate() {
        let at = (i + 1).min(MAX_POSITION);
        match index.get(&word) {
            Some(&slot) => positions[slot].1.push(at),
            None => {
                index.insert(word.clone(), positions.len());
                positions.push((word, vec![at]));
            }
        }
    }
    positions
        .iter()
        .map(|(word, at)| {
            let at: Vec<String> = at.iter().map(ToString::to_string).collect();
            format!("{}:{}", lexeme(word), at.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word quoted for a `tsvector` or `tsquery` literal.
fn lexeme(word: &str) -> String {
    format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"))
}

/// The query as a `tsquery` literal: terms ANDed, phrases with `<->`,
/// prefixes with `:*`.
fn tsquery(terms: &[Term]) -> String {
    terms
        .iter()
        .map(|term| match term {
            Term::Word {
                word,
                prefix: false,
            } => lexeme(word),
            Term::Word { word, prefix: true } => format!("{}:*", lexeme(word)),
            Term::Phrase(words) => {
                let inner: Vec<String> = words.iter().map(|w| lexeme(w)).collect();
                format!("({})", inner.join(" <-> "))
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Which plan a search takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// All hits through the GIN index, then ordered.
    Rare,
    /// The newest messages in order, filtered.
    Common,
}

/// How often words occur, from PostgreSQL's statistics of the column.
#[derive(Debug, Default)]
pub(crate) struct WordStatistics {
    /// Expected messages per word, for the most common words, in word
    /// order (the words a prefix starts are one range).
    expected: BTreeMap<String, f64>,
}

impl WordStatistics {
    /// Rare as soon as one term is rare: the index then returns few rows
    /// whatever the other terms. A word is rare when the statistics do not
    /// list it as common. A prefix (the last word of every query, typed as
    /// the user types) matches every word it starts: it is rare when it is
    /// long enough to be specific and the common words it starts add up to
    /// few messages; "zep" that starts no common word is rare, "hel" that
    /// starts "hello" is as common as "hello", and "z" is common whatever
    /// the statistics say (it starts too many words that are each too rare
    /// to be listed).
    pub(crate) fn plan(&self, terms: &[Term]) -> Plan {
        let rare = terms.iter().any(|term| match term {
            Term::Word {
                word,
                prefix: false,
            } => self.word_is_rare(word),
            Term::Word { word, prefix: true } => self.prefix_is_rare(word),
            Term::Phrase(words) => words.iter().any(|word| self.word_is_rare(word)),
        });
        if rare { Plan::Rare } else { Plan::Common }
    }

    fn word_is_rare(&self, word: &str) -> bool {
        self.expected
            .get(word)
            .is_none_or(|hits| *hits < COMMON_HITS)
    }

    fn prefix_is_rare(&self, prefix: &str) -> bool {
        if prefix.chars().count() < SHORTEST_RARE_PREFIX {
            return false;
        }
        let hits: f64 = self
            .expected
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(word, _)| word.starts_with(prefix))
            .map(|(_, hits)| hits)
            .sum();
        hits < COMMON_HITS
    }
}

#[derive(QueryableByName)]
struct StatisticsRow {
    #[diesel(sql_type = Nullable<Array<Text>>)]
    words: Option<Vec<String>>,
    #[diesel(sql_type = Nullable<Array<Float4>>)]
    frequencies: Option<Vec<f32>>,
    #[diesel(sql_type = Double)]
    rows: f64,
}

/// The statistics, fetched at most every [`STATISTICS_TTL`].
#[derive(Default)]
pub(crate) struct WordStatisticsCache {
    cached: RwLock<Option<(Instant, std::sync::Arc<WordStatistics>)>>,
    /// Tests run the same cases through each plan.
    forced: Option<Plan>,
}

impl WordStatisticsCache {
    /// A cache that answers `plan` whatever the words.
    #[cfg(feature = "testing")]
    pub(crate) fn always(plan: Plan) -> Self {
        Self {
            cached: RwLock::default(),
            forced: Some(plan),
        }
    }

    async fn plan(&self, conn: &mut AsyncPgConnection, terms: &[Term]) -> Plan {
        match self.forced {
            Some(plan) => plan,
            None => self.get(conn).await.plan(terms),
        }
    }

    async fn get(&self, conn: &mut AsyncPgConnection) -> std::sync::Arc<WordStatistics> {
        if let Some((at, stats)) = self
            .cached
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && at.elapsed() < STATISTICS_TTL
        {
            return stats.clone();
        }
        let stats = std::sync::Arc::new(match load_statistics(conn).await {
            Ok(stats) => stats,
            Err(e) => {
                // Without statistics every word is rare: the index plan is
                // right for rare words and merely slower for common ones.
                tracing::warn!(error = ?e, "reading search statistics failed");
                WordStatistics::default()
            }
        });
        *self
            .cached
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), stats.clone()));
        stats
    }
}

async fn load_statistics(conn: &mut AsyncPgConnection) -> Result<WordStatistics, StoreError> {
    let rows: Vec<StatisticsRow> = diesel::sql_query(
        "SELECT s.most_common_elems::text::text[] AS words, s.most_common_elem_freqs AS frequencies, \
           greatest(c.reltuples, 0)::float8 AS rows \
         FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() \
           AND s.tablename = 'messages' AND s.attname = 'search_vector' \
         WHERE c.oid = 'messages'::regclass",
    )
    .prepared()
    .load(conn)
    .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(WordStatistics::default());
    };
    let expected = row
        .words
        .unwrap_or_default()
        .into_iter()
        .zip(row.frequencies.unwrap_or_default())
        .map(|(word, frequency)| (word, f64::from(frequency) * row.rows))
        .collect();
    Ok(WordStatistics { expected })
}

/// The search statement for a plan and a scope, selecting the message rows
/// (for `testing::explain`).
#[cfg(feature = "testing")]
pub(crate) fn search_sql(plan: Plan, in_one_conversation: bool) -> String {
    hits_sql(plan, in_one_conversation, MESSAGE_COLUMNS)
}

/// The request's own filters on a hit `x`, the same binds in every search
/// statement: sender (`$4`), sent from and to (`$5`, `$6`), and the page's
/// start (`$7`, `$8`).
const REQUEST_FILTERS: &str = "AND ($4::bigint IS NULL OR x.sender_id = $4) \
    AND ($5::timestamptz IS NULL OR x.created_at >= $5) \
    AND ($6::timestamptz IS NULL OR x.created_at <= $6) \
    AND ($7::timestamptz IS NULL OR (x.created_at, x.id) < ($7, $8))";

/// The hits of a plan and a scope, as `columns` of `messages x`. Four texts
/// rather than one with `($3 IS NULL OR ...)`, so each prepared statement
/// keeps a plan that uses its index.
fn hits_sql(plan: Plan, in_one_conversation: bool, columns: &str) -> String {
    let scope = if in_one_conversation {
        "x.conversation_id = $3"
    } else {
        "$3::bigint IS NULL"
    };
    let filters = format!(
        "JOIN conversation_members m ON m.conversation_id = x.conversation_id AND m.user_id = $1 \
         WHERE x.deleted_at IS NULL AND x.seq > m.history_from_seq AND {scope} \
           {REQUEST_FILTERS} \
         ORDER BY x.created_at DESC, x.id DESC LIMIT $9"
    );
    match plan {
        // MATERIALIZED: the hits are read through the GIN index first and
        // nothing else is considered.
        Plan::Rare => {
            let hit_scope = if in_one_conversation {
                "AND h.conversation_id = $3"
            } else {
                ""
            };
            format!(
                "WITH hits AS MATERIALIZED ( \
                   SELECT h.id FROM messages h WHERE h.search_vector @@ $2::tsquery {hit_scope}) \
                 SELECT {columns} FROM hits JOIN messages x ON x.id = hits.id {SEARCH_MESSAGE_JOINS} \
                 {filters}"
            )
        }
        // The match is written as the function behind `@@`, which the GIN
        // index cannot serve: the walk is the only plan left. As an
        // operator, a word of a few thousand hits looked selective enough
        // to the planner to read all of them through the index instead.
        Plan::Common => {
            format!("SELECT {columns} FROM messages x {SEARCH_MESSAGE_JOINS} {filters}").replacen(
                "WHERE x.deleted_at IS NULL",
                "WHERE ts_match_vq(x.search_vector, $2::tsquery) AND x.deleted_at IS NULL",
                1,
            )
        }
    }
}

#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: time::OffsetDateTime,
    #[diesel(sql_type = Text)]
    content: String,
}

#[async_trait]
impl SearchRepository for PgStore {
    async fn search(&self, search: MessageSearch) -> Result<Vec<SearchHit>, ChatError> {
        let mut conn = self.conn().await?;
        let plan = self
            .word_statistics
            .plan(&mut conn, search.query.terms())
            .await;
        let scoped = search.conversation_id.is_some();
        // Newest first pages in SQL; relevance ranks the newest window of
        // hits with the domain's `rank`.
        let (after, limit) = match search.order {
            SearchOrder::Newest => (search.after, search.limit),
            SearchOrder::Relevance => (None, RELEVANCE_WINDOW),
        };
        // Not `.prepared()`: a cached statement gets a generic plan after
        // five runs, planned for a word of average frequency, which is the
        // wrong plan for a common word and for a rare one alike. Planned
        // each time with the actual query (one more round trip), the search
        // keeps the plan its words call for.
        let statement = |columns: &str| {
            diesel::sql_query(hits_sql(plan, scoped, columns))
                .bind::<BigInt, _>(search.viewer.get())
                .bind::<Text, _>(tsquery(search.query.terms()))
                .bind::<Nullable<BigInt>, _>(search.conversation_id.map(|c| c.get()))
                .bind::<Nullable<BigInt>, _>(search.sender_id.map(|s| s.get()))
                .bind::<Nullable<Timestamptz>, _>(search.from.map(|t| t.datetime()))
                .bind::<Nullable<Timestamptz>, _>(search.to.map(|t| t.datetime()))
                .bind::<Nullable<Timestamptz>, _>(after.map(|p| p.created_at.datetime()))
                .bind::<BigInt, _>(after.map_or(0, |p| p.id.get()))
                .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        };
        // A common word across all of the user's conversations is walked
        // conversation by conversation (see `walk_conversations`): the
        // global newest-first walk reads every newer message of other
        // people's conversations first.
        let walk_conversations = plan == Plan::Common && !scoped;
        let (rows, relevance): (Vec<MessageRow>, Vec<i64>) = match search.order {
            SearchOrder::Newest if walk_conversations => {
                let hits =
                    walk_conversations_newest_first(&mut conn, &search, after, limit).await?;
                let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
                let rows = rows_in_order(&mut conn, &ids).await?;
                let zeros = vec![0; rows.len()];
                (rows, zeros)
            }
            SearchOrder::Newest => {
                let rows: Vec<MessageRow> = statement(MESSAGE_COLUMNS)
                    .load(&mut conn)
                    .await
                    .map_err(db_error)?;
                let zeros = vec![0; rows.len()];
                (rows, zeros)
            }
            SearchOrder::Relevance => {
                let candidates: Vec<CandidateRow> = if walk_conversations {
                    walk_conversations_newest_first(&mut conn, &search, after, limit).await?
                } else {
                    statement("x.id, x.created_at, x.content")
                        .load(&mut conn)
                        .await
                        .map_err(db_error)?
                };
                let candidates: Vec<Candidate> = candidates
                    .into_iter()
                    .map(|c| Candidate {
                        id: MessageId::new(c.id),
                        created_at: Timestamp::from_datetime(c.created_at),
                        content: c.content,
                    })
                    .collect();
                let page = rank(&search.query, &candidates, search.after, search.limit);
                let ids: Vec<i64> = page.iter().map(|p| p.id.get()).collect();
                let rows = rows_in_order(&mut conn, &ids).await?;
                let relevance = page.iter().map(|p| p.relevance).collect();
                (rows, relevance)
            }
        };
        let mut views: Vec<_> = rows.into_iter().map(MessageRow::into_view).collect();
        decorate(&conn, Some(search.viewer), &mut views)
            .await
            .map_err(StoreError::into_chat)?;
        Ok(views
            .into_iter()
            .zip(relevance)
            .map(|(message, relevance)| SearchHit {
                snippet: search.query.snippet(&message.message.content),
                message,
                relevance,
            })
            .collect())
    }
}

/// The message rows of `ids`, in that order.
async fn rows_in_order(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<Vec<MessageRow>, ChatError> {
    let mut rows: Vec<MessageRow> = diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages x {SEARCH_MESSAGE_JOINS} WHERE x.id = ANY($1)"
    ))
    .bind::<Array<BigInt>, _>(ids)
    .prepared()
    .load(conn)
    .await
    .map_err(db_error)?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id()));
    Ok(rows)
}

/// One of the caller's conversations, for the walk.
#[derive(QueryableByName)]
struct WalkedConversation {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    history_from_seq: i64,
    /// When its newest message was sent; `None` when not known.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    newest_message_at: Option<time::OffsetDateTime>,
}

/// How many conversations the first batch of the walk searches; each next
/// batch is four times larger.
const FIRST_WALK_BATCH: usize = 32;

/// The newest `limit` hits of a common word across the caller's
/// conversations, newest first.
///
/// Walking the global newest-first index reads every newer message of
/// every conversation until enough of the caller's turn up: 1.4 s for a
/// user whose conversations are quiet while others are busy (issue 23).
/// Instead, the caller's conversations are taken newest first (by the
/// time of their newest message, which no message of theirs is newer than)
/// and searched in batches, each conversation by its own newest-first walk
/// (`messages_conversation_created_idx`), which finds a page of a common
/// word's hits within a few rows (the match written so that the GIN index
/// cannot serve it, as in the common plan). The walk stops as soon as it holds
/// `limit` hits and the newest message of every conversation left is older
/// than the last of them: no conversation left can change the page.
async fn walk_conversations_newest_first(
    conn: &mut AsyncPgConnection,
    search: &MessageSearch,
    after: Option<SearchPosition>,
    limit: usize,
) -> Result<Vec<CandidateRow>, ChatError> {
    let conversations: Vec<WalkedConversation> = diesel::sql_query(
        "SELECT c.id, m.history_from_seq, c.newest_message_at \
         FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.user_id = $1 AND c.last_seq > m.history_from_seq \
         ORDER BY c.newest_message_at DESC NULLS FIRST, c.id DESC",
    )
    .bind::<BigInt, _>(search.viewer.get())
    .prepared()
    .load(conn)
    .await
    .map_err(db_error)?;
    let query = tsquery(search.query.terms());
    let mut hits: Vec<CandidateRow> = Vec::new();
    let mut start = 0;
    let mut batch = FIRST_WALK_BATCH;
    while start < conversations.len() {
        let end = (start + batch).min(conversations.len());
        let ids: Vec<i64> = conversations[start..end].iter().map(|c| c.id).collect();
        let floors: Vec<i64> = conversations[start..end]
            .iter()
            .map(|c| c.history_from_seq)
            .collect();
        let found: Vec<CandidateRow> = diesel::sql_query(format!(
            "SELECT hit.id, hit.created_at, hit.content \
             FROM unnest($2::bigint[], $3::bigint[]) AS walked(id, history_from_seq) \
             CROSS JOIN LATERAL ( \
               SELECT x.id, x.created_at, x.content FROM messages x \
               WHERE x.conversation_id = walked.id AND ts_match_vq(x.search_vector, $1::tsquery) \
                 AND x.deleted_at IS NULL AND x.seq > walked.history_from_seq {REQUEST_FILTERS} \
               ORDER BY x.created_at DESC, x.id DESC LIMIT $9) hit \
             ORDER BY hit.created_at DESC, hit.id DESC LIMIT $9",
        ))
        .bind::<Text, _>(&query)
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Array<BigInt>, _>(&floors)
        .bind::<Nullable<BigInt>, _>(search.sender_id.map(|s| s.get()))
        .bind::<Nullable<Timestamptz>, _>(search.from.map(|t| t.datetime()))
        .bind::<Nullable<Timestamptz>, _>(search.to.map(|t| t.datetime()))
        .bind::<Nullable<Timestamptz>, _>(after.map(|p| p.created_at.datetime()))
        .bind::<BigInt, _>(after.map_or(0, |p| p.id.get()))
        .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
        .load(conn)
        .await
        .map_err(db_error)?;
        hits.extend(found);
        hits.sort_by_key(|hit| std::cmp::Reverse((hit.created_at, hit.id)));
        hits.truncate(limit);
        let next_newest = conversations.get(end).map(|c| c.newest_message_at);
        let page_is_final = match (hits.len() >= limit, next_newest) {
            (_, None) => true,
            (false, Some(_)) => false,
            (true, Some(None)) => false,
            (true, Some(Some(newest))) => hits.last().is_some_and(|last| last.created_at > newest),
        };
        if page_is_final {
            break;
        }
        start = end;
        batch *= 4;
    }
    Ok(hits)
}

#[derive(QueryableByName)]
struct ContentRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    content: String,
}

impl PgStore {
    /// Rewrites the search words of every live message, `batch` at a time,
    /// in id order (`chat-server reindex-search`): after an upgrade that
    /// changed how text is split into words, older messages are found by the
    /// new rules too. Each batch is its own short transaction; sends go on.
    /// Returns the number of messages rewritten.
    ///
    /// # Errors
    /// When the database refuses a batch; batches already done stay done.
    pub async fn reindex_search(&self, batch: i64) -> Result<u64, ChatError> {
        let mut conn = self.conn().await?;
        let mut after = 0_i64;
        let mut done = 0_u64;
        loop {
            let rows: Vec<ContentRow> = diesel::sql_query(
                "SELECT id, content FROM messages WHERE id > $1 AND deleted_at IS NULL \
                 ORDER BY id LIMIT $2",
            )
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(batch)
            .prepared()
            .load(&mut conn)
            .await
            .map_err(db_error)?;
            let Some(last) = rows.last() else {
                return Ok(done);
            };
            after = last.id;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let vectors: Vec<String> = rows.iter().map(|r| search_vector(&r.content)).collect();
            diesel::sql_query(
                "UPDATE messages x SET search_vector = v.vector::tsvector \
                 FROM unnest($1::bigint[], $2::text[]) AS v(id, vector) \
                 WHERE x.id = v.id AND x.deleted_at IS NULL",
            )
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<Text>, _>(vectors)
            .prepared()
            .execute(&mut conn)
            .await
            .map_err(db_error)?;
            done += rows.len() as u64;
            tracing::info!(messages = done, "search index rewritten");
        }
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

    #[test]
    fn vectors_are_the_domain_words_with_positions() {
        assert_eq!(
            search_vector("Café, the café! 编程"),
            "'cafe':1,3 'the':2 '编程':4"
        );
        assert_eq!(search_vector("  !? "), "");
    }

    /// The plan of `text` when the statistics list `common` words.
    fn plan_with(common: &[(&str, f64)], text: &str) -> Plan {
        let stats = WordStatistics {
            expected: common.iter().map(|(w, n)| ((*w).to_owned(), *n)).collect(),
        };
        stats.plan(
            SearchQuery::parse(text)
                .unwrap_or_else(|_| unreachable!())
                .terms(),
        )
    }

    #[test]
    fn a_rare_word_takes_the_index() {
        let plan = |text: &str| plan_with(&[("hello", 2_500_000.0), ("team", 50_000.0)], text);
        assert_eq!(plan("hello team "), Plan::Common);
        assert_eq!(plan("hello zephyrquartz "), Plan::Rare);
        assert_eq!(plan("\"hello team\""), Plan::Common);
        // "tea" starts "team": as common as it.
        assert_eq!(plan("hello tea"), Plan::Common);
        assert_eq!(plan("tea"), Plan::Common, "starts a common word");
    }

    #[test]
    fn a_prefix_is_as_common_as_the_words_it_starts() {
        let common = [
            ("hello", 2_500_000.0),
            ("grand", 2_000.0),
            ("grape", 1_500.0),
            ("zebra", 800.0),
        ];
        let plan = |text: &str| plan_with(&common, text);
        assert_eq!(
            plan("zephyrquartz"),
            Plan::Rare,
            "typed whole, still a prefix"
        );
        assert_eq!(plan("zephy"), Plan::Rare);
        assert_eq!(plan("zep"), Plan::Rare, "starts no common word");
        assert_eq!(plan("zeb"), Plan::Rare, "starts only rare-enough words");
        assert_eq!(plan("ze"), Plan::Common, "too short to be specific");
        assert_eq!(plan("hel"), Plan::Common, "starts hello");
        assert_eq!(plan("gran"), Plan::Rare, "grand alone is below common");
        assert_eq!(
            plan("gra"),
            Plan::Common,
            "grand and grape add up to common"
        );
        assert_eq!(plan("hello wor"), Plan::Rare, "wor starts no common word");
        assert_eq!(plan("hello w"), Plan::Common);
    }
}
