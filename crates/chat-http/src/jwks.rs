//! Keys published by an identity provider at a JWKS URL (Keycloak, Auth0,
//! Okta, Cognito...), which rotate.
//!
//! Keys are cached by `kid`. The set is fetched again when it is older than
//! the refresh interval, or when a token names a `kid` the cache does not
//! hold (a rotation) — but at most once per `UNKNOWN_KID_COOLDOWN`, so a
//! flood of tokens with made-up `kid`s cannot turn into a flood of fetches.
//! A failed fetch keeps the keys already known.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Shortest time between two fetches caused by unknown `kid`s (or the
/// refresh interval, when that is shorter).
const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(10);

/// One verification key of the set.
#[derive(Clone)]
pub(crate) struct VerificationKey {
    pub(crate) key: DecodingKey,
    pub(crate) algorithm: Algorithm,
}

/// What looking a `kid` up can answer.
pub(crate) enum Lookup {
    Found(VerificationKey),
    /// The provider's set does not have it (after a fresh look).
    Unknown,
    /// The set could not be fetched and the cache does not have it.
    ProviderUnreachable(String),
}

/// The cached key set of one JWKS URL.
pub(crate) struct JwksKeys {
    url: String,
    refresh_every: Duration,
    client: reqwest::Client,
    cache: RwLock<Cache>,
    /// One fetch at a time; others wait for it and then read the cache.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, VerificationKey>,
    fetched_at: Option<Instant>,
    /// Why the last fetch failed, if it did.
    last_error: Option<String>,
}

impl JwksKeys {
    /// Keys from `url`, fetched on first use and then every `refresh_every`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub(crate) fn new(url: String, refresh_every: Duration) -> anyhow::Result<Arc<Self>> {
        // The keys that decide who is authenticated come straight from the
        // configured URL, not through a proxy from the environment.
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Arc::new(Self {
            url,
            refresh_every,
            client,
            cache: RwLock::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        }))
    }

    /// The key for `kid`, fetching the set when it is stale or lacks `kid`.
    pub(crate) async fn key(&self, kid: &str) -> Lookup {
        let (cached, fetched_at) = self.cached(kid);
        let stale = fetched_at.is_none_or(|at| at.elapsed() >= self.refresh_every);
        let cooldown = UNKNOWN_KID_COOLDOWN.min(self.refresh_every);
        let may_look_again = fetched_at.is_none_or(|at| at.elapsed() >= cooldown);
        match cached {
            Some(key) if !stale => return Lookup::Found(key),
            None if !stale && !may_look_again => return Lookup::Unknown,
            _ => {}
        }
        let fetched = self.refresh(fetched_at).await;
        match (self.cached(kid).0, fetched) {
            (Some(key), _) => Lookup::Found(key),
            (None, Ok(())) => Lookup::Unknown,
            (None, Err(e)) => Lookup::ProviderUnreachable(e),
        }
    }

    fn cached(&self, kid: &str) -> (Option<VerificationKey>, Option<Instant>) {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (cache.keys.get(kid).cloned(), cache.fetched_at)
    }

    /// Fetches the set unless another request did since `seen_fetch`.
    async fn refresh(&self, seen_fetch: Option<Instant>) -> Result<(), String> {
        let _one_at_a_time = self.fetching.lock().await;
        {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.fetched_at != seen_fetch {
                // Another request fetched while this one waited: its outcome
                // is this one's.
                return cache.last_error.clone().map_or(Ok(()), Err);
            }
        }
        let result = self.fetch().await;
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A failure counts as a look too: the cooldown holds while the
        // provider is down, and the old keys stay.
        cache.fetched_at = Some(Instant::now());
        match result {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "JWKS fetched");
                cache.keys = keys;
                cache.last_error = None;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "JWKS fetch failed; keeping the known keys");
                cache.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, VerificationKey>, String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("fetching the JWKS: {e}"))?;
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| format!("reading the JWKS: {e}"))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                usable_key(jwk).map(|key| (kid, key))
            })
            .collect())
    }
}

/// A signing key this service accepts: RS256 (RSA), ES256 (P-256) or EdDSA
/// (Ed25519). The algorithm comes from the key, never from the token, so a
/// token cannot choose how it is checked.
fn usable_key(jwk: &Jwk) -> Option<VerificationKey> {
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        (AlgorithmParameters::OctetKeyPair(okp), None | Some(KeyAlgorithm::EdDSA))
            if okp.curve == EllipticCurve::Ed25519 =>
        {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerificationKey { key, algorithm })
}
