//! The public page and the sign-in and admin pages, looked at in headless Chromium.

use crate::browser::Chrome;
use crate::helpers::{Backend, TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};

/// Screenshots land in `target/screenshots/` so a person can look at them after a run.
pub fn shot(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_and_posts_an_update_in_a_real_browser() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let app = TestApp::spawn(TestDb::new(Backend::Sqlite).await.unwrap()).await;

    chrome.goto(&app.url("/status/api")).await;
    let html = chrome.source().await;
    assert!(html.contains("Delayed webhook deliveries"));
    chrome.screenshot(&shot("status-page-desktop.png")).await;
    chrome.resize(390, 844).await;
    chrome.screenshot(&shot("status-page-phone.png")).await;
    chrome.resize(1280, 900).await;

    chrome.goto(&app.url("/admin")).await;
    assert!(chrome.current_url().await.contains("/login?next=/admin"));
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("button[type=submit]").await;
    assert!(chrome
        .url_starting_with(&app.url("/admin"))
        .await
        .ends_with("/admin"));
    assert!(chrome.source().await.contains("Dashboard"));
    chrome.screenshot(&shot("admin-dashboard.png")).await;

    chrome.click("ul.plain a[href^='/admin/incidents/']").await;
    chrome
        .fill("#message", "Capacity added; deliveries are catching up.")
        .await;
    chrome.click("form.card button[type=submit]").await;
    // The click returns before the posted form's next page has loaded; wait for it.
    let mut posted = false;
    for _ in 0..100 {
        if chrome
            .source()
            .await
            .contains("Capacity added; deliveries are catching up.")
        {
            posted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(posted, "the update appears on the incident page");
    chrome.screenshot(&shot("admin-incident.png")).await;
    app.stop().await;
}

/// Waits until the page's source contains `text` (a click returns before the next page loads).
pub async fn wait_for(chrome: &Chrome, text: &str) -> bool {
    for _ in 0..100 {
        if chrome.source().await.contains(text) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_builds_a_page_with_components_in_a_real_browser() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let app = TestApp::spawn(TestDb::new(Backend::Sqlite).await.unwrap()).await;
    chrome.goto(&app.url("/login?next=/admin/pages/new")).await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("button[type=submit]").await;
    assert!(wait_for(&chrome, "New status page").await);
    chrome.screenshot(&shot("page-new-desktop.png")).await;

    // A refused slug comes back beside its field, the name kept.
    chrome.fill("#name", "Payments").await;
    chrome.fill("#slug", "Bad Slug").await;
    chrome.click("form.card button[type=submit]").await;
    assert!(wait_for(&chrome, "slug-error").await);
    chrome.resize(390, 844).await;
    chrome.screenshot(&shot("page-new-refused-phone.png")).await;
    chrome.resize(1280, 900).await;
    chrome.fill("#slug", "payments").await;
    chrome.click("form.card button[type=submit]").await;
    assert!(wait_for(&chrome, "Add a component").await);

    chrome.fill("#new-name", "Card processing").await;
    chrome
        .click("form[action$='/components'] button[type=submit]")
        .await;
    assert!(wait_for(&chrome, "Card processing").await);
    chrome.screenshot(&shot("page-settings-desktop.png")).await;
    chrome.resize(390, 844).await;
    chrome.screenshot(&shot("page-settings-phone.png")).await;
    chrome.resize(1280, 900).await;

    chrome.goto(&app.url("/status/payments")).await;
    assert!(chrome.source().await.contains("Card processing"));
    chrome.screenshot(&shot("page-public-new.png")).await;
    app.stop().await;
}
