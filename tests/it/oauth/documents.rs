//! URL client ids: metadata documents fetched over loopback with the guard relaxed for the test, and
//! refused outright with the guard on.

use std::sync::{Arc, Mutex};

use axum::routing::get;
use serde_json::{json, Value};

use super::{authorize_path, pkce};
use crate::both_backends;
use crate::helpers::{TestApp, TestDb};

/// Serves `doc` (built from the server's own URL) at `/client.json`; counts fetches.
async fn document_server(
    doc: impl Fn(&str) -> Value + Send + Sync + 'static,
) -> (String, Arc<Mutex<u32>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(0u32));
    let (u, h) = (url.clone(), hits.clone());
    let body = doc(&url);
    let app = axum::Router::new().route(
        "/client.json",
        get(move || {
            *h.lock().unwrap() += 1;
            let _ = &u;
            let body = body.clone();
            async move { ([("cache-control", "max-age=600")], axum::Json(body)) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

both_backends!(
    a_fetched_document_names_the_client_on_the_consent_page,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(
            db,
            |c| c.oauth.cimd_allow_private_targets = true,
            Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        app.sign_in_as_owner().await;
        let (url, hits) = document_server(|url| json!({
        "client_id": url, "client_name": "Docs Client", "redirect_uris": ["http://127.0.0.1/callback"],
    })).await;
        let p = pkce();
        let path = authorize_path(&url, "http://127.0.0.1:4444/callback", &p.challenge, &[]);
        for _ in 0..2 {
            let r = app.get(&path).await;
            assert_eq!(r.status(), 200);
            assert!(r.text().await.unwrap().contains("Docs Client"));
        }
        assert_eq!(*hits.lock().unwrap(), 1, "cached as Cache-Control says");
    }
);

both_backends!(
    bad_or_internal_documents_are_refused_with_an_error_page,
    |db: TestDb| async move {
        // A document that names another client id.
        let app = TestApp::spawn_with(
            db,
            |c| c.oauth.cimd_allow_private_targets = true,
            Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        app.sign_in_as_owner().await;
        let (url, _) = document_server(|_| json!({ "client_id": "https://other.example/c.json", "redirect_uris": ["http://127.0.0.1/cb"] })).await;
        let p = pkce();
        let r = app
            .get(&authorize_path(
                &url,
                "http://127.0.0.1/cb",
                &p.challenge,
                &[],
            ))
            .await;
        assert_eq!(r.status(), 400, "an error page, never a redirect");
        assert!(r.text().await.unwrap().contains("client_id"));
    }
);

both_backends!(
    the_guard_refuses_documents_on_internal_addresses,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let (url, hits) = document_server(
            |url| json!({ "client_id": url, "redirect_uris": ["http://127.0.0.1/cb"] }),
        )
        .await;
        let p = pkce();
        let r = app
            .get(&authorize_path(
                &url,
                "http://127.0.0.1/cb",
                &p.challenge,
                &[],
            ))
            .await;
        assert_eq!(r.status(), 400);
        assert_eq!(*hits.lock().unwrap(), 0, "never fetched");
        let https_loopback = url.replace("http://", "https://");
        let r = app
            .get(&authorize_path(
                &https_loopback,
                "http://127.0.0.1/cb",
                &p.challenge,
                &[],
            ))
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("loopback"));
    }
);

both_backends!(
    document_clients_are_stored_when_approved_and_kept_by_the_reaper,
    |db: TestDb| async move {
        let clock = statusgate::clock::FixedClock::new(time::OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(
            db,
            |c| c.oauth.cimd_allow_private_targets = true,
            Arc::new(clock.clone()),
        )
        .await;
        app.sign_in_as_owner().await;
        let (url, _) = document_server(|url| json!({
            "client_id": url, "client_name": "Docs Client", "redirect_uris": ["http://127.0.0.1/callback"],
        }))
        .await;
        let p = pkce();
        let path = authorize_path(&url, "http://127.0.0.1/callback", &p.challenge, &[]);
        let stored = || async {
            sqlx::query_scalar::<_, i64>("select count(*) from oauth_clients where kind = 'cimd'")
                .fetch_one(app.store.pool())
                .await
                .unwrap()
        };
        assert_eq!(app.get(&path).await.status(), 200);
        assert_eq!(stored().await, 0, "not stored before an approval");
        crate::oauth::consent(&app, &path, "approve", |_| {}).await;
        assert_eq!(stored().await, 1, "stored by the approval");
        // Approved, a day later: the reaper keeps it.
        clock.advance(time::Duration::hours(25));
        let oauth =
            statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
        assert_eq!(oauth.reap_registrations().await.unwrap(), 0);
        assert_eq!(stored().await, 1);
    }
);
