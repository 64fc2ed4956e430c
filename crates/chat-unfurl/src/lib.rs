//! Link unfurling for message previews: [`HttpLinkFetcher`] implements the
//! domain's `LinkFetcher` port.
//!
//! Safety first: a page is fetched only from public addresses. Every address
//! a host name resolves to is checked (loopback, private, link-local, CGNAT,
//! multicast, cloud metadata, their IPv6 forms and IPv4-in-IPv6 embeddings are
//! refused), the connection is pinned to the checked address so a second DNS
//! answer cannot swap it, and redirects are followed by hand, each hop
//! checked the same way. Time, body size and hops are capped.

mod fetch;
mod html;

pub use fetch::{AllowRule, HttpLinkFetcher, UnfurlConfig};
pub use html::parse_preview;
