//! The connections console: identical registrations grouped as one client, revoke-all across them,
//! and the organisation's client policy (client kinds, private-use redirect URIs) enforced.

use serde_json::json;
use statusgate::domain::Role;

use super::*;
use crate::both_backends;
use crate::helpers::{Browser, TestApp};

const MCP_REMOTE: &str = "http://localhost:43121/oauth/callback";

fn mcp_remote_body() -> Value {
    json!({
        "client_name": "MCP CLI Proxy",
        "redirect_uris": [MCP_REMOTE],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_uri": "https://github.com/modelcontextprotocol/mcp-cli"
    })
}

/// Approves `client` as the person behind `browser` and exchanges the code; returns the access token.
async fn connect(app: &TestApp, browser: &Browser, client: &str, redirect: &str) -> String {
    let p = pkce();
    let to = consent(
        browser,
        &authorize_path(client, redirect, &p.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    let code = query(&to, "code").expect("code");
    let (s, body, _) = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("client_id", client),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

both_backends!(
    identical_registrations_are_one_client_and_revoked_together,
    |db| async move {
        let clock = statusgate::clock::FixedClock::new(time::OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(db, |_| {}, std::sync::Arc::new(clock.clone())).await;
        app.sign_in_as_owner().await;
        let org = app.services.org_by_slug("acme").await.unwrap();
        app.services
            .create_user("ed@acme.test", "editor password", &org, Role::Editor)
            .await
            .unwrap();
        let ed = app.new_browser();
        assert_eq!(
            ed.sign_in("ed@acme.test", "editor password").await.status(),
            303
        );

        // mcp-remote lost its cache and registered again hours later (an unapproved registration is
        // reused only for an hour): two client ids, the same metadata.
        let (s1, c1) = register(&app, mcp_remote_body()).await;
        clock.advance(time::Duration::hours(2));
        let (s2, c2) = register(&app, mcp_remote_body()).await;
        assert_eq!((s1, s2), (201, 201));
        let (c1, c2) = (
            c1["client_id"].as_str().unwrap().to_owned(),
            c2["client_id"].as_str().unwrap().to_owned(),
        );
        assert_ne!(c1, c2);
        let other = register_public(&app, CALLBACK).await;

        let owner_first = connect(&app, &app, &c1, MCP_REMOTE).await;
        // The same person approving the new registration replaces the earlier connection.
        let owner_second = connect(&app, &app, &c2, MCP_REMOTE).await;
        assert!(
            !accepted(&app, &owner_first).await,
            "replaced on re-consent"
        );
        assert!(accepted(&app, &owner_second).await);
        let ed_token = connect(&app, &ed, &c1, MCP_REMOTE).await;
        let unrelated = connect(&app, &app, &other, CALLBACK).await;

        let html = app.get("/admin/hosted-mcp").await.text().await.unwrap();
        assert_eq!(
            html.matches("<h2>MCP CLI Proxy").count(),
            1,
            "one client: {html}"
        );
        assert!(html.contains("2 identical registrations"));
        assert!(html.contains("ed@acme.test"));

        // Revoke-all names one registration and ends the connections of every identical one.
        let csrf = app.csrf_on("/admin/hosted-mcp").await;
        let r = app
            .post_form(
                "/admin/hosted-mcp/clients/revoke",
                &[
                    ("csrf", &csrf),
                    ("client_id", &c1),
                    ("org", org.id.as_str()),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert!(!accepted(&app, &owner_second).await);
        assert!(!accepted(&app, &ed_token).await);
        assert!(accepted(&app, &unrelated).await, "other clients untouched");
        let html = app.get("/admin/hosted-mcp").await.text().await.unwrap();
        assert!(!html.contains("MCP CLI Proxy"), "{html}");

        // Without the CSRF token nothing is revoked.
        let r = app
            .post_form(
                "/admin/hosted-mcp/clients/revoke",
                &[("client_id", &other), ("org", org.id.as_str())],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert!(accepted(&app, &unrelated).await);
    }
);

both_backends!(
    organisation_policy_refuses_client_kinds_and_app_redirects,
    |db| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.oauth.private_use_redirect_uris = vec![
                    "cursor://anysphere.cursor-mcp/oauth/callback".into(),
                    "vscode://example.mcp/callback".into(),
                ]
            },
            std::sync::Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        app.sign_in_as_owner().await;
        let dynamic = register_public(&app, CALLBACK).await;
        let live = connect(&app, &app, &dynamic, CALLBACK).await;
        let put = |body: Value| {
            let app = &app;
            async move {
                let csrf = app.csrf_on("/admin/hosted-mcp").await;
                let r = app
                    .client
                    .put(app.url("/api/v1/admin/hosted-mcp/settings"))
                    .header("x-csrf-token", &csrf)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };

        // Self-registered clients turned off: no consent page, and live connections stop at once.
        let (s, body) = put(json!({"enabled": true, "allow_dynamic": false})).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["allow_dynamic"], false);
        assert_eq!(body["deployment"]["dcr_enabled"], true);
        let p = pkce();
        let r = app
            .get(&authorize_path(&dynamic, CALLBACK, &p.challenge, &[]))
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("does not accept self-registered applications"));
        assert!(!accepted(&app, &live).await);
        // Pre-registered clients are still accepted.
        let csrf = app.csrf_on("/admin/hosted-mcp").await;
        let r = app
            .post_form(
                "/admin/hosted-mcp/clients",
                &[
                    ("csrf", &csrf),
                    ("name", "Ops desk"),
                    ("redirect_uris", CALLBACK),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let at = r.headers()["location"].to_str().unwrap().to_owned();
        let admin_client = at.split("created=").nth(1).unwrap().to_owned();
        connect(&app, &app, &admin_client, CALLBACK).await;
        // Back on: the old connection works again.
        let (s, _) = put(json!({"enabled": true, "allow_dynamic": true})).await;
        assert_eq!(s, 200);
        assert!(accepted(&app, &live).await);

        // Private-use redirects: only a subset of the deployment's list, enforced at consent.
        let (s, body) =
            put(json!({"enabled": true, "private_use_redirects": ["evil://steal"]})).await;
        assert_eq!(s, 400, "{body}");
        let (s, body) = put(json!({"enabled": true, "allow_nonsense": true})).await;
        assert!(s == 400 || s == 422, "unknown field refused: {s} {body}");
        let (s, body) = put(json!({
            "enabled": true,
            "private_use_redirects": ["vscode://example.mcp/callback"]
        }))
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            body["private_use_redirects"],
            json!(["vscode://example.mcp/callback"])
        );
        let cursor = "cursor://anysphere.cursor-mcp/oauth/callback";
        let cursor_client = register_public(&app, cursor).await;
        let r = app
            .get(&authorize_path(&cursor_client, cursor, &p.challenge, &[]))
            .await;
        assert_eq!(r.status(), 400);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("does not accept the redirect URI"));
        // The console's form: ticking every URI means "follow the deployment".
        let csrf = app.csrf_on("/admin/hosted-mcp").await;
        let r = app
            .post_form(
                "/admin/hosted-mcp/settings",
                &[
                    ("csrf", &csrf),
                    ("enabled", "on"),
                    ("allow_dynamic", "on"),
                    ("allow_documents", "on"),
                    ("private_use", cursor),
                    ("private_use", "vscode://example.mcp/callback"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let r = app
            .get(&authorize_path(&cursor_client, cursor, &p.challenge, &[]))
            .await;
        assert_eq!(r.status(), 200);
        let (_, body) = put(json!({"enabled": true})).await;
        assert_eq!(body["private_use_redirects"].as_array().unwrap().len(), 2);
    }
);

/// Saves Hosted MCP settings for the signed-in admin's organisation through the JSON route.
async fn put_settings(browser: &Browser, body: Value) -> u16 {
    let csrf = browser.csrf_on("/admin/hosted-mcp").await;
    browser
        .client
        .put(browser.url("/api/v1/admin/hosted-mcp/settings"))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

both_backends!(
    admin_clients_are_trusted_only_by_their_organisation,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let acme = app.services.org_by_slug("acme").await.unwrap();
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        app.services
            .create_user(
                "boss@globex.test",
                "globex boss password",
                &globex,
                Role::Owner,
            )
            .await
            .unwrap();
        let boss = app.new_browser();
        assert_eq!(
            boss.sign_in("boss@globex.test", "globex boss password")
                .await
                .status(),
            303
        );

        // An admin of Acme registers "Claude" with a redirect URI of their choosing.
        let attacker = "https://attacker.example/cb";
        let csrf = app.csrf_on("/admin/hosted-mcp").await;
        let r = app
            .post_form(
                "/admin/hosted-mcp/clients",
                &[
                    ("csrf", &csrf),
                    ("org", acme.id.as_str()),
                    ("name", "Claude"),
                    ("redirect_uris", attacker),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let at = r.headers()["location"].to_str().unwrap().to_owned();
        let client = at.split("created=").nth(1).unwrap().to_owned();
        let p = pkce();
        let path = authorize_path(&client, attacker, &p.challenge, &[]);

        // Acme's people see it as Acme's; Globex's see an unverified application.
        let html = app.get(&path).await.text().await.unwrap();
        assert!(
            html.contains("Registered by an administrator of Acme Inc."),
            "{html}"
        );
        let r = boss.get(&path).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(!html.contains("Registered by an administrator"), "{html}");
        assert!(html.contains("Self-registered application, unverified"));
        let boss_token = connect(&app, &boss, &client, attacker).await;
        let console = boss.get("/admin/hosted-mcp").await.text().await.unwrap();
        assert!(
            console.contains("self-registered") && !console.contains("pre-registered"),
            "{console}"
        );

        // Globex refuses self-registered applications: that includes Acme's client, at once.
        assert_eq!(
            put_settings(&boss, json!({"enabled": true, "allow_dynamic": false})).await,
            200
        );
        let r = boss.get(&path).await;
        assert_eq!(r.status(), 400);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("does not accept self-registered applications"));
        assert!(
            !accepted(&app, &boss_token).await,
            "live connection stopped"
        );

        // Acme trusts its own client even with the same policy.
        assert_eq!(
            put_settings(&app, json!({"enabled": true, "allow_dynamic": false})).await,
            200
        );
        let owner_token = connect(&app, &app, &client, attacker).await;
        assert!(accepted(&app, &owner_token).await);
    }
);
