//! `/mcp` over real HTTP with real OAuth access tokens: the 401/403 shapes, the transport rules, each
//! protocol revision in use, and the official Rust SDK's client end to end.

use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{TestApp, TestDb};
use crate::oauth::{authorize_path, consent, pkce, register_public, tokens, CALLBACK};

const ACCEPT: &str = "application/json, text/event-stream";

pub async fn post(
    app: &crate::helpers::Browser,
    token: Option<&str>,
    version: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = crate::oauth::plain()
        .post(app.url("/mcp"))
        .header("accept", ACCEPT)
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(v) = version {
        req = req.header("mcp-protocol-version", v);
    }
    req.send().await.unwrap()
}

fn call(name: &str, args: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": name, "arguments": args } })
}

/// An access token with the incident write scope granted (the org allows writes first).
async fn write_token(app: &TestApp) -> String {
    write_token_with(app, &["mcp.incidents.write"]).await
}

/// Saves the demo organisation's Hosted MCP switch and "Allow write scopes", as its owner.
pub async fn hosted_mcp(app: &TestApp, enabled: bool, allow_write: bool) {
    if app.get("/admin").await.status() != 200 {
        app.sign_in_as_owner().await;
    }
    let csrf = app.csrf_on("/admin/hosted-mcp").await;
    let r = app
        .client
        .put(app.url("/api/v1/admin/hosted-mcp/settings"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "enabled": enabled, "allow_write": allow_write }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// An access token with the read scopes and `writes` granted (the org allows writes first).
pub async fn write_token_with(app: &TestApp, writes: &[&str]) -> String {
    hosted_mcp(app, true, true).await;
    let client = register_public(app, CALLBACK).await;
    let p = pkce();
    let path = authorize_path(
        &client,
        CALLBACK,
        &p.challenge,
        &[(
            "scope",
            &format!(
                "mcp.pages.read mcp.incidents.read mcp.maintenances.read {}",
                writes.join(" ")
            ),
        )],
    );
    let to = consent(app, &path, "approve", |f| {
        f.extend(writes.iter().map(|w| ("grant_scope".into(), (*w).into())))
    })
    .await;
    crate::oauth::access_from(app, &client, &to, &p.verifier).await
}

both_backends!(
    unauthenticated_and_malformed_requests_get_the_rfc_shapes,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });

        let r = post(&app, None, None, list.clone()).await;
        assert_eq!(r.status(), 401);
        let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        let meta = format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            app.base
        );
        assert!(
            www.starts_with("Bearer ")
                && www.contains(&meta)
                && www.contains("scope=\"mcp.pages.read"),
            "{www}"
        );
        assert!(
            !www.contains("error="),
            "no error attribute without a token: {www}"
        );

        let r = post(&app, Some("not-a-token"), None, list.clone()).await;
        assert_eq!(r.status(), 401);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\""));

        let t = tokens(&app).await;
        let in_query = crate::oauth::plain()
            .post(app.url(&format!("/mcp?access_token={}", t.access)))
            .header("accept", ACCEPT)
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(
            in_query.status(),
            401,
            "tokens in the query string are refused"
        );
        let twice = crate::oauth::plain()
            .post(app.url("/mcp"))
            .header("accept", ACCEPT)
            .header("authorization", format!("Bearer {}", t.access))
            .header("authorization", format!("Bearer {}", t.access))
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(twice.status(), 400);

        for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
            let r = crate::oauth::plain()
                .request(method, app.url("/mcp"))
                .bearer_auth(&t.access)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 405);
        }
        let foreign = crate::oauth::plain()
            .post(app.url("/mcp"))
            .header("origin", "https://evil.example")
            .bearer_auth(&t.access)
            .header("accept", ACCEPT)
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        let preflight = crate::oauth::plain()
            .request(reqwest::Method::OPTIONS, app.url("/mcp"))
            .header("origin", &app.base)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, mcp-protocol-version",
            )
            .send()
            .await
            .unwrap();
        assert!(
            preflight.status().is_success(),
            "preflight is never auth-gated: {}",
            preflight.status()
        );

        // A read grant: tools/list works; the token works on /mcp/tools too.
        let r = post(&app, Some(&t.access), Some("2025-06-18"), list).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let names: Vec<&str> = body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"list_status_pages") && !names.contains(&"create_incident"),
            "{names:?}"
        );
        let listed: Value = crate::oauth::plain()
            .get(app.url("/mcp/tools"))
            .bearer_auth(&t.access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["tools"].as_array().unwrap().len(), names.len());
    }
);

