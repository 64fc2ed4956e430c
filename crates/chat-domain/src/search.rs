//! Search queries: words (all must match), `"exact phrases"` (adjacent, in
//! order), and a prefix match on the last bare word. Case-insensitive.

use crate::message::MessageView;
use crate::{ChatError, ConversationId, MessageId, Timestamp, UserId};

/// Marks the start of a match in a snippet; the wire layer turns it into
/// markup after escaping the text.
pub const MATCH_START: char = '\u{2}';
/// Marks the end of a match in a snippet.
pub const MATCH_END: char = '\u{3}';

/// Characters in a search query, at most.
const MAX_QUERY_CHARS: usize = 500;
/// Terms in a search query, at most.
const MAX_TERMS: usize = 20;

/// One thing every hit must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A word; `prefix` matches any word starting with it.
    Word { word: String, prefix: bool },
    /// Words adjacent and in order.
    Phrase(Vec<String>),
}

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<Term>,
}

/// One word of a text as search sees it: where it is in the text, and its
/// normalized form (what is indexed and compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// The run of CJK characters this bigram comes from, if it is one:
    /// consecutive bigrams of one run are adjacent in the text.
    pub cjk_run: Option<usize>,
}

/// Chinese, Japanese and Korean text has no spaces between words: it is
/// indexed as overlapping pairs of characters (bigrams), the usual answer
/// without a dictionary. `我喜欢编程` is 我喜 喜欢 欢编 编程, so a query for
/// 编程 finds it, and a query for 喜欢编程 matches the three bigrams in a row.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // CJK unified ideographs, extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // halfwidth Katakana
        | 0x20000..=0x3134F) // CJK extensions B to G
}

/// `don't` and `don’t` are one word, indexed as `dont`.
fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// Lowercase, without apostrophes, accents folded: `Café` → `cafe`,
/// `Ænima` → `ænima`, `İstanbul` → `istanbul`. Only the combining
/// diacritical marks (U+0300–U+036F) go, the accents of Latin, Greek and
/// Cyrillic; other scripts' marks are part of their letters.
fn normalize(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lowered: String = word
        .chars()
        .filter(|c| !is_apostrophe(*c))
        .flat_map(char::to_lowercase)
        .collect();
    lowered
        .nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .nfc()
        .collect()
}

/// The words of `text`: runs of letters and digits (apostrophes inside a
/// word included), normalized; CJK runs as bigrams. Stores index exactly
/// these and the query parser makes its terms from them, so a query word
/// matches the words it names in every store.
pub fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut found = Vec::new();
    let mut runs = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if !c.is_alphanumeric() {
            i += 1;
            continue;
        }
        let cjk = is_cjk(c);
        let mut j = i + 1;
        while j < chars.len() {
            let d = chars[j].1;
            let next_is_letter = chars
                .get(j + 1)
                .is_some_and(|(_, n)| n.is_alphanumeric() && !is_cjk(*n));
            if d.is_alphanumeric() && is_cjk(d) == cjk {
                j += 1;
            } else if !cjk && is_apostrophe(d) && next_is_letter {
                j += 2;
            } else {
                break;
            }
        }
        if cjk && j - i > 1 {
            for k in i..j - 1 {
                let (start, end) = (byte_at(k), byte_at(k + 2));
                found.push(Token {
                    start,
                    end,
                    text: text[start..end].to_owned(),
                    cjk_run: Some(runs),
                });
            }
            runs += 1;
        } else {
            let (start, end) = (byte_at(i), byte_at(j));
            found.push(Token {
                start,
                end,
                text: normalize(&text[start..end]),
                cjk_run: None,
            });
        }
        i = j;
    }
    found
}

/// The normalized words of `text`, in order ([`tokens`] without places).
pub fn words(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|t| t.text).collect()
}

