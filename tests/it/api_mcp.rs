//! `/mcp` with API keys: a read-only key sees and runs only read tools, a read & write key can open an
//! incident while the organisation allows write scopes, audited as `api_key` with the tool's name; the
//! organisation's Hosted MCP switch applies to keys; keys and tokens are not mixed.

use serde_json::{json, Value};

use crate::api_support::{json as api, owner_key, spawn};
use crate::both_backends;
use crate::helpers::{demo_ids, TestApp};
use crate::mcp_http::hosted_mcp;

async fn mcp(app: &TestApp, header: (&str, &str), body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/mcp", app.base))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header(header.0, header.1)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn call(name: &str, args: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": name, "arguments": args } })
}

async fn tool_names(app: &TestApp, header: (&str, &str)) -> Vec<String> {
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let r = mcp(app, header, list).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(mcp_accepts_read_and_write_api_keys, |db| async move {
    // Arrange
    let app = spawn(db).await;
    let read = owner_key(&app, false).await;
    let write = owner_key(&app, true).await;
    let (page, _) = demo_ids(&app.services, "REST API").await;
    let bearer = format!("Bearer {write}");

    // Act + Assert: a read key lists and runs read tools only.
    let names = tool_names(&app, ("x-statusgate-key", &read)).await;
    assert!(names.contains(&"get_page_summary".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n == "create_incident"), "{names:?}");
    let r = mcp(
        &app,
        ("x-statusgate-key", &read),
        call("get_page_summary", json!({ "page_id": page })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"]["isError"], false, "{body}");
    let open = call(
        "create_incident",
        json!({ "page_id": page, "title": "From MCP", "stage": "investigating", "message": "Looking", "notify": false }),
    );
    let r = mcp(&app, ("x-statusgate-key", &read), open.clone()).await;
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    let refused: Value = r.json().await.unwrap();
    assert_eq!(
        refused["error"]["data"]["step"],
        json!("ask_admin_to_allow_writes"),
        "{refused}"
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("read-only"));

    // A write key gets no write tool while the organisation does not allow write scopes (the default).
    let names = tool_names(&app, ("authorization", &bearer)).await;
    assert!(!names.iter().any(|n| n == "create_incident"), "{names:?}");
    let r = mcp(&app, ("authorization", &bearer), open.clone()).await;
    assert_eq!(r.status(), 403);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(
        refused["error"]["data"]["step"],
        json!("ask_admin_to_allow_writes"),
        "a write key is told only about the switch: {refused}"
    );

    // Once it does, the write key, as a bearer token, sees and runs the write tools.
    hosted_mcp(&app, true, true).await;
    let names = tool_names(&app, ("authorization", &bearer)).await;
    assert!(names.contains(&"create_incident".to_owned()), "{names:?}");
    let r = mcp(&app, ("x-statusgate-key", &read), open.clone()).await;
    assert_eq!(r.status(), 403);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(
        refused["error"]["data"]["step"],
        json!("use_write_key"),
        "{refused}"
    );
    let r = mcp(&app, ("authorization", &bearer), open).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"]["isError"], false, "{body}");

    // Audited as the key, naming the tool.
    let (_, log) = api(
        &app,
        &write,
        reqwest::Method::GET,
        "/audit?actor_type=api_key",
        None,
    )
    .await;
    let row = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "incident.created")
        .expect("audit row");
    assert_eq!(row["detail"]["tool"], "create_incident");

    // Hosted MCP off: keys are refused on /mcp at their next call (the REST API is not affected).
    hosted_mcp(&app, false, true).await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let r = mcp(&app, ("x-statusgate-key", &read), list.clone()).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let (s, _) = api(&app, &read, reqwest::Method::GET, "/me", None).await;
    assert_eq!(s, 200);
    hosted_mcp(&app, true, false).await;
    assert_eq!(
        mcp(&app, ("x-statusgate-key", &read), list).await.status(),
        200
    );

    // Unknown keys are 401; a key and a bearer token together are 400.
    let r = mcp(
        &app,
        ("x-statusgate-key", "sg_nope"),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }),
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = reqwest::Client::new()
        .post(format!("{}/mcp", app.base))
        .header("accept", "application/json, text/event-stream")
        .header("x-statusgate-key", &read)
        .bearer_auth(&write)
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
});

/// `mcp-remote` (npm, pinned in `.ci/mcp-remote`) bridging stdio to `/mcp` with the key in a header,
/// exactly as the README's Claude Desktop block runs it, driven by the official client over its stdio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_remote_carries_an_api_key_header() {
    let proxy = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".ci/mcp-remote/node_modules/mcp-remote/dist/proxy.js");
    if !proxy.exists() {
        eprintln!("skipped: run `npm ci` in .ci/mcp-remote (.ci/run does)");
        return;
    }
    use rmcp::ServiceExt;
    use std::process::Stdio;
    let app = spawn(
        crate::helpers::TestDb::new(crate::helpers::Backend::Sqlite)
            .await
            .unwrap(),
    )
    .await;
    let read = owner_key(&app, false).await;
    let config = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new("node")
        .arg(&proxy)
        .arg(format!("{}/mcp", app.base))
        .arg("--header")
        .arg(format!("x-statusgate-key:{read}"))
        .arg("--transport")
        .arg("http-only")
        .env("MCP_REMOTE_CONFIG_DIR", config.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs mcp-remote");
    let stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take().unwrap();
    let client = ().serve((stdout, stdin)).await.expect("initialises through mcp-remote");
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "list_status_pages"));
    assert!(
        !tools.iter().any(|t| t.name == "create_incident"),
        "a read key lists no write tool"
    );
    let params: rmcp::model::CallToolRequestParams =
        serde_json::from_value(json!({ "name": "list_status_pages", "arguments": {} })).unwrap();
    let result = client.call_tool(params).await.unwrap();
    assert_eq!(
        result.structured_content.unwrap()["pages"][0]["name"],
        "Acme API"
    );
    let _ = client.cancel().await;
    let _ = child.kill().await;
}
