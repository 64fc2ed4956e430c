//! The webhook endpoints from the settings: `WEBHOOK_URL` (with its secret
//! and filter, named `default`) and any listed in `WEBHOOK_ENDPOINTS_FILE`.

use std::time::Duration;

use anyhow::{Context, bail};
use chat_postgres::WebhookRoutes;
use chat_webhooks::{DeliverySettings, Endpoint, RetryPolicy};
use serde::Deserialize;

use crate::config::ServeArgs;

/// One endpoint of `WEBHOOK_ENDPOINTS_FILE`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointEntry {
    name: String,
    url: String,
    secret: String,
    #[serde(default)]
    events: Vec<String>,
}

/// Every configured endpoint, checked.
///
/// # Errors
/// A URL without its secret, an unreadable file, or an endpoint refused by
/// [`Endpoint::new`] (bad URL or secret, unknown event type, private
/// address without consent), or two endpoints of one name.
pub(crate) fn endpoints(args: &ServeArgs) -> anyhow::Result<Vec<Endpoint>> {
    let allow_private = args.webhook_allow_private_addresses;
    let mut endpoints = Vec::new();
    match (&args.webhook_url, &args.webhook_secret) {
        (Some(url), Some(secret)) => endpoints.push(
            Endpoint::new("default", url, secret, &args.webhook_events, allow_private)
                .map_err(anyhow::Error::msg)?,
        ),
        (Some(_), None) => bail!("WEBHOOK_URL is set without WEBHOOK_SECRET"),
        (None, Some(_)) => bail!("WEBHOOK_SECRET is set without WEBHOOK_URL"),
        (None, None) => {}
    }
    if let Some(path) = &args.webhook_endpoints_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading WEBHOOK_ENDPOINTS_FILE {}", path.display()))?;
        let entries: Vec<EndpointEntry> = serde_json::from_str(&text)
            .with_context(|| format!("parsing WEBHOOK_ENDPOINTS_FILE {}", path.display()))?;
        for entry in entries {
            endpoints.push(
                Endpoint::new(
                    &entry.name,
                    &entry.url,
                    &entry.secret,
                    &entry.events.join(","),
                    allow_private,
                )
                .map_err(anyhow::Error::msg)?,
            );
        }
    }
    let mut names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        bail!("two webhook endpoints are named {:?}", pair[0]);
    }
    Ok(endpoints)
}

/// What the store queues for.
pub(crate) fn routes(endpoints: &[Endpoint]) -> WebhookRoutes {
    WebhookRoutes {
        endpoints: endpoints.iter().map(|e| e.name.clone()).collect(),
        filters: endpoints
            .iter()
            .map(|e| e.events.as_store_filter())
            .collect(),
    }
}

/// How deliveries behave.
pub(crate) fn settings(args: &ServeArgs) -> DeliverySettings {
    DeliverySettings {
        timeout: Duration::from_secs(args.webhook_timeout_secs.max(1)),
        retry: RetryPolicy {
            first: Duration::from_millis(args.webhook_retry_first_ms.max(1)),
            give_up_after: Duration::from_secs(args.webhook_retry_for_secs),
            ..RetryPolicy::default()
        },
        ..DeliverySettings::default()
    }
}