impl SearchQuery {
    /// Parses `"quoted phrases"` and words; the last bare word matches as a
    /// prefix (search-as-you-type).
    ///
    /// # Errors
    /// `validation_failed` on `query` when it has no word or is too long.
    pub fn parse(text: &str) -> Result<Self, ChatError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ChatError::validation(
                "query",
                format!("at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut terms = Vec::new();
        let mut last_bare: Option<usize> = None;
        for (i, part) in text.split('"').enumerate() {
            let quoted = i % 2 == 1;
            if quoted {
                let found = words(part);
                match found.len() {
                    0 => {}
                    1 => terms.extend(found.into_iter().map(|word| Term::Word {
                        word,
                        prefix: false,
                    })),
                    _ => terms.push(Term::Phrase(found)),
                }
                last_bare = None;
            } else {
                // A bare CJK run is one word to its writer: its bigrams must
                // be adjacent, as a phrase.
                let found = tokens(part);
                let mut at = 0;
                while at < found.len() {
                    let run = found[at].cjk_run;
                    let mut end = at + 1;
                    while run.is_some() && end < found.len() && found[end].cjk_run == run {
                        end += 1;
                    }
                    if end - at > 1 {
                        let bigrams = found[at..end].iter().map(|t| t.text.clone()).collect();
                        terms.push(Term::Phrase(bigrams));
                        last_bare = None;
                    } else {
                        terms.push(Term::Word {
                            word: found[at].text.clone(),
                            prefix: false,
                        });
                        last_bare = Some(terms.len() - 1);
                    }
                    at = end;
                }
            }
        }
        // Only a bare word that ends the query, with nothing typed after it,
        // is a prefix: "hel" finds hello, "hel " and "hel world" do not.
        let ends_with_word = text.chars().last().is_some_and(char::is_alphanumeric);
        if let (Some(i), true) = (last_bare, ends_with_word)
            && let Some(Term::Word { prefix, .. }) = terms.get_mut(i)
        {
            *prefix = true;
        }
        if terms.is_empty() {
            return Err(ChatError::validation("query", "needs at least one word"));
        }
        if terms.len() > MAX_TERMS {
            return Err(ChatError::validation(
                "query",
                format!("at most {MAX_TERMS} words and phrases"),
            ));
        }
        Ok(Self { terms })
    }

    /// The terms, all of which must match.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether text with these words matches every term.
    pub fn matches(&self, text_words: &[String]) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Word {
                word,
                prefix: false,
            } => text_words.iter().any(|w| w == word),
            Term::Word { word, prefix: true } => {
                text_words.iter().any(|w| w.starts_with(word.as_str()))
            }
            Term::Phrase(phrase) => text_words
                .windows(phrase.len())
                .any(|window| window == phrase.as_slice()),
        })
    }

    /// `text` with every word that matches a term wrapped in
    /// [`MATCH_START`] / [`MATCH_END`].
    pub fn mark(&self, text: &str) -> String {
        let found = tokens(text);
        let lowered: Vec<&str> = found.iter().map(|t| t.text.as_str()).collect();
        let mut marked = vec![false; found.len()];
        for term in &self.terms {
            match term {
                Term::Word { word, prefix } => {
                    for (i, w) in lowered.iter().enumerate() {
                        if *w == word || (*prefix && w.starts_with(word.as_str())) {
                            marked[i] = true;
                        }
                    }
                }
                Term::Phrase(phrase) => {
                    for start in 0..lowered.len().saturating_sub(phrase.len() - 1) {
                        if lowered[start..start + phrase.len()] == phrase[..] {
                            marked[start..start + phrase.len()]
                                .iter_mut()
                                .for_each(|m| *m = true);
                        }
                    }
                }
            }
        }
        // Marked words as byte ranges; overlapping ones (CJK bigrams)
        // become one mark.
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (token, hit) in found.iter().zip(marked) {
            if !hit {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if token.start < last.1 => last.1 = last.1.max(token.end),
                _ => ranges.push((token.start, token.end)),
            }
        }
        let mut out = String::with_capacity(text.len() + 8);
        let mut at = 0;
        for (start, end) in ranges {
            out.push_str(&text[at..start]);
            out.push(MATCH_START);
            out.push_str(&text[start..end]);
            out.push(MATCH_END);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// Characters of context kept before the first match in a snippet.
const SNIPPET_BEFORE: usize = 60;
/// Characters kept from the first match on.
const SNIPPET_AFTER: usize = 200;

impl SearchQuery {
    /// The text around the first match, matches marked, cut with `…` where
    /// it was long.
    pub fn snippet(&self, text: &str) -> String {
        let marked = self.mark(text);
        let chars: Vec<char> = marked.chars().collect();
        let first = chars.iter().position(|c| *c == MATCH_START).unwrap_or(0);
        let start = first.saturating_sub(SNIPPET_BEFORE);
        let end = (first + SNIPPET_AFTER).min(chars.len());
        let mut window: String = chars[start..end].iter().collect();
        // A cut inside a match would leave it open.
        if window.matches(MATCH_START).count() > window.matches(MATCH_END).count() {
            window.push(MATCH_END);
        }
        let mut snippet = String::new();
        if start > 0 {
            snippet.push('…');
        }
        snippet.push_str(&window);
        if end < chars.len() {
            snippet.push('…');
        }
        snippet
    }
}

/// The longest word an index keeps, in bytes (PostgreSQL's limit for one
/// lexeme). A longer run of letters (a pasted hash, a base64 blob) is not
/// searchable, in every store alike.
pub const MAX_INDEXED_WORD_BYTES: usize = 2046;

/// The words stores index for `text`, in order: [`words`] without those
/// over [`MAX_INDEXED_WORD_BYTES`]. Matching ([`SearchQuery::matches`]) over
/// this list is the contract both stores implement.
pub fn index_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| w.len() <= MAX_INDEXED_WORD_BYTES)
        .collect()
}

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// Newest first (the default).
    #[default]
    Newest,
    /// Most relevant first, among the newest [`RELEVANCE_WINDOW`] hits;
    /// equally relevant ones newest first.
    Relevance,
}

