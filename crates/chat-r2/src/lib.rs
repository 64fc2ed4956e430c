//! Cloudflare R2 (S3 API) adapter.
//!
//! This crate will hold the attachment store port's implementation on
//! `rusoto_s3`: presigned PUT upload tickets, `HEAD` checks at finalize,
//! streamed multipart uploads, presigned GET URLs (or a public base URL), and
//! the janitor that removes uploads never finalized. `rusoto` is kept inside
//! this crate (it is unmaintained; see `docs/` once it lands) so the rest of
//! the workspace never depends on it.
