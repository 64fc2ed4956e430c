//! The operator's endpoints: where events go, signed with whose secret,
//! which event types, and whether the address may be private.

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

use crate::signing::SigningKey;

/// One endpoint, checked.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Names the endpoint in the queue, logs and metrics.
    pub name: String,
    pub url: Url,
    pub key: SigningKey,
    pub events: EventFilter,
    /// An internal push gateway is common: the operator says so explicitly.
    pub allow_private: bool,
}

/// Which event types an endpoint gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(Vec<String>),
}

impl EventFilter {
    /// `""` or `*` for all, else a comma-separated list of the contract's
    /// event types.
    ///
    /// # Errors
    /// A type the contract does not have.
    pub fn parse(list: &str) -> Result<Self, String> {
        let list = list.trim();
        if list.is_empty() || list == "*" {
            return Ok(Self::All);
        }
        let types: Vec<String> = list
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(unknown) = types
            .iter()
            .find(|t| !chat_domain::events::is_webhook_event_type(t))
        {
            return Err(format!(
                "{unknown:?} is not an event type webhooks carry (one of {}, {})",
                chat_domain::events::WEBHOOK_EVENT_TYPES.join(", "),
                chat_domain::events::PUSH_REQUESTED
            ));
        }
        Ok(Self::Only(types))
    }

    /// How the store filters by it: `""` for all, else the types joined by
    /// commas.
    pub fn as_store_filter(&self) -> String {
        match self {
            Self::All => String::new(),
            Self::Only(types) => types.join(","),
        }
    }
}

impl Endpoint {
    /// Checks an endpoint's settings.
    ///
    /// # Errors
    /// Not an http(s) URL, a bad secret, an unknown event type, or a
    /// private address literal without `allow_private`.
    pub fn new(
        name: &str,
        url: &str,
        secret: &str,
        events: &str,
        allow_private: bool,
    ) -> Result<Self, String> {
        let url = Url::parse(url).map_err(|e| format!("webhook {name}: URL {url:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "webhook {name}: the URL must be http(s) with a host"
            ));
        }
        if !allow_private
            && let Some(ip) = literal_ip(&url)
            && !chat_outbound::is_public(ip)
        {
            return Err(format!(
                "webhook {name}: {ip} is not a public address; set WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true for an internal endpoint"
            ));
        }
        let key = SigningKey::parse(secret).map_err(|e| format!("webhook {name}: secret: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            url,
            key,
            events: EventFilter::parse(events).map_err(|e| format!("webhook {name}: {e}"))?,
            allow_private,
        })
    }

    /// The address to connect to, checked now (a name can point elsewhere
    /// tomorrow: DNS is asked before every batch, and every answer must be
    /// public unless private addresses are allowed).
    ///
    /// # Errors
    /// The name does not resolve, or resolves to a refused address.
    pub async fn checked_address(&self) -> Result<SocketAddr, String> {
        let host = self.url.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = self.url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("resolving {host}: {e}"))?
            .collect();
        if let Some(refused) = addrs
            .iter()
            .find(|a| !self.allow_private && !chat_outbound::is_public(a.ip()))
        {
            return Err(format!(
                "{host} resolves to {refused}, not a public address"
            ));
        }
        addrs
            .first()
            .copied()
            .ok_or_else(|| format!("{host} resolves to nothing"))
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn filters_name_the_contracts_event_types() {
        assert_eq!(EventFilter::parse(""), Ok(EventFilter::All));
        assert_eq!(EventFilter::parse("*"), Ok(EventFilter::All));
        let some = EventFilter::parse("message.created, message.deleted");
        assert_eq!(
            some.as_ref().map(EventFilter::as_store_filter),
            Ok("message.created,message.deleted".to_owned())
        );
        assert!(EventFilter::parse("message.sent").is_err());
        assert!(EventFilter::parse("typing").is_err(), "ephemeral");
    }

    #[test]
    fn private_literals_need_the_operators_consent() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://10.1.2.3/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/",
        ] {
            assert!(Endpoint::new("e", url, SECRET, "", false).is_err(), "{url}");
            assert!(Endpoint::new("e", url, SECRET, "", true).is_ok(), "{url}");
        }
        assert!(Endpoint::new("e", "ftp://example.com/", SECRET, "", true).is_err());
        assert!(Endpoint::new("e", "https://hooks.example.com/x", "", "", false).is_err());
        assert!(Endpoint::new("e", "https://hooks.example.com/x", SECRET, "", false).is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_when_they_are_resolved() {
        let endpoint = Endpoint::new("e", "http://localhost:9/hook", SECRET, "", false);
        let refused = match endpoint {
            Ok(endpoint) => endpoint.checked_address().await,
            Err(e) => Err(e),
        };
        assert!(refused.is_err(), "localhost is private: {refused:?}");
    }
}
