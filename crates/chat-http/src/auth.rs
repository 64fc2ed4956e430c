//! Bearer-token authentication: JWT verification with one configured key and
//! algorithm, and the extractor that provisions the caller from the claims.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chat_domain::user::{Caller, User};
use chat_domain::{OrgId, UserId};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;

/// How tokens are verified. Exactly one key and algorithm family is trusted,
/// so a token cannot pick its own (no `alg: none`, no HS256-with-the-public-key).
#[derive(Clone)]
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
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
}

/// Claims checks besides the signature.
#[derive(Debug, Clone, Default)]
pub struct TokenRules {
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
}

impl Authenticator {
    /// An authenticator for one key.
    ///
    /// # Errors
    /// When a PEM key does not parse.
    pub fn new(key: &TokenKey, rules: &TokenRules) -> anyhow::Result<Self> {
        let (key, algorithm) = match key {
            TokenKey::Hs256Secret(secret) => (
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ),
            TokenKey::Rs256Pem(pem) => {
                (DecodingKey::from_rsa_pem(pem.as_bytes())?, Algorithm::RS256)
            }
            TokenKey::Es256Pem(pem) => {
                (DecodingKey::from_ec_pem(pem.as_bytes())?, Algorithm::ES256)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(issuer) = &rules.issuer {
            validation.set_issuer(&[issuer]);
        }
        match &rules.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(Self { key, validation })
    }

    /// The user a bearer token speaks for.
    ///
    /// # Errors
    /// `unauthenticated` for a bad signature, algorithm, expiry, issuer or
    /// audience, or a `sub`/`org` that is not a decimal int64.
    pub fn verify(&self, token: &str) -> Result<User, ApiError> {
        let data = decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?;
        let claims = data.claims;
        let id = claims
            .sub
            .as_int64()
            .ok_or_else(|| ApiError::unauthenticated("sub must be a decimal int64"))?;
        let org = claims
            .org
            .as_ref()
            .and_then(IntClaim::as_int64)
            .ok_or_else(|| ApiError::unauthenticated("org must be a decimal int64"))?;
        Ok(User {
            id: UserId::new(id),
            org_id: OrgId::new(org),
            name: claims.name.map(without_nul),
            username: claims.preferred_username.map(without_nul),
            avatar_url: claims.picture.map(without_nul),
        })
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: IntClaim,
    org: Option<IntClaim>,
    name: Option<String>,
    preferred_username: Option<String>,
    picture: Option<String>,
}

/// An id claim: a decimal string (C2) or, leniently, a JSON integer.
#[derive(Deserialize)]
#[serde(untagged)]
enum IntClaim {
    Text(String),
    Number(i64),
    Other(serde::de::IgnoredAny),
}

impl IntClaim {
    fn as_int64(&self) -> Option<i64> {
        match self {
            Self::Text(text) => crate::wire::parse_decimal_id(text),
            Self::Number(n) => Some(*n),
            Self::Other(_) => None,
        }
    }
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
            let user = state.auth.verify(&token)?;
            let caller = Caller {
                user_id: user.id,
                org_id: user.org_id,
            };
            state.chat.provision_user(user).await?;
            Ok(Self(caller))
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
