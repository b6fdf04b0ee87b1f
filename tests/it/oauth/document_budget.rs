//! What an authorization request with a URL client id may cost: documents are fetched within budgets
//! (per client address, per instance, a few at once), are never stored before a person approves the
//! client, and a document that changes leaves the read cache alone. Documents come from a loopback
//! server with the guard relaxed for the test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;
use serde_json::json;
use statusgate::clock::FixedClock;
use statusgate::config::Config;

use super::*;
use crate::both_backends;
use crate::helpers::{TestApp, TestDb};

/// A loopback server answering `/c/{n}` with a valid document for that URL.
struct Documents {
    base: String,
    hits: Arc<AtomicU32>,
}

impl Documents {
    async fn serve(cache_control: &'static str, delay: Duration, changing_name: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU32::new(0));
        let (b, h) = (base.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/c/{n}",
            get(move |Path(n): Path<String>| {
                let n_hit = h.fetch_add(1, Ordering::SeqCst) + 1;
                let id = format!("{b}/c/{n}");
                async move {
                    tokio::time::sleep(delay).await;
                    let name = if changing_name {
                        format!("Docs {n_hit}")
                    } else {
                        "Docs Client".to_owned()
                    };
                    let long: Vec<String> = (0..10)
                        .map(|i| format!("https://app{i}.example/{}", "x".repeat(1_500)))
                        .collect();
                    let mut uris = vec![CALLBACK.to_owned()];
                    uris.extend(long);
                    (
                        [("cache-control", cache_control)],
                        axum::Json(
                            json!({ "client_id": id, "client_name": name, "redirect_uris": uris }),
                        ),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, hits }
    }

    fn url(&self, n: impl std::fmt::Display) -> String {
        format!("{}/c/{n}", self.base)
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}

fn authorize(client: &str) -> String {
    authorize_path(client, CALLBACK, &pkce().challenge, &[])
}

async fn clients(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("select count(*) from oauth_clients")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn spawn(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(
        db,
        |c| {
            c.oauth.cimd_allow_private_targets = true;
            tweak(c);
        },
        Arc::new(statusgate::clock::SystemClock),
    )
    .await
}

both_backends!(made_up_document_urls_store_nothing, |db| async move {
    let app = spawn(db, |c| {
        c.oauth.document_fetches_per_minute = 1_000;
        c.oauth.document_fetch_burst = 1_000;
    })
    .await;
    let docs = Documents::serve("max-age=600", Duration::ZERO, false).await;
    let before = clients(&app).await;
    // Signed out: each request fetches its document and sends the person to sign in.
    for n in 0..40 {
        let r = app.get(&authorize(&docs.url(n))).await;
        assert_eq!(r.status(), 303, "document {n}");
    }
    // Signed in: the consent page shows the document, still from memory only.
    app.sign_in_as_owner().await;
    for n in 40..45 {
        let r = app.get(&authorize(&docs.url(n))).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Docs Client"));
    }
    assert_eq!(docs.hits(), 45);
    assert_eq!(
        clients(&app).await,
        before,
        "no client row before an approval"
    );
});

both_backends!(
    document_fetches_are_limited_per_address_and_in_total,
    |db| async move {
        let app = spawn(db, |c| {
            c.oauth.document_fetches_per_minute = 1;
            c.oauth.document_fetch_burst = 3;
        })
        .await;
        let docs = Documents::serve("max-age=600", Duration::ZERO, false).await;
        for n in 0..3 {
            assert_eq!(app.get(&authorize(&docs.url(n))).await.status(), 303);
        }
        let r = app.get(&authorize(&docs.url(3))).await;
        assert_eq!(r.status(), 429, "over this address's budget");
        assert!(r.headers().get("retry-after").is_some());
        assert!(r.headers().get("location").is_none(), "never redirected");
        assert!(r.text().await.unwrap().contains("temporarily_unavailable"));
        assert_eq!(docs.hits(), 3, "nothing fetched over budget");
        // A document already cached costs nothing.
        assert_eq!(app.get(&authorize(&docs.url(0))).await.status(), 303);
        // Registered clients are not documents and never limited by this.
        let registered = register_public(&app, CALLBACK).await;
        assert_eq!(app.get(&authorize(&registered)).await.status(), 303);
    }
);

both_backends!(
    document_fetches_are_limited_for_the_whole_instance,
    |db| async move {
        let app = spawn(db, |c| c.oauth.document_fetches_total_per_minute = 2).await;
        let docs = Documents::serve("max-age=600", Duration::ZERO, false).await;
        for n in 0..2 {
            assert_eq!(app.get(&authorize(&docs.url(n))).await.status(), 303);
        }
        // From another address the instance's budget is spent too.
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap()
            .get(app.url(&authorize(&docs.url(2))))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(docs.hits(), 2);
    }
);

both_backends!(
    slow_documents_hold_at_most_a_few_request_slots,
    |db| async move {
        let app = spawn(db, |c| c.server.max_concurrent_requests = 8).await;
        let docs = Documents::serve("max-age=600", Duration::from_secs(3), false).await;
        let slow: Vec<_> = (0..12)
            .map(|n| {
                let (browser, path) = (app.browser.clone(), authorize(&docs.url(n)));
                tokio::spawn(async move { browser.get(&path).await.status().as_u16() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let at = Instant::now();
        let page = app.get("/status/api").await;
        let took = at.elapsed();
        assert_eq!(page.status(), 200);
        assert!(
            took < Duration::from_millis(1_500),
            "the public page waited {took:?}"
        );
        let mut statuses = Vec::new();
        for t in slow {
            statuses.push(t.await.unwrap());
        }
        let refused = statuses.iter().filter(|s| **s == 429).count();
        let fetched = statuses.iter().filter(|s| **s == 303).count();
        assert_eq!(
            (fetched, refused),
            (4, 8),
            "four fetches at once, the rest refused at once: {statuses:?}"
        );
    }
);

both_backends!(
    a_changed_document_leaves_the_read_cache_alone,
    |db| async move {
        let clock = FixedClock::new(time::OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(
            db,
            |c| c.oauth.cimd_allow_private_targets = true,
            Arc::new(clock.clone()),
        )
        .await;
        app.sign_in_as_owner().await;
        // Served no-store, with a new name at every fetch.
        let docs = Documents::serve("no-store", Duration::ZERO, true).await;
        let client = docs.url("app");
        let stored_name = || async {
            sqlx::query_scalar::<_, String>(
                "select client_name from oauth_clients where kind = 'cimd'",
            )
            .fetch_optional(app.store.pool())
            .await
            .unwrap()
        };

        // The approval stores the client, and the flow works end to end.
        let p = pkce();
        let path = authorize_path(&client, CALLBACK, &p.challenge, &[]);
        assert_eq!(stored_name().await, None);
        let to = consent(&app, &path, "approve", |_| {}).await;
        assert_eq!(stored_name().await.as_deref(), Some("Docs 1"));
        let access = access_from(&app, &client, &to, &p.verifier).await;
        assert!(accepted(&app, &access).await);

        let mut generation = app.store.cache_generation();
        for _ in 0..50 {
            if generation.caching() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            generation = app.store.cache_generation();
        }
        assert!(generation.caching(), "the read cache is on");
        for fetch in 2..5 {
            clock.advance(time::Duration::minutes(2));
            let html = app.get(&path).await.text().await.unwrap();
            assert!(
                html.contains(&format!("Docs {fetch}")),
                "the new document is shown"
            );
        }
        assert_eq!(docs.hits(), 4);
        assert_eq!(
            app.store.cache_generation(),
            generation,
            "a changed document does not empty the read cache"
        );
        assert_eq!(stored_name().await.as_deref(), Some("Docs 1"));
        assert!(accepted(&app, &access).await);

        // The next approval stores the document as it reads then.
        let p = pkce();
        let path = authorize_path(&client, CALLBACK, &p.challenge, &[]);
        consent(&app, &path, "approve", |_| {}).await;
        assert_eq!(stored_name().await.as_deref(), Some("Docs 4"));
    }
);
