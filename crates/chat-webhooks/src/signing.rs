//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256
//! of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with the endpoint's
//! secret. Secrets are accepted as `whsec_<base64>` (the specification's
//! serialization, whose base64 part is the key) or as plain text (its bytes
//! are the key), as the contract allows.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix of a serialized Standard Webhooks secret.
const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// The key of a configured secret.
    ///
    /// # Errors
    /// A `whsec_` secret whose rest is not base64, or an empty secret.
    pub fn parse(secret: &str) -> Result<Self, String> {
        let key = match secret.strip_prefix(SECRET_PREFIX) {
            Some(encoded) => STANDARD
                .decode(encoded)
                .map_err(|e| format!("a whsec_ secret must be base64 after the prefix: {e}"))?,
            None => secret.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err("a webhook secret must not be empty".to_owned());
        }
        Ok(Self(key))
    }

    /// The `webhook-signature` header value for one delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mac = self.mac(id, timestamp, body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Whether `header` (space-separated signatures, as during a secret
    /// rotation) holds a valid `v1` signature of this delivery. Compared in
    /// constant time.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        header.split(' ').any(|entry| {
            let Some(encoded) = entry.strip_prefix("v1,") else {
                return false;
            };
            let Ok(given) = STANDARD.decode(encoded) else {
                return false;
            };
            self.mac(id, timestamp, body).verify_slice(&given).is_ok()
        })
    }

    /// The MAC over `<id>.<timestamp>.<body>`.
    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's published test vector (the reference libraries
    /// all check it).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn key() -> SigningKey {
        SigningKey::parse(SECRET).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn signs_the_specification_test_vector() {
        assert_eq!(key().sign(ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn verifies_it_and_refuses_any_change() {
        let key = key();
        assert!(key.verify(ID, TIMESTAMP, BODY, SIGNATURE));
        assert!(
            key.verify(ID, TIMESTAMP, BODY, &format!("v1,b2xk {SIGNATURE}")),
            "rotation"
        );
        assert!(!key.verify(ID, TIMESTAMP + 1, BODY, SIGNATURE));
        assert!(!key.verify("msg_other", TIMESTAMP, BODY, SIGNATURE));
        assert!(!key.verify(ID, TIMESTAMP, br#"{"test": 2432232315}"#, SIGNATURE));
        assert!(!key.verify(
            ID,
            TIMESTAMP,
            BODY,
            "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ));
    }

    #[test]
    fn secrets_parse_as_the_contract_allows() {
        let plain = SigningKey::parse("a plain shared secret").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.0, b"a plain shared secret");
        assert!(SigningKey::parse("whsec_not base64!").is_err());
        assert!(SigningKey::parse("").is_err());
        assert_eq!(format!("{:?}", key()), "SigningKey(..)");
    }
}
