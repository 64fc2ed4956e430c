//! Centrifugo connection and subscription tokens (HS256 with Centrifugo's
//! `client.token.hmac_secret_key`).

use std::time::Duration;

use chat_domain::events::{conversation_channel, personal_channel};
use chat_domain::ports::{IssuedToken, RealtimeTokens};
use chat_domain::{ChatError, ConversationId, Timestamp, UserId};
use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

/// Mints tokens Centrifugo accepts.
pub struct CentrifugoTokens {
    key: EncodingKey,
    connection_ttl: Duration,
    subscription_ttl: Duration,
}

#[derive(Serialize)]
struct ConnectionClaims<'a> {
    sub: String,
    exp: i64,
    iat: i64,
    /// Server-side subscriptions: the user's personal channel.
    channels: &'a [String],
}

#[derive(Serialize)]
struct SubscriptionClaims<'a> {
    sub: String,
    channel: &'a str,
    exp: i64,
    iat: i64,
}

impl CentrifugoTokens {
    /// A minter with Centrifugo's HMAC secret and token lifetimes.
    pub fn new(secret: &str, connection_ttl: Duration, subscription_ttl: Duration) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            connection_ttl,
            subscription_ttl,
        }
    }

    fn sign(&self, claims: &impl Serialize) -> Result<String, ChatError> {
        jsonwebtoken::encode(&Header::default(), claims, &self.key)
            .map_err(|e| ChatError::Unexpected(anyhow::anyhow!("signing a Centrifugo token: {e}")))
    }
}

fn expiry(now: Timestamp, ttl: Duration) -> Result<(i64, Timestamp), ChatError> {
    let secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let exp = now.unix_millis() / 1000 + secs;
    let at = Timestamp::from_unix_millis(exp * 1000)
        .ok_or_else(|| ChatError::Unexpected(anyhow::anyhow!("token expiry out of range")))?;
    Ok((exp, at))
}

impl RealtimeTokens for CentrifugoTokens {
    fn connection(&self, user: UserId, now: Timestamp) -> Result<IssuedToken, ChatError> {
        let channels = vec![personal_channel(user)];
        let (exp, expires_at) = expiry(now, self.connection_ttl)?;
        let claims = ConnectionClaims {
            sub: user.to_string(),
            exp,
            iat: now.unix_millis() / 1000,
            channels: &channels,
        };
        Ok(IssuedToken {
            token: self.sign(&claims)?,
            expires_at,
            channels,
        })
    }

    fn subscription(
        &self,
        user: UserId,
        conversation: ConversationId,
        now: Timestamp,
    ) -> Result<IssuedToken, ChatError> {
        let channel = conversation_channel(conversation);
        let (exp, expires_at) = expiry(now, self.subscription_ttl)?;
        let claims = SubscriptionClaims {
            sub: user.to_string(),
            channel: &channel,
            exp,
            iat: now.unix_millis() / 1000,
        };
        Ok(IssuedToken {
            token: self.sign(&claims)?,
            expires_at,
            channels: vec![channel],
        })
    }
}
