//! Outbound webhooks to the operator's endpoints (contract: "Webhooks and
//! push"). This crate starts with what every delivery needs and receivers
//! verify: the Standard Webhooks signature ([`signing`]). Delivery from the
//! transactional outbox builds on it.

pub mod signing;
