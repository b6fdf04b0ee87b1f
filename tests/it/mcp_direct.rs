//! The direct path (`mcp::direct`) against rmcp's own dispatch: two servers on one database, one with
//! `[mcp] direct_dispatch` on and one with it off, must answer the same requests with the same status,
//! content type and JSON, for successes, tool refusals and protocol errors alike.

use std::sync::Arc;

use serde_json::{json, Value};
use statusgate::clock::SystemClock;

use crate::both_backends;
use crate::helpers::{TestApp, TestDb};
use crate::mcp_http::write_token_with;

async fn answer(
    app: &TestApp,
    token: &str,
    version: Option<&str>,
    body: &Value,
) -> (u16, String, Value) {
    let mut req = crate::oauth::plain()
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(token)
        .json(body);
    if let Some(v) = version {
        req = req.header("mcp-protocol-version", v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, ct, v)
}

fn call(id: Value, name: &str, args: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": name, "arguments": args } })
}

both_backends!(
    direct_answers_match_the_sdk_byte_for_byte_in_meaning,
    |db: TestDb| async move {
        // One public URL for both, so a token one issues is for the other's resource too.
        let public =
            |c: &mut statusgate::config::Config| c.public_url = "http://statusgate.test".into();
        let twin = db.alias();
        let direct = TestApp::spawn_with(db, public, Arc::new(SystemClock)).await;
        // Writes first (the token, an incident), so neither server's cache can lag the other.
        let token = write_token_with(&direct, &["mcp.incidents.write"]).await;
        let (_, _, pages) = answer(
            &direct,
            &token,
            None,
            &call(json!(1), "list_status_pages", json!({})),
        )
        .await;
        let page = pages["result"]["structuredContent"]["pages"][0]["page_id"]
            .as_str()
            .expect("a demo page")
            .to_owned();
        let created = call(
            json!(2),
            "create_incident",
            json!({ "page_id": page, "title": "Slow API", "stage": "investigating", "message": "Looking", "notify": false }),
        );
        let (s, _, v) = answer(&direct, &token, Some("2025-06-18"), &created).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["result"]["isError"], json!(false), "{v}");

        let sdk = TestApp::spawn_with(
            twin,
            |c| {
                public(c);
                c.mcp.direct_dispatch = false;
            },
            Arc::new(SystemClock),
        )
        .await;
        let requests = [
            json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list" }),
            json!({ "jsonrpc": "2.0", "id": "s-4", "method": "tools/list", "params": {} }),
            call(json!(5), "list_status_pages", json!({})),
            call(json!("six"), "get_page_summary", json!({ "page_id": page })),
            call(
                json!(7),
                "list_incidents",
                json!({ "page_id": page, "status": "active" }),
            ),
            // A domain refusal: a page nobody can see comes back as a tool result with isError.
            call(
                json!(8),
                "get_page_summary",
                json!({ "page_id": "pg_000000000000000000000000" }),
            ),
            // Argument and name errors are JSON-RPC errors.
            call(
                json!(9),
                "list_incidents",
                json!({ "page_id": page, "limit": "many" }),
            ),
            call(json!(10), "delete_incident", json!({ "page_id": page })),
            call(
                json!(11),
                "create_incident",
                json!({ "page_id": page, "title": "x", "stage": "investigating", "message": "m" }),
            ),
            // An argument the schema does not name, and a stage create_incident's schema does not list.
            call(
                json!(18),
                "list_incidents",
                json!({ "page_id": page, "verbose": true }),
            ),
            call(
                json!(19),
                "create_incident",
                json!({ "page_id": page, "title": "x", "stage": "resolved", "message": "m", "notify": false }),
            ),
            json!({ "jsonrpc": "2.0", "id": 12, "method": "tools/call", "params": { "arguments": {} } }),
            json!({ "jsonrpc": "2.0", "id": 13, "method": "tools/call" }),
            json!({ "jsonrpc": "2.0", "id": 16, "method": "tools/call", "params": { "name": "list_status_pages", "arguments": {}, "_meta": { "progressToken": "p1" } } }),
            json!({ "jsonrpc": "2.0", "id": 17, "method": "tools/call", "params": { "name": "list_status_pages" } }),
            json!({ "jsonrpc": "2.0", "id": null, "method": "tools/list" }),
            json!({ "jsonrpc": "2.0", "id": 1.5, "method": "tools/list" }),
            json!({ "jsonrpc": "1.0", "id": 14, "method": "tools/list" }),
            json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
            json!([{ "jsonrpc": "2.0", "id": 15, "method": "tools/list" }]),
        ];
        for version in [
            None,
            Some("2025-03-26"),
            Some("2025-06-18"),
            Some("2025-11-25"),
            Some("1999-01-01"),
        ] {
            for req in &requests {
                let a = answer(&direct, &token, version, req).await;
                let b = answer(&sdk, &token, version, req).await;
                assert_eq!(a, b, "{version:?} {req}");
            }
        }
        // The tools/call answers above really were answers, not a shared failure.
        let (s, _, v) = answer(&direct, &token, Some("2025-06-18"), &requests[2]).await;
        assert_eq!(s, 200);
        assert_eq!(
            v["result"]["structuredContent"]["pages"][0]["page_id"],
            json!(page)
        );
        sdk.stop().await;
        direct.stop().await;
    }
);
