//! A person signs in and approves a connection in headless Chromium, on the real pages.

use super::*;
use crate::browser::Chrome;
use crate::helpers::{Backend, TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_approves_a_connection_in_a_real_browser() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let app = TestApp::spawn(TestDb::new(Backend::Sqlite).await.unwrap()).await;
    // The client's loopback callback: answers anything, so the browser lands somewhere real.
    let callback = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = callback.local_addr().unwrap().port();
    tokio::spawn(async move {
        let ok = axum::Router::new().fallback(|| async { "connected" });
        let _ = axum::serve(callback, ok).await;
    });
    let client = register_public(&app, CALLBACK).await;
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let p = pkce();

    chrome
        .goto(&app.url(&authorize_path(&client, &redirect, &p.challenge, &[])))
        .await;
    let at = chrome.current_url().await;
    assert!(
        at.contains("/login?next="),
        "{at}: {}",
        chrome.source().await
    );
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("button[type=submit]").await;
    chrome
        .url_starting_with(&app.url("/mcp/oauth/authorize"))
        .await;
    let html = chrome.source().await;
    assert!(
        html.contains("Connect Test client to statusgate?"),
        "{html}"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    chrome.screenshot(&dir.join("oauth-consent.png")).await;
    chrome.click("button[value=approve]").await;

    let landed = url::Url::parse(&chrome.url_starting_with(&redirect).await).unwrap();
    assert!(landed.as_str().starts_with(&redirect), "{landed}");
    assert_eq!(query(&landed, "iss"), Some(app.base.clone()));
    let code = query(&landed, "code").unwrap();
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(accepted(&app, body["access_token"].as_str().unwrap()).await);
    app.stop().await;
}
