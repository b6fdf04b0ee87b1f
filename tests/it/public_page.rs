//! The public status page at outage scale: served from memory, writing nothing per view, revalidated
//! with ETags, compressed once, invalidated by every write on every instance, with bounded history.

use std::io::Read;
use std::sync::Arc;

use statusgate::clock::{Clock, FixedClock};
use statusgate::domain::{ComponentStatus, IncidentStage, Message, NewIncidentUpdate};
use statusgate::ids::{ComponentId, IncidentId, PageId};
use statusgate::service::{Principal, Services};

use crate::both_backends;
use crate::helpers::{demo_ids, form_token_in, Backend, TestApp, TestDb, ADMIN_EMAIL};

/// Every public representation an anonymous visitor (or a CDN, or a feed reader) asks for.
pub const PUBLIC_PATHS: &[&str] = &[
    "/status/api",
    "/status/api/badge.svg",
    "/status/api/history",
    "/status/api/subscribe",
    "/status/api/api/v2/summary.json",
    "/status/api/summary.json",
    "/status/api/api/v2/incidents.json",
    "/status/api/api/v2/scheduled-maintenances/upcoming.json",
    "/status/api/history.atom",
    "/status/api/history.rss",
    "/status/api/maintenances.ics",
];

/// An app whose monitors stay still, so nothing but the test writes.
async fn still_app(db: TestDb) -> TestApp {
    let app = TestApp::spawn_with(
        db,
        |c| c.monitors.scheduler_tick_ms = 600_000,
        Arc::new(statusgate::clock::SystemClock),
    )
    .await;
    // The scheduler's first tick runs at start: the demo monitors' first checks may still change the
    // page. Wait until the page's validator holds still across a pause before comparing answers.
    let etag = |r: reqwest::Response| r.headers().get("etag").cloned();
    let mut last = etag(app.get("/status/api").await);
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = etag(app.get("/status/api").await);
        if now == last {
            break;
        }
        last = now;
    }
    // Those looks were views: written now, so the tests count only their own.
    app.services.flush_page_views().await;
    app
}

async fn owner(s: &Services) -> Principal {
    Principal::user(s.user_by_email(ADMIN_EMAIL).await.unwrap().id)
}

fn update(stage: IncidentStage, text: &str) -> NewIncidentUpdate {
    NewIncidentUpdate {
        stage,
        message: Message::parse("message", text).unwrap(),
        affected: Vec::new(),
        notify: false,
    }
}

/// Rows per table, every table.
async fn row_counts(app: &TestApp) -> Vec<(String, i64)> {
    let pool = app.store.pool();
    let list = match app.db.backend {
        Backend::Sqlite => "select name as t from sqlite_master where type = 'table' order by name",
        Backend::Postgres => {
            "select cast(tablename as text) as t from pg_tables where schemaname = current_schema() order by tablename"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(list).fetch_all(pool).await.unwrap();
    let mut out = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {t}"))
            .fetch_one(pool)
            .await
            .unwrap();
        out.push((t, n));
    }
    out
}

/// Row counts once the start-up work (the demo's first monitor run) has settled.
async fn settled_counts(app: &TestApp) -> Vec<(String, i64)> {
    let mut last = row_counts(app).await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = row_counts(app).await;
        if now == last {
            return now;
        }
        last = now;
    }
}

async fn page_views(app: &TestApp) -> i64 {
    sqlx::query_scalar("select cast(coalesce(sum(views), 0) as bigint) from page_views")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

both_backends!(
    anonymous_views_leave_every_table_unchanged,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let (_, incident) = first_public_incident(&app).await;
        let incident_path = format!("/status/api/incidents/{incident}");
        let before = settled_counts(&app).await;
        let views_before = page_views(&app).await;
        let mut paths: Vec<&str> = PUBLIC_PATHS.to_vec();
        paths.push(&incident_path);
        for round in 0..25 {
            for path in &paths {
                // A fresh client each time: no cookie carried from one view to the next.
                let r = reqwest::get(app.url(path)).await.unwrap();
                assert_eq!(r.status(), 200, "{path} (round {round})");
            }
        }
        assert_eq!(row_counts(&app).await, before, "no row written by a view");
        // The 25 views of the page itself are counted in memory and written as one row.
        assert_eq!(app.services.flush_page_views().await, 1);
        assert_eq!(page_views(&app).await, views_before + 25);
        assert_eq!(app.services.flush_page_views().await, 0, "nothing left");
    }
);