impl SearchOrder {
    /// Every order.
    pub const ALL: &'static [Self] = &[Self::Newest, Self::Relevance];

    /// The contract's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Relevance => "relevance",
        }
    }

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|o| o.as_str() == text)
    }
}

/// Relevance ranks the newest this many hits. Ranking every hit of a common
/// word would read every message that has it; people look for a recent
/// message that says it best, and Slack and Stream Chat bound theirs too.
pub const RELEVANCE_WINDOW: usize = 1_000;

/// A place in the order of hits: a page starts strictly after it.
/// `relevance` is 0 in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchPosition {
    pub relevance: i64,
    pub created_at: Timestamp,
    pub id: MessageId,
}

impl SearchPosition {
    /// The key hits are sorted by, descending.
    fn key(self) -> (i64, Timestamp, MessageId) {
        (self.relevance, self.created_at, self.id)
    }
}

impl SearchQuery {
    /// How relevant a text is: how many of its words are query words (a
    /// word of the query, of a phrase, or one starting with the prefix).
    pub fn relevance(&self, text: &str) -> i64 {
        let words = index_words(text);
        let count = words
            .iter()
            .filter(|w| {
                self.terms.iter().any(|term| match term {
                    Term::Word {
                        word,
                        prefix: false,
                    } => *w == word,
                    Term::Word { word, prefix: true } => w.starts_with(word.as_str()),
                    Term::Phrase(phrase) => phrase.contains(w),
                })
            })
            .count();
        i64::try_from(count).unwrap_or(i64::MAX)
    }
}

/// A hit before ranking: what relevance order needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: MessageId,
    pub created_at: Timestamp,
    pub content: String,
}

/// Relevance order: the page of `candidates` (the newest
/// [`RELEVANCE_WINDOW`] hits, in any order) that follows `after`, ranked by
/// relevance, then newest. Both stores load the candidates and call this, so
/// the ranking is the same everywhere.
pub fn rank(
    query: &SearchQuery,
    candidates: &[Candidate],
    after: Option<SearchPosition>,
    limit: usize,
) -> Vec<SearchPosition> {
    let mut ranked: Vec<SearchPosition> = candidates
        .iter()
        .map(|c| SearchPosition {
            relevance: query.relevance(&c.content),
            created_at: c.created_at,
            id: c.id,
        })
        .filter(|p| after.is_none_or(|after| p.key() < after.key()))
        .collect();
    ranked.sort_by_key(|p| std::cmp::Reverse(p.key()));
    ranked.truncate(limit);
    ranked
}

/// What to search, for whom, and which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSearch {
    pub viewer: UserId,
    pub query: SearchQuery,
    pub conversation_id: Option<ConversationId>,
    pub sender_id: Option<UserId>,
    /// Inclusive bounds on the send instant.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub order: SearchOrder,
    /// Start strictly after this hit, in `order`.
    pub after: Option<SearchPosition>,
    pub limit: usize,
}

