//! The public page's uptime bars and subscribe form, analytics, and the admin monitor pages through a
//! signed-in browser.

use statusgate::domain::monitor::ActionState;
use statusgate::ids::PageId;

use crate::both_backends;
use crate::helpers::{csrf_in, demo_ids, TestDb};
use crate::monitors::{owner, quiet_app};

both_backends!(
    the_public_page_draws_ninety_day_bars_and_counts_views_anonymously,
    |db: TestDb| async move {
        let app = quiet_app(db).await;
        let r = app.get("/status/api").await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("<svg class=\"uptime\""), "bars drawn");
        assert_eq!(
            html.matches("<rect ").count(),
            3 * 90,
            "90 days for each monitored component"
        );
        assert!(html.contains("#2e9d5b") && html.contains("% uptime"));
        assert!(!html.contains("<script"), "no JavaScript needed");
        app.new_browser().get("/status/api").await;

        let s = &app.services;

        let st = &app.store;
        let me = owner(s).await;
        let page = PageId::parse(&demo_ids(s, "REST API").await.0).unwrap();
        // Views are counted in memory and written in batches.
        assert_eq!(s.flush_page_views().await, 1, "one page viewed");
        let sum = s.analytics_summary(&me, &page, None).await.unwrap();
        assert_eq!(sum.window_days, 30);
        assert_eq!(sum.page_views, 2);
        assert_eq!(sum.monitors.len(), 3);
        let export = sum
            .monitors
            .iter()
            .find(|m| m.name == "Status export")
            .unwrap();
        assert!(export.uptime_percent.unwrap() < 100.0);
        assert!(sum
            .components
            .iter()
            .any(|c| c.name == "REST API" && c.checks > 0));
        assert_eq!(sum.incident_count, 2, "the demo's two incidents");
        assert!(sum.mean_time_to_resolve_minutes.is_some());
        let week = s.analytics_summary(&me, &page, Some(7)).await.unwrap();
        assert!(week.monitors[0].checks < sum.monitors[0].checks || sum.monitors[0].checks == 0);
        for bad in [0, 91] {
            let e = s
                .analytics_summary(&me, &page, Some(bad))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("window_days"), "{e}");
        }
        let rows = sqlx::query("select * from page_views")
            .fetch_all(st.pool())
            .await
            .unwrap();
        assert_eq!(
            rows.len(),
            1,
            "one counter row per page and day, nothing per visitor"
        );
    }
);

