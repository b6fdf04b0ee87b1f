//! A token naming an unknown `kid` makes the verifier read the keys again, at most once a second,
//! however many such tokens arrive at once, and no request waits for another's read; a key another
//! instance has just made is still found.

use std::sync::Arc;
use std::time::Duration;

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

        // Right after the burst another instance rotates and signs with its new key: within the gap
        // the verifier refuses it at once (nobody waits for a reload), and accepts it once the gap
        // since the last reload has passed.
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
        let refused_at = std::time::Instant::now();
        assert_eq!(
            verifier.decode_access(&fresh).await.err(),
            Some(AccessError::Invalid)
        );
        assert!(refused_at.elapsed() < Duration::from_millis(200));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(verifier.decode_access(&fresh).await.is_ok());
        assert_eq!(verifier.keys.unknown_kid_reloads(), reloads + 1);
    }
);

both_backends!(
    a_key_rotated_elsewhere_is_accepted_at_its_first_use,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        let verifier = AuthServer::new(app.services.clone(), Default::default(), &app.base);
        assert!(verifier.decode_access(&t.access).await.is_ok());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // No reload in the last second: the first token signed by another instance's new key makes
        // this one read the keys, and that request waits only for its own read.
        let later = FixedClock::new(time::OffsetDateTime::now_utc() + time::Duration::days(31));
        let services = statusgate::service::Services::new(
            app.store.clone(),
            Arc::new(later),
            Default::default(),
        );
        let other = AuthServer::new(services, Default::default(), &app.base);
        other.ensure_signing_key().await.unwrap();
        let claims = verifier.decode_access(&t.access).await.unwrap();
        let (fresh, _) = other
            .mint_access(
                &GrantId::parse(&claims.grant).unwrap(),
                &UserId::parse(&claims.sub).unwrap(),
                &claims.client_id,
                &claims.scope,
            )
            .await
            .unwrap();
        assert!(verifier.decode_access(&fresh).await.is_ok());
    }
);

both_backends!(
    forged_key_ids_are_refused_at_once_and_delay_no_one,
    |db| async move {
        // Few request slots, so requests that held theirs while waiting would starve the valid one.
        let app = TestApp::spawn_with(
            db,
            |c| c.server.max_concurrent_requests = 16,
            Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        let t = tokens(&app).await;
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        let first = forged(KeyId::generate().as_str());
        let r = crate::mcp_http::post(&app, Some(&first), None, list.clone()).await;
        assert_eq!(
            r.status(),
            401,
            "the first unknown kid reads the keys again"
        );

        // Within the second after that read: 64 tokens with made-up key ids, and a valid call.
        let burst: Vec<_> = (0..64)
            .map(|_| {
                let (browser, body) = (app.browser.clone(), list.clone());
                let token = forged(KeyId::generate().as_str());
                tokio::spawn(async move {
                    let at = std::time::Instant::now();
                    let r = crate::mcp_http::post(&browser, Some(&token), None, body).await;
                    (r.status().as_u16(), at.elapsed())
                })
            })
            .collect();
        // Let the forged requests take their slots first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let at = std::time::Instant::now();
        let valid = crate::mcp_http::post(&app, Some(&t.access), None, list).await;
        let valid_took = at.elapsed();
        assert_eq!(valid.status(), 200);
        let mut slowest = Duration::ZERO;
        for task in burst {
            let (status, took) = task.await.unwrap();
            assert_eq!(status, 401);
            slowest = slowest.max(took);
        }
        assert!(
            slowest < Duration::from_millis(600),
            "a forged token took {slowest:?}"
        );
        assert!(
            valid_took < Duration::from_millis(600),
            "the valid call took {valid_took:?}"
        );
    }
);