/// A message that matched, with its text around the matches marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub message: MessageView,
    pub snippet: String,
    /// Its relevance (0 in newest-first order): with the message's instant
    /// and id, where the next page starts.
    pub relevance: i64,
}

impl SearchHit {
    /// Where a page that ends with this hit continues.
    pub fn position(&self) -> SearchPosition {
        SearchPosition {
            relevance: self.relevance,
            created_at: self.message.message.created_at,
            id: self.message.message.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Term> {
        SearchQuery::parse(text)
            .map(|q| q.terms)
            .unwrap_or_default()
    }

    fn word(w: &str, prefix: bool) -> Term {
        Term::Word {
            word: w.to_owned(),
            prefix,
        }
    }

    #[test]
    fn words_phrases_and_a_trailing_prefix() {
        assert_eq!(
            parse("Hello WORLD"),
            vec![word("hello", false), word("world", true)]
        );
        assert_eq!(
            parse(r#"deploy "release notes" fri"#),
            vec![
                word("deploy", false),
                Term::Phrase(vec!["release".into(), "notes".into()]),
                word("fri", true)
            ]
        );
        assert_eq!(
            parse(r#""exact phrase""#),
            vec![Term::Phrase(vec!["exact".into(), "phrase".into()])]
        );
        assert_eq!(
            parse("trailing space "),
            vec![word("trailing", false), word("space", false)]
        );
        assert!(SearchQuery::parse(" \"\" !? ").is_err());
    }

    #[test]
    fn matching_and_marking() {
        let query =
            SearchQuery::parse(r#""release notes" depl"#).unwrap_or_else(|_| unreachable!());
        assert!(query.matches(&words("The release notes: deployed!")));
        assert!(
            !query.matches(&words("notes release deployed")),
            "a phrase is in order"
        );
        assert!(
            !query.matches(&words("release notes")),
            "every term must match"
        );
        let marked = query.mark("Release notes, deployed.");
        assert_eq!(
            marked,
            "\u{2}Release\u{3} \u{2}notes\u{3}, \u{2}deployed\u{3}."
        );
    }

    #[test]
    fn accents_fold_and_apostrophes_join() {
        assert_eq!(
            words("Café CAFÉ naïve Ångström"),
            ["cafe", "cafe", "naive", "angstrom"]
        );
        assert_eq!(
            words("don't DON’T rock'n'roll 'quoted'"),
            ["dont", "dont", "rocknroll", "quoted"]
        );
        assert_eq!(words("İstanbul straße"), ["istanbul", "straße"]);
        let query = SearchQuery::parse("cafe").unwrap_or_else(|_| unreachable!());
        assert!(query.matches(&words("un café, s'il vous plaît")));
        let query = SearchQuery::parse("café").unwrap_or_else(|_| unreachable!());
        assert!(query.matches(&words("the cafe")));
        assert_eq!(query.mark("Le Café!"), "Le \u{2}Café\u{3}!");
    }

    #[test]
    fn cjk_text_is_found_by_its_words() {
        assert_eq!(
            words("我喜欢编程语言"),
            ["我喜", "喜欢", "欢编", "编程", "程语", "语言"]
        );
        assert_eq!(words("Rust语言 好"), ["rust", "语言", "好"]);
        assert_eq!(
            parse("编程语言"),
            vec![Term::Phrase(vec![
                "编程".into(),
                "程语".into(),
                "语言".into()
            ])]
        );
        let query = SearchQuery::parse("编程").unwrap_or_else(|_| unreachable!());
        assert!(query.matches(&words("我喜欢编程语言")));
        let query = SearchQuery::parse("编程语言").unwrap_or_else(|_| unreachable!());
        assert!(query.matches(&words("我喜欢编程语言")));
        assert!(
            !query.matches(&words("编程和语言")),
            "the bigrams must be adjacent"
        );
        assert_eq!(query.mark("我喜欢编程语言。"), "我喜欢\u{2}编程语言\u{3}。");
        let japanese = SearchQuery::parse("東京").unwrap_or_else(|_| unreachable!());
        assert!(japanese.matches(&words("明日東京へ行きます")));
    }
}