both_backends!(
    every_protocol_revision_in_use_is_served,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
            let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
            let r = post(&app, Some(&t.access), None, init).await;
            assert_eq!(r.status(), 200, "{version}");
            assert!(
                r.headers().get("mcp-session-id").is_none(),
                "stateless: no session id"
            );
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["result"]["protocolVersion"], version);
            assert_eq!(body["result"]["serverInfo"]["name"], "statusgate");
            let note = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
            assert_eq!(
                post(&app, Some(&t.access), Some(version), note)
                    .await
                    .status(),
                202
            );
            let r = post(
                &app,
                Some(&t.access),
                Some(version),
                call("list_status_pages", json!({})),
            )
            .await;
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                body["result"]["structuredContent"]["pages"][0]["name"], "Acme API",
                "{version}: {body}"
            );
        }
        let r = post(
            &app,
            Some(&t.access),
            Some("bogus"),
            call("list_status_pages", json!({})),
        )
        .await;
        assert_eq!(
            r.status(),
            400,
            "an unknown protocol version header is refused"
        );
    }
);

both_backends!(
    the_official_rust_client_reads_through_an_access_token,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        let config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"))
            .auth_header(t.access.clone());
        let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
        let tools = client.list_all_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "list_status_pages"));
        assert!(tools
            .iter()
            .all(|t| t.annotations.is_some() && t.output_schema.is_some()));
        // Every input schema is a closed object, inline (no `$ref` for a client to follow).
        for t in &tools {
            let schema = Value::Object((*t.input_schema).clone());
            assert_eq!(schema["type"], "object", "{}", t.name);
            assert_eq!(schema["additionalProperties"], false, "{}", t.name);
            assert!(!schema.to_string().contains("$ref"), "{}: {schema}", t.name);
        }
        let params: CallToolRequestParams =
            serde_json::from_value(json!({ "name": "list_status_pages", "arguments": {} }))
                .unwrap();
        let result = client.call_tool(params).await.unwrap();
        let page_id = result.structured_content.unwrap()["pages"][0]["page_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let read: ReadResourceRequestParams = serde_json::from_value(
            json!({ "uri": format!("statusgate://pages/{page_id}/summary") }),
        )
        .unwrap();
        let summary = client.read_resource(read).await.unwrap();
        assert!(format!("{:?}", summary.contents).contains("Acme API"));
        let prompts = client.list_all_prompts().await.unwrap();
        assert!(prompts.iter().any(|p| p.name == "draft_incident_update"));
        let _ = client.cancel().await;
    }
);

