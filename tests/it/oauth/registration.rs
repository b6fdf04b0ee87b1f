//! Checklist 1.3, D1 and D2: registration bodies recorded from real clients, and the redirect policy.

use serde_json::{json, Value};

use super::{accepted, plain, register, tokens};
use crate::both_backends;
use crate::helpers::TestApp;

fn uris(v: &Value) -> Vec<&str> {
    v["redirect_uris"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect()
}

fn no_nulls(v: &Value) {
    assert!(v.as_object().unwrap().values().all(|x| !x.is_null()), "{v}");
}

both_backends!(recorded_client_registrations_succeed, |db| async move {
    let app = TestApp::spawn(db).await;
    // Claude.ai, 2025: public client with a made-up scope.
    let (s, b) = register(&app, json!({"client_name":"claudeai","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none","scope":"claudeai","redirect_uris":["https://claude.ai/api/mcp/auth_callback"]})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["token_endpoint_auth_method"], "none");
    assert!(b.get("client_secret").is_none());
    no_nulls(&b);
    // Claude.ai, 2026: asks for client_secret_post and gets a secret (D2).
    let (s, b) = register(&app, json!({"client_name":"Claude","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"client_secret_post","redirect_uris":["https://claude.ai/api/mcp/auth_callback"]})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["token_endpoint_auth_method"], "client_secret_post");
    assert!(b["client_secret"].as_str().unwrap().len() > 30);
    assert_eq!(b["client_secret_expires_at"], 0);
    // Claude Code DCR: portless loopback, no scope.
    let (s, b) = register(&app, json!({"client_name":"Claude Code","redirect_uris":["http://localhost/callback"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"})).await;
    assert_eq!(s, 201, "{b}");
    // Cursor: three URIs, one with a private-use scheme (D1).
    let cursor = [
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "https://www.cursor.com/agents/mcp/oauth/callback",
        "http://localhost:8787/callback",
    ];
    let (s, b) = register(&app, json!({"client_name":"Cursor","redirect_uris":cursor,"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(uris(&b), cursor.to_vec());
    // VS Code: four URIs, device_code among the grants, application_type native.
    let vscode = [
        "https://insiders.vscode.dev/redirect",
        "https://vscode.dev/redirect",
        "http://127.0.0.1/",
        "http://127.0.0.1:33418/",
    ];
    let (s, b) = register(&app, json!({"client_name":"Visual Studio Code","client_uri":"https://code.visualstudio.com","grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],"response_types":["code"],"redirect_uris":vscode,"scope":"mcp.pages.read","token_endpoint_auth_method":"none","application_type":"native"})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(uris(&b), vscode.to_vec());
    assert_eq!(
        b["grant_types"],
        json!(["authorization_code", "refresh_token"]),
        "device_code dropped, not refused"
    );
    assert_eq!(b["application_type"], "native");
    // mcp-remote.
    let (s, b) = register(&app, json!({"redirect_uris":["http://localhost:3334/oauth/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"MCP CLI Proxy","client_uri":"https://github.com/modelcontextprotocol/mcp-cli","software_id":"2e6dc280-f3c3-4e01-99a7-8181dbd1d23d","software_version":"0.1.29"})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["software_id"], "2e6dc280-f3c3-4e01-99a7-8181dbd1d23d");
    no_nulls(&b);
    // MCP Inspector: two callbacks.
    let (s, b) = register(&app, json!({"client_name":"MCP Inspector","client_uri":"https://github.com/modelcontextprotocol/inspector","token_endpoint_auth_method":"none","redirect_uris":["http://localhost:6274/oauth/callback","http://localhost:6274/oauth/callback/debug"],"scope":"mcp.pages.read mcp.incidents.read"})).await;
    assert_eq!(s, 201, "{b}");
    // ChatGPT: scope-less, auth method omitted: registered as a public client.
    let (s, b) = register(&app, json!({"client_name":"ChatGPT","redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"]})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["token_endpoint_auth_method"], "none");
    // The bare minimum.
    let (s, _) = register(&app, json!({"redirect_uris":["https://app.example/cb"]})).await;
    assert_eq!(s, 201);
});

both_backends!(
    unacceptable_redirects_are_dropped_or_refused,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let (s, b) = register(&app, json!({"redirect_uris":["http://evil.example/cb","https://ok.example/cb","javascript:alert(1)"]})).await;
        assert_eq!(s, 201);
        assert_eq!(uris(&b), vec!["https://ok.example/cb"]);
        for bad in [
            json!(["http://evil.example/cb"]),
            json!(["https://x.example/cb#f"]),
            json!(["https://u:p@x.example/cb"]),
            json!(["vscode://not/allowed"]),
            json!([]),
        ] {
            let (s, b) = register(&app, json!({ "redirect_uris": bad })).await;
            assert_eq!(s, 400, "{bad}");
            assert_eq!(b["error"], "invalid_redirect_uri");
        }
        let (s, b) = register(&app, json!({ "client_name": "x" })).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_redirect_uri"))
        );
        let r = plain()
            .post(app.url("/mcp/oauth/register"))
            .form(&[("redirect_uris", "https://a.example/cb")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "invalid_client_metadata");
    }
);

/// How many clients are stored, read straight from the database.
async fn stored_clients(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from oauth_clients")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

/// Registers from the address `from` (the app trusts one proxy hop, so `X-Forwarded-For` names it).
async fn register_from(app: &TestApp, from: &str, body: Value) -> reqwest::Response {
    plain()
        .post(app.url("/mcp/oauth/register"))
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .unwrap()
}

both_backends!(
    identical_public_registrations_reuse_one_client,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let before = stored_clients(&app).await;
        let body = json!({"client_name": "Looping client", "redirect_uris": ["http://localhost/callback"]});
        let (s, first) = register(&app, body.clone()).await;
        assert_eq!(s, 201, "{first}");
        for _ in 0..40 {
            let (s, again) = register(&app, body.clone()).await;
            assert_eq!(s, 201, "{again}");
            assert_eq!(again, first, "the same client, echoed the same way");
        }
        assert_eq!(
            stored_clients(&app).await,
            before + 1,
            "one row for 41 registrations"
        );
        // Anything different is another client.
        let (s, other) = register(&app, json!({"client_name": "Looping client", "redirect_uris": ["http://localhost/callback"], "logo_uri": "https://logo.example/a.png"})).await;
        assert_eq!(s, 201);
        assert_ne!(other["client_id"], first["client_id"]);
    }
);

both_backends!(
    identical_secret_registration_loops_are_throttled,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let body = json!({"client_name": "Looping client", "redirect_uris": ["http://localhost/callback"], "token_endpoint_auth_method": "client_secret_post"});
        let mut ids = std::collections::HashSet::new();
        for _ in 0..20 {
            let (s, b) = register(&app, body.clone()).await;
            assert_eq!(s, 201, "{b}");
            assert!(b["client_secret"].is_string());
            ids.insert(b["client_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            ids.len(),
            20,
            "a client with a secret gets its own registration"
        );
        let r = plain()
            .post(app.url("/mcp/oauth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "60");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "temporarily_unavailable");
        // Another client from the same address is not held back.
        let (s, _) = register(&app, json!({"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]})).await;
        assert_eq!(s, 201);
    }
);

both_backends!(
    registrations_that_store_a_client_are_limited_per_address,
    |db| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.security.trusted_proxy_hops = 1;
                c.oauth.registrations_per_minute = 1;
                c.oauth.registration_burst = 3;
            },
            std::sync::Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        let body = |n: u32| json!({"client_name": format!("App {n}"), "redirect_uris": ["https://app.example/cb"]});
        for n in 0..3 {
            assert_eq!(
                register_from(&app, "203.0.113.7", body(n)).await.status(),
                201
            );
        }
        let before = stored_clients(&app).await;
        let r = register_from(&app, "203.0.113.7", body(3)).await;
        assert_eq!(r.status(), 429);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "temporarily_unavailable");
        assert_eq!(stored_clients(&app).await, before, "nothing stored");
        // An identical public registration stores nothing, so it takes no token.
        assert_eq!(
            register_from(&app, "203.0.113.7", body(0)).await.status(),
            201
        );
        // Another address has its own bucket.
        assert_eq!(
            register_from(&app, "198.51.100.1", body(3)).await.status(),
            201
        );
    }
);

both_backends!(
    registrations_keep_only_capped_accepted_fields,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let before = stored_clients(&app).await;
        // Over 16 KiB: refused in RFC 7591 shape, nothing stored.
        let padded = json!({"client_name": "Big", "redirect_uris": ["https://app.example/cb"], "junk": "x".repeat(17 * 1024)});
        let (s, b) = register(&app, padded).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_client_metadata")),
            "{b}"
        );
        // More than ten redirect URIs.
        let many: Vec<String> = (0..11)
            .map(|i| format!("https://app.example/cb{i}"))
            .collect();
        let (s, b) = register(&app, json!({ "redirect_uris": many })).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_redirect_uri")),
            "{b}"
        );
        // An over-long URI is not acceptable; alone, the registration is refused.
        let long = format!("https://app.example/{}", "a".repeat(2100));
        let (s, b) = register(&app, json!({ "redirect_uris": [long] })).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_redirect_uri")),
            "{b}"
        );
        assert_eq!(stored_clients(&app).await, before, "nothing stored");

        // Under the cap: unknown fields and over-long values are dropped, not stored.
        let (s, b) = register(&app, json!({
            "client_name": "Padded", "redirect_uris": ["https://app.example/cb", long],
            "junk": "x".repeat(8 * 1024), "software_id": "y".repeat(1000), "software_version": "1.2",
            "logo_uri": format!("https://logo.example/{}", "l".repeat(3000)),
        })).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(uris(&b), vec!["https://app.example/cb"]);
        assert!(
            b.get("junk").is_none()
                && b.get("software_id").is_none()
                && b.get("logo_uri").is_none()
        );
        assert_eq!(b["software_version"], "1.2");
        let stored: String =
            sqlx::query_scalar("select metadata from oauth_clients where client_id = $1")
                .bind(b["client_id"].as_str().unwrap())
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert!(stored.len() < 1024, "{stored}");
        assert!(
            !stored.contains("junk") && !stored.contains("client_secret"),
            "{stored}"
        );
    }
);

both_backends!(a_new_client_leaves_the_read_cache_alone, |db| async move {
    let app = TestApp::spawn(db).await;
    let t = tokens(&app).await;
    // The grant is revoked behind the cache's back (no statusgate write, so no invalidation): while
    // the cached answer stands, the token is still accepted. That is how this test sees whether
    // something emptied the cache. On PostgreSQL caching starts once the listener is connected.
    let revoke = |at: Option<i64>| {
        let pool = app.store.pool().clone();
        async move {
            sqlx::query("update oauth_grants set revoked_at = $1")
                .bind(at)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    let mut cached = false;
    for _ in 0..50 {
        assert!(accepted(&app, &t.access).await);
        revoke(Some(1)).await;
        if accepted(&app, &t.access).await {
            cached = true;
            break;
        }
        revoke(None).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(cached, "the grant is answered from the cache");
    let (s, _) = register(
        &app,
        json!({"client_name": "New", "redirect_uris": ["https://new.example/cb"]}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = register(&app, json!({"client_name": "New", "redirect_uris": ["https://new.example/cb"], "token_endpoint_auth_method": "client_secret_basic"})).await;
    assert_eq!(s, 201);
    assert!(
        accepted(&app, &t.access).await,
        "registering new clients emptied the read cache"
    );
    // A write that can make cached rows stale does empty it.
    let csrf = app.csrf_on("/admin/hosted-mcp").await;
    let r = app
        .client
        .put(app.url("/api/v1/admin/hosted-mcp/settings"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!accepted(&app, &t.access).await);
});
