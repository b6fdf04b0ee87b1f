//! Checklist 1.3, D1 and D2: registration bodies recorded from real clients, and the redirect policy.

use serde_json::{json, Value};

use super::{plain, register};
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

both_backends!(
    identical_registration_loops_are_throttled_alone,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let body = json!({"client_name": "Looping client", "redirect_uris": ["http://localhost/callback"]});
        for _ in 0..20 {
            assert_eq!(register(&app, body.clone()).await.0, 201);
        }
        let (s, b) = register(&app, body).await;
        assert_eq!(s, 429, "{b}");
        // Another client from the same address is not held back.
        let (s, _) = register(&app, json!({"client_name": "Claude", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]})).await;
        assert_eq!(s, 201);
    }
);
