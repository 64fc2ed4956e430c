//! Links in message content, for server-side unfurling.

/// Links unfurled per message, at most.
pub const MAX_LINKS: usize = 3;
/// Characters of a link, at most (longer ones are not unfurled).
const MAX_LINK_CHARS: usize = 2_048;

/// The first [`MAX_LINKS`] distinct `http(s)` URLs in `content`, in order.
/// Trailing punctuation that usually ends a sentence (`.`, `,`, `)`, ...) is
/// not part of a link.
pub fn extract_links(content: &str) -> Vec<String> {
    let mut links: Vec<String> = Vec::new();
    for word in content.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')) {
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else {
            continue;
        };
        let candidate =
            word[start..].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'']);
        let scheme_len = if candidate.starts_with("https://") {
            8
        } else {
            7
        };
        let has_host = candidate.len() > scheme_len
            && candidate[scheme_len..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '[');
        if has_host
            && candidate.chars().count() <= MAX_LINK_CHARS
            && !links.iter().any(|l| l == candidate)
        {
            links.push(candidate.to_owned());
            if links.len() == MAX_LINKS {
                break;
            }
        }
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_up_to_three_distinct_links() {
        let text = "see https://a.example/x. and (http://b.example/y), https://a.example/x again, \
                    https://c.example https://d.example";
        assert_eq!(
            extract_links(text),
            vec![
                "https://a.example/x",
                "http://b.example/y",
                "https://c.example"
            ]
        );
    }

    #[test]
    fn ignores_what_is_not_a_link() {
        assert!(extract_links("ftp://x.example mailto:a@b.example https:// http://").is_empty());
        assert_eq!(
            extract_links("<https://x.example/a?b=1&c=2>"),
            vec!["https://x.example/a?b=1&c=2"]
        );
    }
}