both_backends!(
    writes_need_the_scope_the_tool_and_notify_and_revocation_is_immediate,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let page = app.store.page_by_public_slug("api").await.unwrap();
        let args = json!({ "page_id": page.id, "title": "Errors", "stage": "investigating", "message": "Looking", "notify": false });

        // A read-only grant asking for a write tool: 403 with the scope to step up to.
        let read = tokens(&app).await;
        let r = post(
            &app,
            Some(&read.access),
            Some("2025-11-25"),
            call("create_incident", args.clone()),
        )
        .await;
        assert_eq!(r.status(), 403);
        let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            www.contains("error=\"insufficient_scope\"")
                && www.contains("scope=\"mcp.incidents.write\""),
            "{www}"
        );
        // The answer itself says what is missing and what to do, for clients that drop the challenge;
        // writes are off in this organisation, so the step is to ask an admin to allow them.
        let refused: Value = r.json().await.unwrap();
        let error = &refused["error"];
        assert_eq!(error["code"], json!(-32003), "{refused}");
        assert_eq!(refused["id"], json!(7), "the request's own id: {refused}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("mcp.incidents.write") && message.contains("Allow write scopes"),
            "{message}"
        );
        assert_eq!(error["data"]["step"], json!("ask_admin_to_allow_writes"));
        assert_eq!(
            error["data"]["required_scopes"],
            json!(["mcp.incidents.write"])
        );
        assert_eq!(error["data"]["tool"], json!("create_incident"));

        let write = write_token(&app).await;
        let mut no_notify = args.clone();
        no_notify.as_object_mut().unwrap().remove("notify");
        let body: Value = post(
            &app,
            Some(&write),
            Some("2025-11-25"),
            call("create_incident", no_notify),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            body["error"]["code"], -32602,
            "notify omitted is refused: {body}"
        );
        let body: Value = post(
            &app,
            Some(&write),
            Some("2025-11-25"),
            call("create_incident", args.clone()),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            body["result"]["structuredContent"]["subscribers_notified"], 0,
            "{body}"
        );
        assert_eq!(body["result"]["isError"], false);
        let org = app.services.org_by_slug("acme").await.unwrap();
        let audit = app
            .store
            .audit_entries(&org.id, Some(statusgate::domain::ActorType::Mcp), 5)
            .await
            .unwrap();
        assert_eq!(audit[0].action, "incident.created");

        // Revoked mid-conversation: the very next request is refused.
        let oauth =
            statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
        let live = oauth.verify_access(&write).await.unwrap();
        let owner = statusgate::service::Principal::user(live.user_id.clone());
        oauth
            .revoke_connection(&owner, &live.grant_id)
            .await
            .unwrap();
        let r = post(
            &app,
            Some(&write),
            Some("2025-11-25"),
            call("list_status_pages", json!({})),
        )
        .await;
        assert_eq!(r.status(), 401);
    }
);

both_backends!(
    connections_show_last_use_and_calls_without_a_write_per_request,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        let org = app.services.org_by_slug("acme").await.unwrap();
        let month_ago = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        for _ in 0..3 {
            let r = post(
                &app,
                Some(&t.access),
                Some("2025-11-25"),
                call("list_status_pages", json!({})),
            )
            .await;
            assert_eq!(r.status(), 200);
        }
        // Calls are tallied in memory and written by the periodic flush; flush now rather than wait.
        app.services.flush_usage().await;
        let after = app
            .store
            .connections(Some(&org.id), None, month_ago)
            .await
            .unwrap();
        assert_eq!(after[0].calls_30d, 3);
        assert!(after[0].last_used_at.is_some());
        let page = app.get("/account/connections").await.text().await.unwrap();
        assert!(page.contains("3 calls in 30 days"), "{page}");
    }
);

/// 2026-07-28 has no `initialize`: every request carries `_meta` and the `Mcp-Method`/`Mcp-Name` headers.
async fn post_2026(
    app: &TestApp,
    token: &str,
    method: &str,
    name: Option<&str>,
    params: Value,
) -> reqwest::Response {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": { "name": "t", "version": "1" },
    });
    let body = json!({ "jsonrpc": "2.0", "id": 3, "method": method, "params": params });
    let mut req = crate::oauth::plain()
        .post(app.url("/mcp"))
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .bearer_auth(token)
        .json(&body);
    if let Some(n) = name {
        req = req.header("mcp-name", n);
    }
    req.send().await.unwrap()
}

