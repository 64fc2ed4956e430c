//! Cloudflare R2 (S3 API) adapter for the domain's `ObjectStore` port, on
//! `rusoto_s3`: presigned `PUT` tickets, `HEAD` checks at finalize, uploads
//! streamed in parts (never a whole file in memory), presigned `GET` URLs or
//! a public base URL, deletes for the janitor.
//!
//! `rusoto` is unmaintained (RUSTSEC-2022-0071) and stays inside this crate;
//! see `docs/decisions/0006-attachments.md`.

mod store;

pub use store::{R2Config, R2ObjectStore};
