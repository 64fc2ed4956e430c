//! Reading a preview out of a page: Open Graph, then Twitter card, then
//! `<title>` and `<meta name="description">`. A tolerant scanner over the
//! page's head, not a full HTML parser: previews need a handful of tags.

use chat_domain::message::LinkPreview;
use reqwest::Url;

const TITLE_CHARS: usize = 300;
const DESCRIPTION_CHARS: usize = 1_000;
const URL_CHARS: usize = 2_048;

/// The preview of `html`, fetched from `page` for the message link `link`;
/// `None` when the page has neither a title nor a description.
pub fn parse_preview(html: &str, page: &Url, link: &str) -> Option<LinkPreview> {
    let head = head_of(html);
    let metas = meta_tags(head);
    let meta = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| {
                metas
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.clone())
            })
            .filter(|v| !v.trim().is_empty())
    };
    let title = meta(&["og:title", "twitter:title"]).or_else(|| title_tag(head));
    let description = meta(&["og:description", "twitter:description", "description"]);
    if title.is_none() && description.is_none() {
        return None;
    }
    let image_url = meta(&[
        "og:image",
        "og:image:url",
        "twitter:image",
        "twitter:image:src",
    ])
    .and_then(|src| page.join(src.trim()).ok())
    .filter(|u| matches!(u.scheme(), "http" | "https"))
    .map(|u| truncate(u.as_str(), URL_CHARS));
    let site_name = meta(&["og:site_name"]).or_else(|| page.host_str().map(ToOwned::to_owned));
    Some(LinkPreview {
        url: link.to_owned(),
        title: title.map(|t| truncate(t.trim(), TITLE_CHARS)),
        description: description.map(|d| truncate(d.trim(), DESCRIPTION_CHARS)),
        image_url,
        site_name: site_name.map(|s| truncate(s.trim(), TITLE_CHARS)),
    })
}

/// The part before `</head>` (or everything, when there is no such tag).
fn head_of(html: &str) -> &str {
    find_ci(html, "</head").map_or(html, |end| &html[..end])
}

/// `(property or name, content)` of every `<meta>` tag.
fn meta_tags(head: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = head;
    while let Some(start) = find_ci(rest, "<meta") {
        let after = &rest[start + 5..];
        let end = after.find('>').unwrap_or(after.len());
        let attributes = parse_attributes(&after[..end]);
        let key = attributes
            .iter()
            .find(|(k, _)| k == "property" || k == "name")
            .map(|(_, v)| v.clone());
        let content = attributes
            .iter()
            .find(|(k, _)| k == "content")
            .map(|(_, v)| decode_entities(v));
        if let (Some(key), Some(content)) = (key, content) {
            found.push((key, content));
        }
        rest = &after[end..];
    }
    found
}

/// `name="value"` pairs, names lowercased; quotes optional.
fn parse_attributes(tag: &str) -> Vec<(String, String)> {
    let mut attributes = Vec::new();
    let mut chars = tag.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !(c.is_ascii_alphabetic()) {
            continue;
        }
        let mut name_end = tag.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '-' || c == ':' || c == '_' {
                chars.next();
            } else {
                name_end = i;
                break;
            }
        }
        let name = tag[start..name_end].to_ascii_lowercase();
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().map(|(_, c)| *c) != Some('=') {
            continue;
        }
        chars.next();
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let value = match chars.peek().copied() {
            Some((i, quote @ ('"' | '\''))) => {
                chars.next();
                let close = tag[i + 1..].find(quote).map_or(tag.len(), |n| i + 1 + n);
                while chars.peek().is_some_and(|(j, _)| *j <= close) {
                    chars.next();
                }
                tag[i + 1..close].to_owned()
            }
            Some((i, _)) => {
                let end = tag[i..]
                    .find(|c: char| c.is_whitespace() || c == '/')
                    .map_or(tag.len(), |n| i + n);
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
                tag[i..end].to_owned()
            }
            None => String::new(),
        };
        attributes.push((name, value));
    }
    attributes
}

fn title_tag(head: &str) -> Option<String> {
    let start = find_ci(head, "<title")?;
    let open_end = head[start..].find('>')? + start + 1;
    let close = find_ci(&head[open_end..], "</title").map_or(head.len(), |n| open_end + n);
    let title = decode_entities(head[open_end..close].trim());
    (!title.is_empty()).then_some(title)
}

/// Byte offset of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The common named entities and numeric references.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|n| *n <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some(' '),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://news.example/a/b").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn reads_open_graph_first() {
        let html = r#"<html><head><title>Fallback</title>
            <META property="og:title" content="Launch &amp; more">
            <meta name=description content=plain>
            <meta content='The &quot;big&quot; day' property='og:description' />
            <meta property="og:image" content="/img/cover.png">
            <meta property="og:site_name" content="News">
            </head><body><meta property="og:title" content="not in head"></body></html>"#;
        let preview = parse_preview(html, &page(), "https://n.example/x");
        assert_eq!(
            preview,
            Some(LinkPreview {
                url: "https://n.example/x".to_owned(),
                title: Some("Launch & more".to_owned()),
                description: Some("The \"big\" day".to_owned()),
                image_url: Some("https://news.example/img/cover.png".to_owned()),
                site_name: Some("News".to_owned()),
            })
        );
    }

    #[test]
    fn falls_back_to_title_and_description() {
        let html = "<head><title> Plain &#8211; page </title><meta name=\"description\" content=\"About\"></head>";
        let preview = parse_preview(html, &page(), "https://news.example/a/b");
        let preview = preview.unwrap_or_else(|| unreachable!());
        assert_eq!(preview.title.as_deref(), Some("Plain \u{2013} page"));
        assert_eq!(preview.description.as_deref(), Some("About"));
        assert_eq!(preview.site_name.as_deref(), Some("news.example"));
        assert_eq!(preview.image_url, None);
    }

    #[test]
    fn nothing_to_show_is_none() {
        assert_eq!(
            parse_preview("<html><body>hi</body></html>", &page(), "x"),
            None
        );
        let script_image =
            r#"<title>t</title><meta property="og:image" content="javascript:alert(1)">"#;
        assert_eq!(
            parse_preview(script_image, &page(), "x").and_then(|p| p.image_url),
            None
        );
    }
}