/// The demo page's id and one of its published incidents.
async fn first_public_incident(app: &TestApp) -> (PageId, IncidentId) {
    let s = &app.services;
    let st = &app.store;
    let page = PageId::parse(&demo_ids(s, "REST API").await.0).unwrap();
    let i = st.active_incidents(&page).await.unwrap().remove(0);
    (page, i.id)
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        other => panic!("unexpected encoding {other}"),
    }
    out
}

both_backends!(
    public_responses_revalidate_and_compress,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let http = reqwest::Client::new();
        for path in PUBLIC_PATHS.iter().filter(|p| !p.ends_with("/subscribe")) {
            let r = http.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let h = r.headers().clone();
            assert_eq!(
                h["cache-control"], "public, max-age=10, stale-while-revalidate=30",
                "{path}"
            );
            assert_eq!(h["vary"], "accept-encoding");
            assert!(
                h.get("set-cookie").is_none(),
                "{path}: no session for the public"
            );
            let etag = h["etag"].to_str().unwrap().to_owned();
            assert!(etag.starts_with("W/\""), "{etag}");
            let plain = r.bytes().await.unwrap();

            let again = http
                .get(app.url(path))
                .header("if-none-match", &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 304, "{path}");
            assert_eq!(again.headers()["etag"], etag.as_str());
            assert!(again.bytes().await.unwrap().is_empty());
            let other = http
                .get(app.url(path))
                .header("if-none-match", "W/\"something-else\"")
                .send()
                .await
                .unwrap();
            assert_eq!(other.status(), 200);

            for encoding in ["br", "gzip"] {
                let r = http
                    .get(app.url(path))
                    .header("accept-encoding", encoding)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.headers()["content-encoding"], encoding, "{path}");
                assert_eq!(r.headers()["etag"], etag.as_str(), "one entity, one tag");
                let body = r.bytes().await.unwrap();
                assert!(body.len() < plain.len() || plain.len() < 1000, "{path}");
                assert_eq!(decode(encoding, &body), plain, "{path} {encoding}");
            }
        }

        // A change shows at the next request, under a new tag; the old tag no longer matches.
        let page = app.get("/status/api").await;
        let etag = page.headers()["etag"].to_str().unwrap().to_owned();
        assert!(page.text().await.unwrap().contains("Degraded performance"));
        let s = &app.services;
        let me = owner(s).await;
        let (_, rest) = demo_ids(s, "REST API").await;
        let rest = ComponentId::parse(&rest).unwrap();
        s.set_component_status_by_hand(&me, &rest, ComponentStatus::MajorOutage)
            .await
            .unwrap();
        let r = http
            .get(app.url("/status/api"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_ne!(r.headers()["etag"], etag.as_str());
        assert!(r.text().await.unwrap().contains("Major outage"));
        let badge = app.get("/status/api/badge.svg").await.text().await.unwrap();
        assert!(badge.contains("Major outage"), "{badge}");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_shows_on_every_instance_at_the_next_request() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
        return;
    };
    let a = still_app(db).await;
    let b = still_app(a.db.alias()).await;
    // Both instances hold the page in memory before the change.
    for app in [&a, &b] {
        let html = app.get("/status/api").await.text().await.unwrap();
        assert!(!html.contains("Major outage"));
        assert!(app.get("/status/api").await.status() == 200);
    }
    let s = &a.services;
    let me = owner(s).await;
    let (_, rest) = demo_ids(s, "REST API").await;
    let rest = ComponentId::parse(&rest).unwrap();
    s.set_component_status_by_hand(&me, &rest, ComponentStatus::MajorOutage)
        .await
        .unwrap();
    for (name, app) in [("writer", &a), ("other", &b)] {
        let html = app.get("/status/api").await.text().await.unwrap();
        assert!(html.contains("Major outage"), "{name} instance");
        let badge = app.get("/status/api/badge.svg").await.text().await.unwrap();
        assert!(badge.contains("Major outage"), "{name} instance badge");
    }
}

