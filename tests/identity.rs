//! Identity providers: keys fetched from a JWKS URL and followed through a
//! rotation, and user and org ids read from the claims a provider can
//! actually put in its tokens.

use std::time::Duration;

use chat_e2e::site::LocalSite;
use chat_e2e::{TestServer, claims, eventually, fixture};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Signs `claims` with a private key, naming the key's `kid` as providers do.
fn sign(algorithm: Algorithm, private_key: &str, kid: &str, claims: &Value) -> String {
    let pem = fixture(private_key);
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()),
    }
    .unwrap_or_else(|e| panic!("{private_key}: {e}"));
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap_or_else(|e| panic!("signing: {e}"))
}

async fn list_status(server: &TestServer, token: &str) -> (u16, String) {
    let reply = server
        .post(token, "/chat/conversations/list", json!({}))
        .await;
    (reply.status, reply.code().to_owned())
}

#[tokio::test]
async fn keys_come_from_the_jwks_url_and_follow_a_rotation() {
    let provider = LocalSite::start();
    provider.set(
        "/certs",
        "application/json",
        &fixture("jwks-before-rotation.json"),
    );
    let jwks_url = format!("{}/certs", provider.origin());
    let server = TestServer::postgres_with(&[
        ("AUTH_JWKS_URL", &jwks_url),
        ("AUTH_JWKS_REFRESH_SECS", "1"),
    ])
    .await;
    let old_rsa = sign(
        Algorithm::RS256,
        "rs256-private.pem",
        "rsa-2026-11",
        &claims(1, 1),
    );
    let ec = sign(
        Algorithm::ES256,
        "es256-private.pem",
        "ec-2026-11",
        &claims(2, 1),
    );
    let new_rsa = sign(
        Algorithm::RS256,
        "rs256-rotated-private.pem",
        "rsa-2026-12",
        &claims(3, 1),
    );
    let ed = sign(
        Algorithm::EdDSA,
        "ed25519-private.pem",
        "ed-2026-11",
        &claims(6, 1),
    );

    assert_eq!(list_status(&server, &old_rsa).await, (200, String::new()));
    assert_eq!(list_status(&server, &ec).await, (200, String::new()));
    assert_eq!(list_status(&server, &ed).await, (200, String::new()));
    assert_eq!(provider.hits("/certs"), 1, "the key set is cached");
    // Not published yet: refused, and asking again at once does not make
    // the service hammer the provider.
    for _ in 0..5 {
        assert_eq!(
            list_status(&server, &new_rsa).await,
            (401, "unauthenticated".to_owned())
        );
    }
    assert!(
        provider.hits("/certs") <= 2,
        "fetches: {}",
        provider.hits("/certs")
    );

    provider.set(
        "/certs",
        "application/json",
        &fixture("jwks-after-rotation.json"),
    );
    // Past the (1 s in this test) cooldown, the new kid makes the service look again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(list_status(&server, &new_rsa).await, (200, String::new()));
    assert_eq!(list_status(&server, &ec).await, (200, String::new()));

    // A kid of the set with the wrong algorithm (HS256 "signed" with the
    // public key's text) is algorithm confusion: refused.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-2026-12".to_owned());
    let confused = jsonwebtoken::encode(
        &header,
        &claims(4, 1),
        &EncodingKey::from_secret(fixture("jwks-after-rotation.json").as_bytes()),
    )
    .expect("signing");
    assert_eq!(
        list_status(&server, &confused).await,
        (401, "unauthenticated".to_owned())
    );
    // No kid at all: refused.
    let no_kid = chat_e2e::sign_pem(
        Algorithm::RS256,
        &fixture("rs256-rotated-private.pem"),
        &claims(5, 1),
    );
    assert_eq!(
        list_status(&server, &no_kid).await,
        (401, "unauthenticated".to_owned())
    );
}

