//! Bearer-token authentication: JWT verification with one configured key or
//! an identity provider's JWKS, and the extractor that provisions the caller
//! from the claims.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chat_domain::service::Provisioned;
use chat_domain::user::{Caller, User};
use chat_domain::{OrgId, UserId};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use crate::jwks::{JwksKeys, Lookup, VerificationKey};

use crate::AppState;
use crate::error::ApiError;

/// How tokens are verified. The trusted key (or key set) fixes the
/// algorithm, so a token cannot pick its own (no `alg: none`, no
/// HS256-with-the-public-key).
#[derive(Clone)]
pub struct Authenticator {
    keys: Keys,
    /// The claim checks, one per algorithm a key may have (built once: a
    /// request only picks the one of its key).
    validations: Vec<(Algorithm, Validation)>,
    claims: ClaimNames,
}

/// The algorithms a key may have: HS256 for a shared secret, RS256, ES256
/// and EdDSA for public keys.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

#[derive(Clone)]
enum Keys {
    /// One configured key.
    Static(VerificationKey),
    /// An identity provider's rotating keys, by `kid`.
    Jwks(Arc<JwksKeys>),
}

/// Which key verifies tokens.
#[derive(Debug, Clone)]
pub enum TokenKey {
    /// HS256 with a shared secret.
    Hs256Secret(String),
    /// RS256 with an RSA public key in PEM.
    Rs256Pem(String),
    /// ES256 with an EC P-256 public key in PEM.
    Es256Pem(String),
    /// RS256, ES256 or EdDSA keys published at a JWKS URL, refreshed every
    /// `refresh_every` and when a token names an unknown `kid`.
    Jwks {
        url: String,
        refresh_every: Duration,
    },
}

/// Claims checks besides the signature, and where the ids are.
#[derive(Debug, Clone)]
pub struct TokenRules {
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// The claim holding the numeric user id (`sub` by default; identity
    /// providers whose `sub` is not numeric put it in a custom claim).
    pub user_id_claim: String,
    /// The claim holding the numeric org id (`org` by default).
    pub org_id_claim: String,
    /// The org of every user, for single-org deployments whose tokens carry
    /// none; the org claim is then not read.
    pub fixed_org: Option<i64>,
    /// The claims of the profile: display name (`name`), username
    /// (`preferred_username`) and avatar URL (`picture`) by default.
    pub profile_claims: ProfileClaims,
}

/// Which claims fill the user's directory entry.
#[derive(Debug, Clone)]
pub struct ProfileClaims {
    pub name: String,
    pub username: String,
    pub avatar_url: String,
}

impl Default for ProfileClaims {
    fn default() -> Self {
        Self {
            name: "name".to_owned(),
            username: "preferred_username".to_owned(),
            avatar_url: "picture".to_owned(),
        }
    }
}

impl Default for TokenRules {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            user_id_claim: "sub".to_owned(),
            org_id_claim: "org".to_owned(),
            fixed_org: None,
            profile_claims: ProfileClaims::default(),
        }
    }
}

#[derive(Debug, Clone)]
struct ClaimNames {
    user_id: String,
    org_id: String,
    fixed_org: Option<i64>,
    profile: ProfileClaims,
}

impl Authenticator {
    /// An authenticator for one key or key set.
    ///
    /// # Errors
    /// When a PEM key does not parse, or the JWKS client cannot be built.
    pub fn new(key: &TokenKey, rules: &TokenRules) -> anyhow::Result<Self> {
        let keys = match key {
            TokenKey::Hs256Secret(secret) => Keys::Static(VerificationKey {
                key: DecodingKey::from_secret(secret.as_bytes()),
                algorithm: Algorithm::HS256,
            }),
            TokenKey::Rs256Pem(pem) => Keys::Static(VerificationKey {
                key: DecodingKey::from_rsa_pem(pem.as_bytes())?,
                algorithm: Algorithm::RS256,
            }),
            TokenKey::Es256Pem(pem) => Keys::Static(VerificationKey {
                key: DecodingKey::from_ec_pem(pem.as_bytes())?,
                algorithm: Algorithm::ES256,
            }),
            TokenKey::Jwks { url, refresh_every } => {
                Keys::Jwks(JwksKeys::new(url.clone(), *refresh_every)?)
            }
        };
        // Each validation allows exactly one algorithm: the key's.
        let validations = ALGORITHMS
            .into_iter()
            .map(|algorithm| {
                let mut validation = Validation::new(algorithm);
                validation.validate_nbf = true;
                validation.set_required_spec_claims(&["exp"]);
                if let Some(issuer) = &rules.issuer {
                    validation.set_issuer(&[issuer]);
                }
                match &rules.audience {
                    Some(audience) => validation.set_audience(&[audience]),
                    None => validation.validate_aud = false,
                }
                (algorithm, validation)
            })
            .collect();
        Ok(Self {
            keys,
            validations,
            claims: ClaimNames {
                user_id: rules.user_id_claim.clone(),
                org_id: rules.org_id_claim.clone(),
                fixed_org: rules.fixed_org,
                profile: rules.profile_claims.clone(),
            },
        })
    }

