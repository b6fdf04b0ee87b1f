//! Registration reaping and signing-key rotation, with the clock moved by hand.

use std::sync::Arc;

use statusgate::clock::FixedClock;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::both_backends;
use crate::helpers::TestApp;

fn server(app: &TestApp) -> statusgate::oauth::AuthServer {
    statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base)
}

both_backends!(
    abandoned_registrations_are_reaped_but_used_ones_stay,
    |db| async move {
        let clock = FixedClock::new(OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(db, |_| {}, Arc::new(clock.clone())).await;
        let abandoned = register_public(&app, CALLBACK).await;
        let used = tokens(&app).await;
        clock.advance(Duration::hours(25));
        let reaped = server(&app).reap_registrations().await.unwrap();
        assert_eq!(reaped, 1);
        let p = pkce();
        assert_eq!(
            app.get(&authorize_path(&abandoned, CALLBACK, &p.challenge, &[]))
                .await
                .status(),
            400
        );
        assert_eq!(
            app.get(&authorize_path(&used.client, CALLBACK, &p.challenge, &[]))
                .await
                .status(),
            200
        );
    }
);

both_backends!(
    rotated_keys_keep_verifying_until_their_tokens_expire,
    |db| async move {
        let clock = FixedClock::new(OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(db, |_| {}, Arc::new(clock.clone())).await;
        let t = tokens(&app).await;
        let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        let old_kid = kid(&t.access);
        // Just before the key is due, a refresh is signed with the old key.
        clock.advance(Duration::days(30) - Duration::minutes(10));
        let (_, fresh) = refresh(&app, &t.client, &t.refresh).await;
        let before = fresh["access_token"].as_str().unwrap().to_owned();
        assert_eq!(kid(&before), old_kid);
        // Twenty minutes later the key is due: a new one signs, the old one still verifies its tokens.
        clock.advance(Duration::minutes(20));
        let oauth = server(&app);
        oauth.ensure_signing_key().await.unwrap();
        let (_, next) = refresh(&app, &t.client, fresh["refresh_token"].as_str().unwrap()).await;
        let after = next["access_token"].as_str().unwrap().to_owned();
        assert_ne!(kid(&after), old_kid, "the new key signs");
        assert!(oauth.verify_access(&after).await.is_ok());
        assert!(
            oauth.verify_access(&before).await.is_ok(),
            "old key valid until its tokens expire"
        );
        // Past its lifetime the token is refused, whichever key signed it.
        clock.advance(Duration::hours(2));
        assert!(oauth.verify_access(&before).await.is_err());
    }
);
