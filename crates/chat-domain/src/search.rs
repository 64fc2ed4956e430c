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

/// Splits text into lowercase words: runs of letters and digits. Both stores
/// and the query parser use it, so a query word matches the words it names.
pub fn words(text: &str) -> Vec<String> {
    word_spans(text)
        .into_iter()
        .map(|(start, end)| text[start..end].to_lowercase())
        .collect()
}

/// Byte ranges of the words of `text`.
pub fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
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
            let found = words(part);
            if quoted {
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
                for word in found {
                    terms.push(Term::Word {
                        word,
                        prefix: false,
                    });
                    last_bare = Some(terms.len() - 1);
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
        let spans = word_spans(text);
        let lowered: Vec<String> = spans
            .iter()
            .map(|(s, e)| text[*s..*e].to_lowercase())
            .collect();
        let mut marked = vec![false; spans.len()];
        for term in &self.terms {
            match term {
                Term::Word { word, prefix } => {
                    for (i, w) in lowered.iter().enumerate() {
                        if w == word || (*prefix && w.starts_with(word.as_str())) {
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
        let mut out = String::with_capacity(text.len() + 8);
        let mut at = 0;
        for ((start, end), hit) in spans.iter().zip(marked) {
            if hit {
                out.push_str(&text[at..*start]);
                out.push(MATCH_START);
                out.push_str(&text[*start..*end]);
                out.push(MATCH_END);
                at = *end;
            }
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

/// The normalized words of `text` joined by spaces: what stores index, so
/// that their matching is exactly [`SearchQuery::matches`].
pub fn index_text(text: &str) -> String {
    words(text).join(" ")
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
    /// Start strictly after this hit (newest first: instant, then id).
    pub after: Option<(Timestamp, MessageId)>,
    pub limit: usize,
}

/// A message that matched, with its text around the matches marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub message: MessageView,
    pub snippet: String,
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
}
