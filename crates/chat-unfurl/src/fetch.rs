//! Fetching a link's page, safely.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use chat_domain::message::LinkPreview;
use chat_domain::ports::LinkFetcher;
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;

use crate::html::parse_preview;
use chat_outbound::is_public;

/// An address fetched although not public: for tests and for operators who
/// unfurl intranet links on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowRule {
    /// Any port on this address.
    Ip(IpAddr),
    /// This address and port only.
    Socket(SocketAddr),
}

impl AllowRule {
    /// Parses `10.0.0.5` or `127.0.0.1:8080` (or `[::1]:8080`).
    pub fn parse(text: &str) -> Option<Self> {
        text.parse()
            .map(Self::Socket)
            .or_else(|_| text.parse().map(Self::Ip))
            .ok()
    }

    fn allows(self, addr: SocketAddr) -> bool {
        match self {
            Self::Ip(ip) => ip == addr.ip(),
            Self::Socket(socket) => socket == addr,
        }
    }
}

/// Limits of one unfurl.
#[derive(Debug, Clone)]
pub struct UnfurlConfig {
    /// The whole fetch, redirects included.
    pub timeout: Duration,
    /// Bytes of a page read, at most (previews live in the head).
    pub max_bytes: usize,
    pub max_redirects: usize,
    pub user_agent: String,
    pub allow: Vec<AllowRule>,
}

/// Fetches pages over HTTP(S) from public addresses only.
pub struct HttpLinkFetcher {
    config: UnfurlConfig,
}

impl HttpLinkFetcher {
    /// A fetcher with these limits.
    pub fn new(config: UnfurlConfig) -> Self {
        Self { config }
    }

    fn permitted(&self, addr: SocketAddr) -> bool {
        is_public(addr.ip()) || self.config.allow.iter().any(|rule| rule.allows(addr))
    }

    /// The address to connect to for `url`, if every address its host
    /// resolves to is permitted (one refused address refuses the host: a
    /// name that mixes public and private answers is a rebinding attempt).
    async fn checked_address(&self, url: &Url) -> Option<SocketAddr> {
        let host = url.host_str()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_or_known_default()?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.ok()?.collect();
        if addrs.is_empty() {
            return None;
        }
        if let Some(refused) = addrs.iter().find(|a| !self.permitted(**a)) {
            tracing::info!(%url, address = %refused, "unfurl refused: not a public address");
            return None;
        }
        addrs.first().copied()
    }

    async fn fetch_page(&self, link: &str) -> Option<LinkPreview> {
        let mut url = Url::parse(link).ok()?;
        for _ in 0..=self.config.max_redirects {
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            let addr = self.checked_address(&url).await?;
            // Pin the connection to the address just checked: no second DNS
            // lookup can point it elsewhere. No proxy from the environment
            // either: it would connect instead, and resolve the name again.
            let mut client = reqwest::Client::builder()
                .no_proxy()
                .redirect(Policy::none())
                .user_agent(&self.config.user_agent)
                .timeout(self.config.timeout);
            if let Some(host) = url
                .host_str()
                .filter(|h| h.parse::<IpAddr>().is_err() && !h.starts_with('['))
            {
                client = client.resolve(host, addr);
            }
            let client = client.build().ok()?;
            let response = client
                .get(url.clone())
                .header(ACCEPT, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
                .send()
                .await
                .ok()?;
            if response.status().is_redirection() {
                let location = response.headers().get(LOCATION)?.to_str().ok()?;
                url = url.join(location).ok()?;
                continue;
            }
            if !response.status().is_success() {
                return None;
            }
            let is_html = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("html"));
            if !is_html {
                return None;
            }
            let page = url.clone();
            let body = read_capped(response, self.config.max_bytes).await?;
            return parse_preview(&String::from_utf8_lossy(&body), &page, link);
        }
        None
    }
}

/// Reads at most `cap` bytes of the body, then stops (the head is enough).
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        let room = cap.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= cap {
            break;
        }
    }
    Some(body)
}

#[async_trait]
impl LinkFetcher for HttpLinkFetcher {
    async fn fetch(&self, url: &str) -> Option<LinkPreview> {
        match tokio::time::timeout(self.config.timeout, self.fetch_page(url)).await {
            Ok(preview) => preview,
            Err(_) => {
                tracing::info!(%url, "unfurl timed out");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(allow: Vec<AllowRule>) -> HttpLinkFetcher {
        HttpLinkFetcher::new(UnfurlConfig {
            timeout: Duration::from_secs(2),
            max_bytes: 1024,
            max_redirects: 2,
            user_agent: "test".to_owned(),
            allow,
        })
    }

    #[tokio::test]
    async fn refuses_internal_addresses_before_connecting() {
        let fetcher = fetcher(Vec::new());
        for link in [
            "http://127.0.0.1:1/",
            "http://localhost:1/",
            "http://[::1]:1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "file:///etc/passwd",
            "gopher://127.0.0.1/",
        ] {
            assert_eq!(fetcher.fetch(link).await, None, "{link}");
        }
    }

    #[test]
    fn allow_rules_parse_ips_and_sockets() {
        let ip = AllowRule::parse("10.0.0.5");
        let socket = AllowRule::parse("127.0.0.1:8080");
        assert!(
            ip.is_some_and(|r| r.allows("10.0.0.5:443".parse().unwrap_or_else(|_| unreachable!())))
        );
        assert!(socket.is_some_and(|r| {
            !r.allows("127.0.0.1:8081".parse().unwrap_or_else(|_| unreachable!()))
        }));
        assert_eq!(AllowRule::parse("not an address"), None);
    }
}
