//! The status domain's root is the status page: `/` shows `[public] default_page`, else the only
//! published page, else a list of the published pages, from the public cache and writing nothing.
//! Public error pages lead back to it, never to the admin side; signing in stays at `/login`.

use std::sync::Arc;

use statusgate::domain::Role;
use statusgate::ids::PageId;
use statusgate::service::page_admin::PageEdit;
use statusgate::service::Principal;

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb, ADMIN_EMAIL};

async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    // A client of its own: no cookie carried from another request.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .send()
        .await
        .unwrap();
    let headers = r.headers().clone();
    (r.status().as_u16(), headers, r.text().await.unwrap())
}

/// An app whose demo monitors run once at start and then stay still, so the page changes only when
/// the test writes; answers once that first run has shown on `/`.
async fn still_app(db: TestDb, tweak: impl FnOnce(&mut statusgate::config::Config)) -> TestApp {
    let app = TestApp::spawn_with(
        db,
        |c| {
            c.monitors.scheduler_tick_ms = 600_000;
            tweak(c);
        },
        Arc::new(statusgate::clock::SystemClock),
    )
    .await;
    let mut last = fetch(&app, "/").await.1.get("etag").cloned();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = fetch(&app, "/").await.1.get("etag").cloned();
        if now == last {
            return app;
        }
        last = now;
    }
}

async fn sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// A second organisation with a published page `Globex Status` at `/status/globex-status`.
async fn globex_page(app: &TestApp) -> PageId {
    let s = &app.services;
    let org = s.create_org("globex", "Globex").await.unwrap();
    let boss = s
        .create_user("boss@globex.test", "long enough pw", &org, Role::Owner)
        .await
        .unwrap();
    s.create_page(
        &Principal::user(boss.id),
        &org.id,
        "status",
        "globex-status",
        "Globex Status",
        &[],
    )
    .await
    .unwrap()
    .id
}

both_backends!(
    the_root_shows_the_only_published_page_then_a_list_and_writes_nothing,
    |db: TestDb| async move {
        let app = still_app(db, |_| {}).await;
        let sessions_before = sessions(&app).await;

        // One published page: `/` is that page, not a redirect to the admin side.
        let (status, headers, root) = fetch(&app, "/").await;
        assert_eq!(status, 200, "{root}");
        assert!(headers.get("location").is_none());
        assert!(
            headers.get("set-cookie").is_none(),
            "no session for the public"
        );
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("public, max-age="),
            "{headers:?}"
        );
        assert!(headers["etag"].to_str().unwrap().starts_with("W/\""));
        let (_, _, page) = fetch(&app, "/status/api").await;
        assert_eq!(root, page, "the root shows the page itself");
        assert!(!root.contains("href=\"/admin\""), "{root}");

        // Served from memory: the same tag, and a 304 to a revalidation.
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let again = reqwest::Client::new()
            .get(app.url("/"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);

        // A second published page: a plain list of both, whatever organisation they belong to.
        let globex = globex_page(&app).await;
        let (status, _, list) = fetch(&app, "/").await;
        assert_eq!(status, 200);
        for link in ["href=\"/status/api\"", "href=\"/status/globex-status\""] {
            assert!(list.contains(link), "{link} in {list}");
        }
        assert!(list.contains("Globex Status"), "{list}");

        // Unpublished pages are not listed; with one left, `/` is that page again.
        let me = Principal::user(app.services.user_by_email(ADMIN_EMAIL).await.unwrap().id);
        let hide = PageEdit {
            published: Some(false),
            ..Default::default()
        };
        let (demo, _) = demo_ids(&app.services, "Dashboard").await;
        let demo = PageId::parse(&demo).unwrap();
        app.services
            .edit_page(&me, &demo, hide.clone())
            .await
            .unwrap();
        let (_, _, root) = fetch(&app, "/").await;
        let (_, _, globex_html) = fetch(&app, "/status/globex-status").await;
        assert_eq!(root, globex_html);

        // None published: a list with nothing in it, still no way into admin.
        let boss = Principal::user(
            app.services
                .user_by_email("boss@globex.test")
                .await
                .unwrap()
                .id,
        );
        app.services.edit_page(&boss, &globex, hide).await.unwrap();
        let (status, _, empty) = fetch(&app, "/").await;
        assert_eq!(status, 200);
        assert!(
            empty.contains("No status page is published here yet"),
            "{empty}"
        );
        assert!(!empty.contains("/status/"), "{empty}");

        assert_eq!(
            sessions(&app).await,
            sessions_before,
            "no session row written"
        );

        // Signing in is where it was.
        let (status, _, login) = fetch(&app, "/login").await;
        assert_eq!(status, 200);
        assert!(login.contains("name=\"password\""), "{login}");
    }
);

both_backends!(
    the_configured_default_page_is_the_root_while_it_is_published,
    |db: TestDb| async move {
        let app = still_app(db, |c| c.public.default_page = Some("globex-status".into())).await;
        // Not there yet: the root falls back to the only published page.
        let (status, _, root) = fetch(&app, "/").await;
        assert_eq!(status, 200);
        assert_eq!(root, fetch(&app, "/status/api").await.2);

        let globex = globex_page(&app).await;
        let (status, _, root) = fetch(&app, "/").await;
        assert_eq!(status, 200);
        assert_eq!(root, fetch(&app, "/status/globex-status").await.2);

        // Unpublished, it gives way to what is published.
        let boss = Principal::user(
            app.services
                .user_by_email("boss@globex.test")
                .await
                .unwrap()
                .id,
        );
        let hide = PageEdit {
            published: Some(false),
            ..Default::default()
        };
        app.services.edit_page(&boss, &globex, hide).await.unwrap();
        assert_eq!(fetch(&app, "/").await.2, fetch(&app, "/status/api").await.2);
    }
);

both_backends!(
    public_error_pages_lead_to_the_status_page_never_to_admin,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let public_errors = [
            "/status/nope",
            "/status/api/incidents/inc_000000000000000000000000",
            "/status/nope/history",
            "/status/nope/subscribe",
            "/status/api/confirm/not-a-token",
            "/unsubscribe/not-a-token",
        ];
        for path in public_errors {
            let (status, _, html) = fetch(&app, path).await;
            assert_eq!(status, 404, "{path}: {html}");
            assert!(
                html.contains("<a href=\"/\">Status page</a>"),
                "{path}: {html}"
            );
            assert!(!html.contains("/admin"), "{path}: {html}");
            assert!(!html.contains("Dashboard"), "{path}: {html}");
        }
        // The admin side's own errors still lead to its dashboard.
        app.sign_in_as_owner().await;
        let r = app
            .get("/admin/pages/page_000000000000000000000000/incidents/new")
            .await;
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("href=\"/admin\""));
    }
);