    /// The user a bearer token speaks for.
    ///
    /// # Errors
    /// `unauthenticated` for a bad signature, algorithm, expiry, issuer or
    /// audience, an unknown `kid`, or a user or org id claim that is not a
    /// decimal int64; `unavailable` when the identity provider's keys cannot
    /// be fetched and none is known for the token.
    pub async fn verify(&self, token: &str) -> Result<User, ApiError> {
        let key = match &self.keys {
            Keys::Static(key) => Cow::Borrowed(key),
            Keys::Jwks(keys) => {
                let header = decode_header(token)
                    .map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?;
                let kid = header
                    .kid
                    .ok_or_else(|| ApiError::unauthenticated("token has no kid"))?;
                match keys.key(&kid).await {
                    Lookup::Found(key) => Cow::Owned(key),
                    Lookup::Unknown => {
                        return Err(ApiError::unauthenticated("token signed by an unknown key"));
                    }
                    Lookup::ProviderUnreachable(cause) => {
                        return Err(ApiError::from(chat_domain::ChatError::Unavailable(
                            anyhow::anyhow!(cause),
                        )));
                    }
                }
            }
        };
        let validation = self
            .validations
            .iter()
            .find(|(algorithm, _)| *algorithm == key.algorithm)
            .map(|(_, validation)| validation)
            .ok_or_else(|| ApiError::unauthenticated("unsupported key algorithm"))?;
        // Every claim: which ones hold the ids is configuration.
        let data = decode::<Claims>(token, &key.key, validation)
            .map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?;
        let mut claims = data.claims;
        let id = int_claim(&claims, &self.claims.user_id)?;
        let org = match self.claims.fixed_org {
            Some(org) => org,
            None => int_claim(&claims, &self.claims.org_id)?,
        };
        let text = |claims: &mut Claims, name: &str| match claims.remove(name) {
            Some(serde_json::Value::String(text)) => Some(without_nul(text)),
            _ => None,
        };
        Ok(User {
            id: UserId::new(id),
            org_id: OrgId::new(org),
            name: text(&mut claims, &self.claims.profile.name),
            username: text(&mut claims, &self.claims.profile.username),
            avatar_url: text(&mut claims, &self.claims.profile.avatar_url),
        })
    }
}

type Claims = serde_json::Map<String, serde_json::Value>;

/// An id claim: a decimal string (C2) or, leniently, a JSON integer.
fn int_claim(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<i64, ApiError> {
    let id = match claims.get(name) {
        Some(serde_json::Value::String(text)) => crate::wire::parse_decimal_id(text),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    id.ok_or_else(|| ApiError::unauthenticated(format!("{name} must be a decimal int64")))
}

/// The authenticated caller. Extracting it verifies the bearer token and
/// creates or refreshes the caller's directory entry.
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::from(chat_domain::ChatError::Unexpected(anyhow::anyhow!(
                    "no app state"
                )))
            })?;
            let token = token.ok_or_else(|| ApiError::unauthenticated("missing bearer token"))?;
            let user = state.auth.verify(&token).await?;
            let caller = Caller {
                user_id: user.id,
                org_id: user.org_id,
            };
            match state.chat.provision_user(user).await? {
                Provisioned::Ready => Ok(Self(caller)),
                Provisioned::InAnotherOrg => Err(ApiError::unauthenticated(
                    "the token's org is not the user's org",
                )),
            }
        })
    }
}

/// Profile claims are display text from the identity provider: a NUL in one
/// (which PostgreSQL cannot store) is dropped rather than failing every
/// request the token makes.
fn without_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}