#[tokio::test]
async fn known_keys_keep_working_while_the_provider_is_down() {
    let provider = LocalSite::start();
    provider.set(
        "/certs",
        "application/json",
        &fixture("jwks-before-rotation.json"),
    );
    let server = TestServer::postgres_with(&[
        ("AUTH_JWKS_URL", &format!("{}/certs", provider.origin())),
        ("AUTH_JWKS_REFRESH_SECS", "1"),
    ])
    .await;
    let token = sign(
        Algorithm::RS256,
        "rs256-private.pem",
        "rsa-2026-11",
        &claims(1, 1),
    );
    assert_eq!(list_status(&server, &token).await, (200, String::new()));

    provider.remove("/certs");
    // Past the refresh interval: the service looks again, fails, and keeps
    // the keys it has.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(list_status(&server, &token).await, (200, String::new()));
    assert_eq!(provider.hits("/certs"), 2, "the refresh was attempted");
    // A clear log line says the provider is unreachable. The server's
    // stdout is read by another thread, so the line may land just after the
    // response does.
    eventually(Duration::from_secs(10), || async {
        server
            .logs()
            .iter()
            .any(|line| line.contains("JWKS fetch failed; keeping the known keys"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_not_unauthenticated() {
    let provider = LocalSite::start();
    // Nothing at /certs: the provider answers 404.
    let server =
        TestServer::postgres_with(&[("AUTH_JWKS_URL", &format!("{}/certs", provider.origin()))])
            .await;
    let token = sign(
        Algorithm::RS256,
        "rs256-private.pem",
        "rsa-2026-11",
        &claims(1, 1),
    );
    // Users are not logged out because their provider blinked.
    assert_eq!(
        list_status(&server, &token).await,
        (503, "unavailable".to_owned())
    );
}

#[tokio::test]
async fn user_and_org_ids_come_from_configured_claims() {
    let server = TestServer::postgres_with(&[
        ("AUTH_HS256_SECRET", chat_e2e::SECRET),
        ("AUTH_USER_ID_CLAIM", "https://chat.example/user_id"),
        ("AUTH_ORG_ID_CLAIM", "tenant"),
        ("AUTH_NAME_CLAIM", "given_name"),
    ])
    .await;
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let token = chat_e2e::sign_hs256(
        chat_e2e::SECRET,
        &json!({ "sub": "auth0|5f1c2d", "https://chat.example/user_id": "42",
                 "tenant": 7, "given_name": "Ada", "name": "Ada L. (admin)", "exp": exp }),
    );
    let created = server
        .post(
            &token,
            "/chat/conversations/create",
            json!({ "kind": "group", "name": "ids" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("an id").to_owned();
    let members = server
        .post(
            &token,
            &format!("/chat/conversations/{id}/members/list"),
            json!({}),
        )
        .await;
    assert_eq!(members.body["data"][0]["user"]["id"], "42");
    assert_eq!(members.body["data"][0]["user"]["name"], "Ada");

    // The same user seen by its numeric claim, not by `sub`: a token whose
    // custom claim is missing or not numeric is refused.
    let missing = chat_e2e::sign_hs256(
        chat_e2e::SECRET,
        &json!({ "sub": "42", "tenant": "7", "exp": exp }),
    );
    let refused = server
        .post(&missing, "/chat/conversations/list", json!({}))
        .await;
    assert_eq!((refused.status, refused.code()), (401, "unauthenticated"));
    let not_numeric = chat_e2e::sign_hs256(
        chat_e2e::SECRET,
        &json!({ "https://chat.example/user_id": "ada", "tenant": "7", "exp": exp }),
    );
    let refused = server
        .post(&not_numeric, "/chat/conversations/list", json!({}))
        .await;
    assert_eq!((refused.status, refused.code()), (401, "unauthenticated"));
}

#[tokio::test]
async fn a_fixed_org_serves_tokens_without_an_org_claim() {
    let server = TestServer::postgres_with(&[
        ("AUTH_HS256_SECRET", chat_e2e::SECRET),
        ("AUTH_FIXED_ORG_ID", "9"),
    ])
    .await;
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let ann = chat_e2e::sign_hs256(chat_e2e::SECRET, &json!({ "sub": "1", "exp": exp }));
    let bob = chat_e2e::sign_hs256(
        chat_e2e::SECRET,
        &json!({ "sub": "2", "org": "3", "exp": exp }),
    );
    // Both are in org 9 whatever their token says, so Ann can add Bob.
    let _ = server
        .post(&bob, "/chat/conversations/list", json!({}))
        .await;
    let created = server
        .post(
            &ann,
            "/chat/conversations/create",
            json!({ "kind": "group", "name": "one org", "memberIds": ["2"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["memberCount"], 2);
}