both_backends!(
    admin_pages_list_monitors_events_actions_and_deliveries,
    |db: TestDb| async move {
        let app = quiet_app(db).await;
        app.sign_in_as_owner().await;
        let s = &app.services;
        let st = &app.store;
        let page = demo_ids(s, "REST API").await.0;

        let dash = app.get("/admin").await.text().await.unwrap();
        assert!(dash.contains(&format!("/admin/pages/{page}/monitors")));
        let r = app.get(&format!("/admin/pages/{page}/monitors")).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        for text in [
            "Pending actions",
            "Approve",
            "Reject",
            "Health endpoint",
            "Status export",
            "Public page views",
        ] {
            assert!(html.contains(text), "monitors page shows {text}");
        }
        let csrf = csrf_in(&html).unwrap();

        // Create a monitor through the form; bad input is refused with a message.
        let r = app
            .post_form(
                &format!("/admin/pages/{page}/monitors"),
                &[
                    ("csrf", &csrf),
                    ("name", "Too fast"),
                    ("url", "https://example.com"),
                    ("interval_secs", "0"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("interval_secs"));
        let target = format!("http://{}/mcp/health", app.addr);
        let r = app
            .post_form(
                &format!("/admin/pages/{page}/monitors"),
                &[
                    ("csrf", &csrf),
                    ("name", "Self"),
                    ("url", &target),
                    ("interval_secs", "60"),
                    ("method", "GET"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let monitor_path = r.headers()["location"].to_str().unwrap().to_owned();
        let r = app
            .post_form(&format!("{monitor_path}/run"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 303);
        let detail = app.get(&monitor_path).await.text().await.unwrap();
        assert!(
            detail.contains("Run now") && detail.contains("manual") && detail.contains(">up<"),
            "{detail}"
        );

        let r = app
            .post_form(&format!("{monitor_path}/enabled"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 303);
        let detail = app.get(&monitor_path).await.text().await.unwrap();
        assert!(detail.contains(">paused<") && detail.contains("Resume"));
        let me = owner(s).await;
        let paused_id =
            statusgate::ids::MonitorId::parse(monitor_path.rsplit('/').next().unwrap()).unwrap();
        let due = st
            .due_monitors(s.clock.now() + time::Duration::days(1), 100)
            .await
            .unwrap();
        assert!(
            due.iter().all(|m| m.id != paused_id),
            "paused monitors are never due"
        );
        s.set_monitor_enabled(&me, &paused_id, true).await.unwrap();

        // Edit through the form on the monitor's page: it shows the stored values, a forged or bad
        // submission changes nothing, a good one replaces the settings and keeps the monitor running.
        let detail = app.get(&monitor_path).await.text().await.unwrap();
        assert!(
            detail.contains("Save changes") && detail.contains("value=\"Self\""),
            "{detail}"
        );
        let edit = |csrf: &str, interval: &str| {
            vec![
                ("csrf".to_owned(), csrf.to_owned()),
                ("name".to_owned(), "Self check".to_owned()),
                ("url".to_owned(), target.clone()),
                ("method".to_owned(), "HEAD".to_owned()),
                ("expect_min".to_owned(), "200".to_owned()),
                ("expect_max".to_owned(), "204".to_owned()),
                ("interval_secs".to_owned(), interval.to_owned()),
            ]
        };
        let post = |form: Vec<(String, String)>| {
            let path = monitor_path.clone();
            let app = &app;
            async move {
                let pairs: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.post_form(&path, &pairs).await.status().as_u16()
            }
        };
        assert_eq!(post(edit("forged", "120")).await, 403);
        assert_eq!(post(edit(&csrf, "0")).await, 422);
        let (unchanged, _) = s.monitor(&me, &paused_id, Some(1)).await.unwrap();
        assert_eq!(unchanged.spec.name, "Self");
        assert_eq!(post(edit(&csrf, "120")).await, 303);
        let (m, _) = s.monitor(&me, &paused_id, Some(1)).await.unwrap();
        assert_eq!(m.spec.name, "Self check");
        assert_eq!(m.spec.interval_secs, 120);
        assert_eq!(m.spec.method.as_str(), "HEAD");
        assert_eq!((m.spec.expect_min, m.spec.expect_max), (200, 204));
        assert!(m.spec.enabled, "editing does not pause");
        let detail = app.get(&monitor_path).await.text().await.unwrap();
        assert!(
            detail.contains("<option selected>HEAD</option>"),
            "{detail}"
        );

        // Reject the demo's pending action from the page.
        let pid = PageId::parse(&page).unwrap();
        let pending = s
            .pending_actions(&me, &pid, Some(ActionState::Pending), None)
            .await
            .unwrap();
        let r = app
            .post_form(
                &format!("/admin/actions/{}/reject", pending[0].id),
                &[("csrf", &csrf), ("note", "known issue")],
            )
            .await;
        assert_eq!(r.status(), 303);
        let html = app
            .get(&format!("/admin/pages/{page}/monitors"))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("rejected") && html.contains("known issue"));

        let r = app.get(&format!("/admin/pages/{page}/deliveries")).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Deliveries"));
    }
);

/// Screenshots land in `target/screenshots/` so a person can look at them after a run.
fn shot(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_pages_work_in_a_real_browser() {
    let Some(chrome) = crate::browser::Chrome::start().await else {
        return;
    };
    let db = TestDb::new(crate::helpers::Backend::Sqlite).await.unwrap();
    let app = quiet_app(db).await;
    let page = demo_ids(&app.services, "REST API").await.0;

    chrome.goto(&app.url("/status/api")).await;
    assert!(chrome.source().await.contains("uptime"));
    chrome.resize(1280, 2200).await;
    chrome
        .screenshot(&shot("status-page-uptime-bars.png"))
        .await;

    chrome.goto(&app.url("/login")).await;
    chrome.fill("#email", crate::helpers::ADMIN_EMAIL).await;
    chrome
        .fill("#password", crate::helpers::ADMIN_PASSWORD)
        .await;
    chrome.click("button[type=submit]").await;
    let now_at = chrome.url_starting_with(&app.url("/admin")).await;
    assert!(now_at.ends_with("/admin"), "signed in: {now_at}");
    chrome
        .goto(&app.url(&format!("/admin/pages/{page}/monitors")))
        .await;
    assert!(wait_for(&chrome, "Pending actions").await);
    chrome.screenshot(&shot("admin-monitors.png")).await;

    chrome.click("form[action$='/approve'] button").await;
    assert!(
        wait_for(&chrome, "approved").await,
        "the action was approved"
    );
    let incidents = app.get("/status/api").await.text().await.unwrap();
    assert!(incidents.contains("Webhooks is failing its checks"));

    chrome.click("table.grid a[href^='/admin/monitors/']").await;
    assert!(wait_for(&chrome, "Run now").await);
    chrome.click("form[action$='/run'] button").await;
    assert!(
        wait_for(&chrome, "manual").await,
        "the manual run is listed"
    );
    chrome.screenshot(&shot("admin-monitor.png")).await;

    chrome
        .goto(&app.url(&format!("/admin/pages/{page}/deliveries")))
        .await;
    chrome.screenshot(&shot("admin-deliveries.png")).await;
    app.stop().await;
}

/// A click that submits a form returns before the next page loads; poll for it.
async fn wait_for(chrome: &crate::browser::Chrome, text: &str) -> bool {
    for _ in 0..100 {
        if chrome.source().await.contains(text) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