/// Forty incidents resolved one a day, the first a hundred days ago; `clock` ends at now.
async fn past_incidents(app: &TestApp, clock: &FixedClock, page: &PageId) {
    let s = &app.services;
    let me = owner(s).await;
    for n in 0..40 {
        let (i, _) = s
            .create_incident(
                &me,
                page,
                &format!("Old outage n{n:02}"),
                update(IncidentStage::Investigating, "Looking."),
            )
            .await
            .unwrap();
        s.add_incident_update(&me, &i.id, update(IncidentStage::Resolved, "Fixed."))
            .await
            .unwrap();
        clock.advance(time::Duration::days(1));
    }
    clock.advance(time::Duration::days(60));
}

both_backends!(history_is_bounded_and_paged, |db: TestDb| async move {
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(100);
    let clock = Arc::new(FixedClock::new(start));
    let app = TestApp::spawn_with(
        db,
        |c| c.monitors.scheduler_tick_ms = 600_000,
        clock.clone(),
    )
    .await;
    let s = &app.services;
    let page = PageId::parse(&demo_ids(s, "REST API").await.0).unwrap();
    past_incidents(&app, &clock, &page).await;
    assert!(clock.now() > time::OffsetDateTime::now_utc() - time::Duration::days(1));

    // The page: the newest 25 of the last 90 days (n39 down to n15), and a link to the rest.
    let html = app.get("/status/api").await.text().await.unwrap();
    assert!(html.contains("Old outage n39") && html.contains("Old outage n15"));
    assert!(
        !html.contains("Old outage n14"),
        "26th newest is behind the link"
    );
    assert!(html.contains("href=\"/status/api/history\""));
    assert!(
        html.contains("<time datetime=\""),
        "absolute, machine-readable times"
    );

    // The history, 25 at a time, all time.
    let first = app.get("/status/api/history").await.text().await.unwrap();
    assert_eq!(first.matches("Old outage n").count(), 25);
    let at = first.find("history?after=").expect("a next link");
    let next: String = first[at..].chars().take_while(|c| *c != '"').collect();
    let second = app
        .get(&format!("/status/api/{}", next.replace("&amp;", "&")))
        .await
        .text()
        .await
        .unwrap();
    assert!(second.contains("Old outage n14") && second.contains("Old outage n00"));
    assert!(
        !second.contains("Old outage n15"),
        "no repeats across pages"
    );
    let bad = app.get("/status/api/history?after=nonsense").await;
    assert_eq!(bad.status(), 404, "a cursor the server did not issue");

    // Each incident has its own page; one of another page, or a made-up id, does not.
    let me = owner(s).await;
    let old = s
        .resolved_incidents(&me, &page, Some(100))
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.title == "Old outage n03")
        .unwrap();
    let own = app
        .get(&format!("/status/api/incidents/{}", old.id.as_str()))
        .await;
    assert_eq!(own.status(), 200);
    let own = own.text().await.unwrap();
    assert!(own.contains("Old outage n03") && own.contains("Fixed."));
    for bad in ["inc_000000000000000000000000", "not-an-id"] {
        let r = app.get(&format!("/status/api/incidents/{bad}")).await;
        assert_eq!(r.status(), 404, "{bad}");
    }
    let r = app
        .get(&format!("/status/nope/incidents/{}", old.id.as_str()))
        .await;
    assert_eq!(r.status(), 404);
});

both_backends!(
    open_incidents_beyond_the_newest_few_are_links,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let page = PageId::parse(&demo_ids(s, "REST API").await.0).unwrap();
        for n in 0..8 {
            s.create_incident(
                &me,
                &page,
                &format!("Open trouble t{n}"),
                update(IncidentStage::Investigating, "Looking into it."),
            )
            .await
            .unwrap();
        }
        let html = app.get("/status/api").await.text().await.unwrap();
        // The demo's one open incident and these eight: five in full, four as links.
        assert_eq!(html.matches("class=\"card incident\"").count(), 5);
        assert!(html.contains("Other open incidents"));
        assert_eq!(html.matches("Looking into it.").count(), 5);
        assert!(html.matches("/status/api/incidents/").count() >= 9);
    }
);

