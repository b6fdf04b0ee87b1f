//! What an anonymous subscriber can learn or cause: subscribing (email, webhook, or a webhook that
//! fails its challenge) leaves the read cache's generation and the cached public page as they were;
//! subscribing a webhook URL answers alike whether or not it is subscribed already; webhook URLs are
//! capped at 2 KiB.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::config::Config;

use crate::both_backends;
use crate::helpers::{form_token_in, Browser, TestApp, TestDb};
use crate::loopback::{receiver_on, smtp_sink, Echo};
use crate::monitors::owner;
use crate::notifications::{fast_delivery, page_of};

/// Posts the public subscribe form as a visitor with its own cookie; the response's status and body.
async fn subscribe(visitor: &Browser, kind: &str, target: &str) -> (u16, String) {
    let html = visitor
        .get("/status/api/subscribe")
        .await
        .text()
        .await
        .unwrap();
    let token = form_token_in(&html).unwrap();
    let r = visitor
        .post_form(
            "/status/api/subscribe",
            &[("form_token", &token), ("kind", kind), ("target", target)],
        )
        .await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The secret shown on the success page (in a `<code>`), if any.
fn shown_secret(html: &str) -> Option<String> {
    let at = html.find("whsec_")?;
    Some(
        html[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    )
}

/// The cache generation once the start-up work (the demo monitors' first runs, each a tracked write)
/// is done.
async fn settled_generation(app: &TestApp) -> statusgate::service::Freshness {
    let pool = app.store.pool();
    let runs = || async {
        let monitors: i64 = sqlx::query_scalar("select count(*) from monitors where enabled = 1")
            .fetch_one(pool)
            .await
            .unwrap();
        let ran: i64 = sqlx::query_scalar("select count(distinct monitor_id) from monitor_events")
            .fetch_one(pool)
            .await
            .unwrap();
        ran >= monitors
    };
    for _ in 0..100 {
        if runs().await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut last = app.services.freshness();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = app.services.freshness();
        if now == last {
            return now;
        }
        last = now;
    }
}

both_backends!(
    an_anonymous_subscribe_invalidates_no_cache,
    |db: TestDb| async move {
        let sink = smtp_sink().await;
        let port = sink.port;
        let tweak = move |c: &mut Config| {
            fast_delivery(c);
            c.smtp.host = "127.0.0.1".into();
            c.smtp.port = port;
            c.delivery.subscribe_burst = 100;
        };
        let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
        let visitor = app.new_browser();
        let before = settled_generation(&app).await;
        let page = app.get("/status/api").await;
        let etag = page.headers()["etag"].clone();

        let echo = receiver_on("127.0.0.1", Echo::Json, false).await;
        let silent = receiver_on("127.0.0.1", Echo::Nothing, false).await;
        let (status, _) = subscribe(&visitor, "email", "reader@example.com").await;
        assert_eq!(status, 200);
        let (status, _) = subscribe(&visitor, "webhook", &echo.url).await;
        assert_eq!(status, 200);
        let (status, _) = subscribe(&visitor, "webhook", &silent.url).await;
        assert_eq!(status, 422, "the silent endpoint is refused");
        let s = &app.services;
        let subs = s
            .subscribers(&owner(s).await, &page_of(s).await, None)
            .await
            .unwrap();
        assert_eq!(
            subs.len(),
            2,
            "the email and the echoing webhook are stored"
        );

        assert_eq!(
            app.services.freshness(),
            before,
            "no anonymous subscribe moved the cache generation"
        );
        // The page is still the cached copy: a revalidation gets 304.
        let again = app
            .browser
            .client
            .get(app.url("/status/api"))
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    }
);

both_backends!(
    subscribing_a_webhook_answers_alike_whether_or_not_it_is_subscribed,
    |db: TestDb| async move {
        let tweak = |c: &mut Config| {
            fast_delivery(c);
            c.delivery.subscribe_burst = 100;
        };
        let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
        let echo = receiver_on("127.0.0.1", Echo::Json, false).await;
        let first = app.new_browser();
        let second = app.new_browser();

        let (status_a, page_a) = subscribe(&first, "webhook", &echo.url).await;
        let (status_b, page_b) = subscribe(&second, "webhook", &echo.url).await;
        assert_eq!((status_a, status_b), (200, 200));
        let (secret_a, secret_b) = (shown_secret(&page_a), shown_secret(&page_b));
        assert!(secret_a.is_some() && secret_b.is_some());
        assert_ne!(secret_a, secret_b, "each subscription has its own secret");
        assert_eq!(
            page_a.replace(secret_a.as_deref().unwrap(), "S"),
            page_b.replace(secret_b.as_deref().unwrap(), "S"),
            "the second visitor learns nothing of the first"
        );
        assert_eq!(echo.challenges.lock().unwrap().len(), 2, "both challenged");
        let s = &app.services;
        let subs = s
            .subscribers(&owner(s).await, &page_of(s).await, None)
            .await
            .unwrap();
        assert_eq!(subs.len(), 2);
        assert!(subs
            .iter()
            .all(|sub| sub.target == echo.url && sub.confirmed));
    }
);

both_backends!(
    a_webhook_url_over_2_kib_is_refused_with_a_clear_error,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(db, fast_delivery, Arc::new(SystemClock)).await;
        let echo = receiver_on("127.0.0.1", Echo::Json, false).await;
        let visitor = app.new_browser();
        let long = format!("{}?pad={}", echo.url, "a".repeat(2048));
        let (status, body) = subscribe(&visitor, "webhook", &long).await;
        assert_eq!(status, 422);
        assert!(body.contains("at most 2048 bytes"), "{body}");
        assert!(echo.challenges.lock().unwrap().is_empty(), "not challenged");
        let s = &app.services;
        let subs = s
            .subscribers(&owner(s).await, &page_of(s).await, None)
            .await
            .unwrap();
        assert!(subs.is_empty());
    }
);
