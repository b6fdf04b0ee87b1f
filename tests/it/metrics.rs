//! `/metrics`: absent without a token, refused without the right bearer, and the families counting
//! what an OAuth flow, MCP calls, public page views and REST calls did, labelled by route template.
//! Counters are process-wide and tests run side by side, so each check is "went up", never "equals".

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use statusgate::clock::SystemClock;

use crate::api_support::{get_as, owner_key};
use crate::both_backends;
use crate::helpers::{TestApp, TestDb};

const TOKEN: &str = "metrics-token-0123456789";

/// One sample: its family name and labels.
type Series = (String, BTreeMap<String, String>);

/// Parses the Prometheus text format into samples.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once("=\"").expect("label");
                (k.to_owned(), v.trim_end_matches('"').to_owned())
            })
            .collect();
        out.insert((name.to_owned(), labels), value.parse().expect("value"));
    }
    out
}

fn get(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
        .sum()
}

async fn scrape(app: &TestApp, bearer: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(app.url("/metrics"));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn samples(app: &TestApp) -> BTreeMap<Series, f64> {
    let r = scrape(app, Some(TOKEN)).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    parse(&r.text().await.unwrap())
}

async fn with_token(db: TestDb) -> TestApp {
    TestApp::spawn_with(
        db,
        |c| {
            c.metrics.token = Some(TOKEN.into());
            // A repeated refresh counts as reuse at once.
            c.oauth.refresh_retry_window_secs = 0;
        },
        Arc::new(SystemClock),
    )
    .await
}

#[tokio::test]
async fn without_a_configured_token_there_is_no_endpoint() {
    let db = TestDb::new(crate::helpers::Backend::Sqlite).await.unwrap();
    let app = TestApp::spawn(db).await;
    assert_eq!(scrape(&app, None).await.status(), 404);
    assert_eq!(scrape(&app, Some(TOKEN)).await.status(), 404);
}

#[tokio::test]
async fn a_missing_or_wrong_bearer_is_refused() {
    let db = TestDb::new(crate::helpers::Backend::Sqlite).await.unwrap();
    let app = with_token(db).await;
    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(
        scrape(&app, Some("metrics-token-012345678X"))
            .await
            .status(),
        401
    );
    assert_eq!(
        scrape(&app, Some(&TOKEN[..TOKEN.len() - 1])).await.status(),
        401
    );
    let r = reqwest::Client::new()
        .get(app.url("/metrics"))
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(scrape(&app, Some(TOKEN)).await.status(), 200);
}

both_backends!(the_families_count_what_happened, |db: TestDb| async move {
    let app = with_token(db).await;
    let before = samples(&app).await;

    // An OAuth flow and a refresh; a second flow whose rotated token is presented again; a
    // revocation; a refusal on the consent page.
    let t = crate::oauth::tokens(&app).await;
    let (s, refreshed) = crate::oauth::refresh(&app, &t.client, &t.refresh).await;
    assert_eq!(s, 200, "{refreshed}");
    let access = refreshed["access_token"].as_str().unwrap();
    let stolen = crate::oauth::tokens(&app).await;
    let (s, _) = crate::oauth::refresh(&app, &stolen.client, &stolen.refresh).await;
    assert_eq!(s, 200);
    let (s, _) = crate::oauth::refresh(&app, &stolen.client, &stolen.refresh).await;
    assert_eq!(s, 400, "a rotated refresh token presented again");
    let revoked = crate::oauth::tokens(&app).await;
    let r = crate::oauth::plain()
        .post(app.url("/mcp/oauth/revoke"))
        .form(&[("token", &revoked.refresh), ("client_id", &revoked.client)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let client = crate::oauth::register_public(&app, crate::oauth::CALLBACK).await;
    let p = crate::oauth::pkce();
    let path = crate::oauth::authorize_path(&client, crate::oauth::CALLBACK, &p.challenge, &[]);
    let to = crate::oauth::consent(&app, &path, "deny", |_| {}).await;
    assert_eq!(
        crate::oauth::query(&to, "error").as_deref(),
        Some("access_denied")
    );

    // MCP: one tool call that runs, one the service refuses, one with a tool the catalog lacks.
    let mcp = |body: serde_json::Value| {
        crate::oauth::plain()
            .post(app.url("/mcp"))
            .bearer_auth(access)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body)
            .send()
    };
    let r = mcp(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": "list_status_pages", "arguments": {} } }))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let missing = statusgate::ids::PageId::generate();
    let r = mcp(json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": { "name": "get_page_summary", "arguments": { "page_id": missing.as_str() } } }))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["result"]["isError"], true, "{body}");
    let r = mcp(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": { "name": "no_such_tool", "arguments": {} } }))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // The public page twice: a render, then an answer from memory.
    for _ in 0..2 {
        assert_eq!(app.get("/status/api").await.status(), 200);
    }
    // A monitor check, run at once.
    let me = crate::monitors::owner(&app.services).await;
    let (page, _) = crate::helpers::demo_ids(&app.services, "Webhooks").await;
    let page = statusgate::ids::PageId::parse(&page).unwrap();
    let health = app.services.monitors(&me, &page).await.unwrap();
    let health = health
        .iter()
        .find(|m| m.spec.name == "Health endpoint")
        .unwrap();
    assert!(
        app.services
            .run_monitor_now(&me, &health.id)
            .await
            .unwrap()
            .ok
    );

    // A static file, served by a nested service.
    assert_eq!(app.get("/static/style.css").await.status(), 200);
    // A REST call.
    let key = owner_key(&app, false).await;
    let (s, _) = get_as(&app, &key, "/pages").await;
    assert_eq!(s, 200);

    let after = samples(&app).await;
    let grew = |name: &str, labels: &[(&str, &str)]| {
        let (b, a) = (get(&before, name, labels), get(&after, name, labels));
        assert!(a > b, "{name} {labels:?} did not grow: {b} -> {a}");
    };
    for event in [
        "registration",
        "consent_approved",
        "consent_denied",
        "code_exchange",
        "refresh_reuse",
        "revocation",
        "refresh",
    ] {
        grew("statusgate_oauth_events_total", &[("event", event)]);
    }
    grew(
        "statusgate_mcp_tool_calls_total",
        &[("tool", "list_status_pages"), ("outcome", "ok")],
    );
    grew(
        "statusgate_mcp_tool_calls_total",
        &[("tool", "unknown"), ("outcome", "refused")],
    );
    grew(
        "statusgate_mcp_tool_calls_total",
        &[("tool", "get_page_summary"), ("outcome", "tool_error")],
    );
    grew(
        "statusgate_cache_lookups_total",
        &[("cache", "read"), ("result", "hit")],
    );
    grew("statusgate_read_cache_invalidations_total", &[]);
    grew("statusgate_monitor_runs_total", &[("outcome", "up")]);
    grew("statusgate_monitor_check_duration_seconds_count", &[]);
    grew(
        "statusgate_cache_lookups_total",
        &[("cache", "public"), ("result", "hit")],
    );
    grew(
        "statusgate_cache_lookups_total",
        &[("cache", "public"), ("result", "miss")],
    );
    let http = "statusgate_http_request_duration_seconds_count";
    grew(
        http,
        &[
            ("route", "/status/{public_slug}"),
            ("method", "GET"),
            ("status", "200"),
        ],
    );
    grew(
        http,
        &[("route", "/mcp"), ("method", "POST"), ("status", "200")],
    );
    grew(
        http,
        &[
            ("route", "/api/v1/pages"),
            ("method", "GET"),
            ("status", "200"),
        ],
    );
    grew(
        http,
        &[
            ("route", "/mcp/oauth/token"),
            ("method", "POST"),
            ("status", "200"),
        ],
    );
    let statics: Vec<&String> = after
        .keys()
        .filter_map(|(_, l)| l.get("route"))
        .filter(|r| r.starts_with("/static"))
        .collect();
    assert!(
        !statics.is_empty() && statics.iter().all(|r| *r == "/static/{*path}"),
        "{statics:?}"
    );
    // Routes are templates: no label names a concrete page or client.
    for (name, labels) in after.keys() {
        if let Some(route) = labels.get("route") {
            assert!(
                !route.contains("/status/api") && !route.contains(&t.client),
                "{name} carries a concrete path: {route}"
            );
        }
    }
    // Read at scrape time.
    assert!(get(&after, "statusgate_db_pool_max_connections", &[]) >= 1.0);
    assert!(after.contains_key(&("statusgate_outbox_backlog".to_owned(), BTreeMap::new())));
    assert!(after.contains_key(&(
        "statusgate_db_pool_idle_connections".to_owned(),
        BTreeMap::new()
    )));
});

both_backends!(
    deliveries_and_the_backlog_are_counted,
    |db: TestDb| async move {
        use crate::notifications::{fast_delivery, page_of, update, webhooks};
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.metrics.token = Some(TOKEN.into());
                fast_delivery(c);
                c.delivery.tick_ms = 600_000; // The test drives delivery itself.
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = app.services.clone();
        let me = crate::monitors::owner(&s).await;
        let page = page_of(&s).await;
        let r = crate::loopback::receiver(0, false).await;
        webhooks(&s, &r.url, 2).await;
        s.create_incident(&me, &page, "Queue delays", update(true))
            .await
            .unwrap();
        let before = samples(&app).await;
        let queued = get(&before, "statusgate_outbox_backlog", &[]);
        assert!(queued >= 2.0, "two notifications wait: {queued}");

        s.deliver_due().await.unwrap();
        let after = samples(&app).await;
        let delivered = "statusgate_notification_deliveries_total";
        let d = |m: &BTreeMap<Series, f64>| get(m, delivered, &[("outcome", "delivered")]);
        assert!(
            d(&after) >= d(&before) + 2.0,
            "{} -> {}",
            d(&before),
            d(&after)
        );
        assert!(get(&after, "statusgate_outbox_backlog", &[]) < queued);
    }
);