both_backends!(
    the_2026_revision_is_served_without_initialize,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        let r = post_2026(&app, &t.access, "server/discover", None, json!({})).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["result"]["supportedVersions"]
                .to_string()
                .contains("2026-07-28"),
            "{body}"
        );
        let r = post_2026(
            &app,
            &t.access,
            "tools/call",
            Some("list_status_pages"),
            json!({ "name": "list_status_pages", "arguments": {} }),
        )
        .await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["result"]["structuredContent"]["pages"][0]["name"], "Acme API",
            "{body}"
        );
        assert_eq!(body["result"]["resultType"], "complete", "{body}");
        for method in ["tools/list", "resources/list", "prompts/list"] {
            let r = post_2026(&app, &t.access, method, None, json!({})).await;
            assert_eq!(r.status(), 200, "{method}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["result"]["resultType"], "complete", "{method}: {body}");
        }
        // A header that contradicts the body is refused before dispatch.
        let r = post_2026(
            &app,
            &t.access,
            "tools/call",
            Some("get_incident"),
            json!({ "name": "list_status_pages", "arguments": {} }),
        )
        .await;
        assert_eq!(r.status(), 400);
    }
);

both_backends!(
    turning_write_scopes_off_withdraws_them_from_live_grants,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let token = write_token(&app).await;
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        let names = |v: Value| -> Vec<String> {
            v["result"]["tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let r = post(&app, Some(&token), Some("2025-06-18"), list.clone()).await;
        assert!(names(r.json().await.unwrap()).contains(&"create_incident".to_owned()));
        let pages = post(
            &app,
            Some(&token),
            None,
            call("list_status_pages", json!({})),
        )
        .await;
        let pages: Value = pages.json().await.unwrap();
        let page = pages["result"]["structuredContent"]["pages"][0]["page_id"].clone();
        let open = call(
            "create_incident",
            json!({ "page_id": page, "title": "Errors", "stage": "investigating", "message": "Looking", "notify": false }),
        );

        // The owner turns write scopes off: the consented write scope is gone at the next call.
        hosted_mcp(&app, true, false).await;
        let r = post(&app, Some(&token), Some("2025-06-18"), list.clone()).await;
        let now = names(r.json().await.unwrap());
        assert!(!now.contains(&"create_incident".to_owned()), "{now:?}");
        assert!(
            now.contains(&"list_incidents".to_owned()),
            "reads stay: {now:?}"
        );
        let r = post(&app, Some(&token), Some("2025-06-18"), open.clone()).await;
        assert_eq!(r.status(), 403);
        let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            www.contains("insufficient_scope") && www.contains("mcp.incidents.write"),
            "{www}"
        );
        let refused: Value = r.json().await.unwrap();
        assert_eq!(
            refused["error"]["data"]["step"],
            json!("ask_admin_to_allow_writes"),
            "{refused}"
        );

        // With writes allowed again, a connection approved read-only is told to reconnect and tick.
        hosted_mcp(&app, true, true).await;
        let read_only = tokens(&app).await;
        let r = post(
            &app,
            Some(&read_only.access),
            Some("2025-06-18"),
            open.clone(),
        )
        .await;
        assert_eq!(r.status(), 403);
        let refused: Value = r.json().await.unwrap();
        assert_eq!(
            refused["error"]["data"]["step"],
            json!("reconnect_and_tick_scope"),
            "{refused}"
        );
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("consent page"));
        hosted_mcp(&app, true, false).await;

        // And back on: the grant's consented scope applies again.
        hosted_mcp(&app, true, true).await;
        let r = post(&app, Some(&token), Some("2025-06-18"), open).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["result"]["isError"], json!(false), "{body}");
        app.stop().await;
    }
);

both_backends!(
    a_body_that_is_not_json_is_a_json_rpc_parse_error,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let access = tokens(&app).await.access;
        for body in [
            "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\":",
            "not json",
            "{]",
        ] {
            let r = crate::oauth::plain()
                .post(app.url("/mcp"))
                .header("accept", ACCEPT)
                .header("content-type", "application/json")
                .bearer_auth(&access)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{body}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], -32700, "{v}");
            assert_eq!(v["id"], Value::Null, "{v}");
            assert_eq!(v["jsonrpc"], "2.0", "{v}");
        }
        // A body of another declared type is still the transport's 415.
        let r = crate::oauth::plain()
            .post(app.url("/mcp"))
            .header("accept", ACCEPT)
            .header("content-type", "text/plain")
            .bearer_auth(&access)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
    }
);