both_backends!(
    public_forms_need_the_visitors_cookie_and_a_fresh_token,
    |db: TestDb| async move {
        let clock = Arc::new(FixedClock::new(time::OffsetDateTime::now_utc()));
        let app = TestApp::spawn_with(db, |_| {}, clock.clone()).await;
        let visitor = app.new_browser();
        let form = visitor.get("/status/api/subscribe").await;
        assert_eq!(form.status(), 200);
        let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("statusgate_form="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let token = form_token_in(&form.text().await.unwrap()).unwrap();
        // The same visitor keeps the same cookie.
        let again = visitor.get("/status/api/subscribe").await;
        assert!(again.headers().get("set-cookie").is_none());

        let fields = |t: &str| {
            vec![
                ("form_token", t.to_owned()),
                ("kind", "webhook".to_owned()),
                ("target", "http://127.0.0.1:9/hook".to_owned()),
            ]
        };
        let post = |b: &crate::helpers::Browser, t: String| {
            let b = b.clone();
            async move {
                let f = fields(&t);
                let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                b.post_form("/status/api/subscribe", &f).await.status()
            }
        };
        // Another visitor (no cookie, or their own) cannot use this token.
        assert_eq!(post(&app.new_browser(), token.clone()).await, 403);
        let other = app.new_browser();
        other.get("/status/api/subscribe").await;
        assert_eq!(post(&other, token.clone()).await, 403);
        // Tampered, missing, or made for another form.
        let (exp, mac) = token.split_once('.').unwrap();
        assert_eq!(
            post(
                &visitor,
                format!("{}.{mac}", exp.parse::<i64>().unwrap() + 1)
            )
            .await,
            403
        );
        assert_eq!(post(&visitor, String::new()).await, 403);
        let other_page = visitor.get("/status/nope/subscribe").await;
        assert_eq!(other_page.status(), 404);
        // The visitor's own token passes the check (the webhook itself is then refused: nothing listens).
        assert_ne!(post(&visitor, token.clone()).await, 403);
        // An hour later the form must be reloaded.
        clock.advance(time::Duration::minutes(61));
        assert_eq!(post(&visitor, token).await, 403);
        let fresh = form_token_in(
            &visitor
                .get("/status/api/subscribe")
                .await
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_ne!(post(&visitor, fresh).await, 403);
    }
);

both_backends!(
    made_up_addresses_are_rate_limited_while_cached_pages_are_not,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.public.misses_per_minute = 1;
                c.public.misses_burst = 3;
                c.monitors.scheduler_tick_ms = 600_000;
            },
            Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        // The start-up monitor run writes, which would move the page on; let it finish first.
        settled_counts(&app).await;
        // One render fills the cache; further views are hits and never limited.
        for _ in 0..10 {
            assert_eq!(app.get("/status/api").await.status(), 200);
        }
        for n in 0..2 {
            let r = app.get(&format!("/status/api/incidents/inc_{n:024}")).await;
            assert_eq!(r.status(), 404);
        }
        let r = app.get("/status/api/incidents/inc_made_up").await;
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(app.get("/status/api").await.status(), 200, "a hit");
    }
);

// Two organisations, one person in both: a public address names one page, and another
// organisation's incident under it is not found, on the incident page and in the feeds.
both_backends!(
    another_organisations_incident_is_not_found_under_this_page,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let globex = s.create_org("globex", "Globex").await.unwrap();
        let boss = s
            .create_user(
                "boss@globex.test",
                "globex boss pw",
                &globex,
                statusgate::domain::Role::Owner,
            )
            .await
            .unwrap();
        let boss = Principal::user(boss.id);
        let page = s
            .create_page(
                &boss,
                &globex.id,
                "status",
                "globex-status",
                "Globex Status",
                &[],
            )
            .await
            .unwrap();
        let (theirs, _) = s
            .create_incident(
                &boss,
                &page.id,
                "Globex outage",
                update(IncidentStage::Investigating, "Down."),
            )
            .await
            .unwrap();
        let (_, ours) = first_public_incident(&app).await;

        let r = app
            .get(&format!(
                "/status/globex-status/incidents/{}",
                theirs.id.as_str()
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Globex outage"));
        for path in [
            format!("/status/api/incidents/{}", theirs.id.as_str()),
            format!("/status/globex-status/incidents/{}", ours.as_str()),
        ] {
            assert_eq!(app.get(&path).await.status(), 404, "{path}");
        }
        for path in [
            "/status/api/history.atom",
            "/status/api/api/v2/incidents.json",
            "/status/api",
        ] {
            let r = app.get(path).await;
            assert_eq!(r.status(), 200, "{path}");
            assert!(!r.text().await.unwrap().contains("Globex outage"), "{path}");
        }
        app.stop().await;
    }
);
