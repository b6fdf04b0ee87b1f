//! A token naming an unknown `kid` makes the verifier read the keys again, at most once a second,
//! however many such tokens arrive at once; a key another instance has just made is still found.

use std::sync::Arc;

use statusgate::clock::FixedClock;
use statusgate::ids::{GrantId, KeyId, UserId};
use statusgate::oauth::keys::AccessError;
use statusgate::oauth::AuthServer;

use super::*;
use crate::both_backends;
use crate::helpers::TestApp;

/// A well-formed token whose `kid` looks like one of ours but names no key.
fn forged(kid: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let claims = json!({"iss": "x", "aud": "x", "exp": 4_000_000_000_i64, "grant": "gr_0"});
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap()
}

both_backends!(
    a_burst_of_unknown_key_ids_reloads_the_keys_at_most_once_a_second,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        // A fresh verifier: its first token is an unknown kid too, and loads the keys (one reload).
        let verifier = AuthServer::new(app.services.clone(), Default::default(), &app.base);
        assert!(verifier.verify_access(&t.access).await.is_ok());
        assert_eq!(verifier.keys.unknown_kid_reloads(), 1);

        // A key id not of our shape is refused without reading anything.
        let r = verifier.decode_access(&forged("../../etc/passwd")).await;
        assert_eq!(r.err(), Some(AccessError::Invalid));
        assert_eq!(verifier.keys.unknown_kid_reloads(), 1);

        let burst: Vec<_> = (0..1000)
            .map(|_| {
                let (v, token) = (verifier.clone(), forged(KeyId::generate().as_str()));
                tokio::spawn(async move { v.decode_access(&token).await.map(|_| ()) })
            })
            .collect();
        for task in burst {
            assert_eq!(task.await.unwrap(), Err(AccessError::Invalid));
        }
        let reloads = verifier.keys.unknown_kid_reloads();
        assert!(reloads <= 2, "{reloads} reloads for one burst");

        // Right after the burst another instance rotates and signs with its new key: the verifier
        // waits for its next permitted reload instead of refusing the token.
        let later = FixedClock::new(time::OffsetDateTime::now_utc() + time::Duration::days(31));
        let services = statusgate::service::Services::new(
            app.store.clone(),
            Arc::new(later),
            Default::default(),
        );
        let other = AuthServer::new(services, Default::default(), &app.base);
        other.ensure_signing_key().await.unwrap();
        let claims = verifier.decode_access(&t.access).await.unwrap();
        let grant = GrantId::parse(&claims.grant).unwrap();
        let user = UserId::parse(&claims.sub).unwrap();
        let (fresh, _) = other
            .mint_access(&grant, &user, &claims.client_id, &claims.scope)
            .await
            .unwrap();
        assert!(verifier.decode_access(&fresh).await.is_ok());
        assert_eq!(verifier.keys.unknown_kid_reloads(), reloads + 1);
    }
);
