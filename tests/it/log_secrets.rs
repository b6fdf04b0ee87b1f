//! JSON logs at TRACE from a real `statusgate serve` process: a whole OAuth flow, MCP calls, a REST
//! write, a scrape and a query string with a secret in it. Every line must be one JSON object, request
//! lines must name their request id and route, and no secret used may appear anywhere.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::both_backends;
use crate::helpers::{browser, Browser, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENCRYPTION_KEY};
use crate::oauth::{authorize_path, consent, pkce, plain, query, register, CALLBACK};

const METRICS_TOKEN: &str = "log-test-metrics-token-5f1e";
const QUERY_SECRET: &str = "querysecret7d41c9";
const REQUEST_ID: &str = "req-log-check-1";

fn statusgate(db: &TestDb, dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_statusgate"));
    c.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("STATUSGATE_BIND", "127.0.0.1:0")
        .env("STATUSGATE_DATABASE_URL", &db.url)
        .env("STATUSGATE_DEMO", "true")
        .env("STATUSGATE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("STATUSGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("STATUSGATE_KEY_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .env("STATUSGATE_METRICS_TOKEN", METRICS_TOKEN)
        .env("STATUSGATE_LOG", "trace")
        .env("STATUSGATE_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Starts the server; answers it, its address, and everything it writes to standard error so far.
async fn serve(
    db: &TestDb,
    dir: &std::path::Path,
) -> (Child, std::net::SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let mut child = statusgate(db, dir).spawn().expect("spawn statusgate");
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    // Drained all along, so a chatty TRACE log never fills the pipe and stalls the server.
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server starts")
            .unwrap()
            .unwrap_or_else(|| {
                let err = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
                panic!("statusgate exited: {err}")
            });
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().parse().unwrap();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, log)
}

/// `statusgate key create`, against the same database; answers the key it printed.
async fn api_key(db: &TestDb, dir: &std::path::Path) -> String {
    let out = statusgate(db, dir)
        .args([
            "key", "create", "--org", "acme", "--name", "logs", "--scope", "write",
        ])
        .env("STATUSGATE_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn form(b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let r = plain().post(b.url(path)).form(fields).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The request span's fields on a JSON line, if it was logged inside one.
fn request_span(line: &Value) -> Option<&Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "request")
}

both_backends!(no_secret_reaches_the_json_log, |db: TestDb| async move {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, log) = serve(&db, dir.path()).await;
    let b = Browser {
        addr,
        client: browser(),
    };
    let mut secrets: Vec<String> = vec![
        ADMIN_PASSWORD.into(),
        METRICS_TOKEN.into(),
        QUERY_SECRET.into(),
    ];

    // The whole OAuth flow: sign-in, registration, consent, code exchange, refresh.
    assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 303);
    let (s, client) = register(
        &b,
        json!({ "client_name": "Log test", "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(s, 201);
    let client = client["client_id"].as_str().unwrap().to_owned();
    let p = pkce();
    let to = consent(
        &b,
        &authorize_path(&client, CALLBACK, &p.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    let code = query(&to, "code").unwrap();
    let (s, pair) = form(
        &b,
        "/mcp/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("client_id", &client),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(s, 200, "{pair}");
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let (s, next) = form(
        &b,
        "/mcp/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(s, 200, "{next}");
    let access = next["access_token"].as_str().unwrap().to_owned();
    secrets.extend([code, p.verifier, refresh, access.clone()]);
    secrets.push(pair["access_token"].as_str().unwrap().into());
    let latest = next["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(latest.clone());

    // A confidential client's secret, presented with a code that is not one.
    let (s, conf) = register(
        &b,
        json!({ "client_name": "Log test server", "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "client_secret_post" }),
    )
    .await;
    assert_eq!(s, 201);
    let secret = conf["client_secret"].as_str().unwrap().to_owned();
    let (s, _) = form(
        &b,
        "/mcp/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", "not-a-code"),
            ("code_verifier", "x"),
            ("client_id", conf["client_id"].as_str().unwrap()),
            ("client_secret", &secret),
            ("redirect_uri", "https://app.example/cb"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    secrets.push(secret);

    // MCP calls with the refreshed access token.
    for body in [
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": { "name": "list_status_pages", "arguments": {} } }),
    ] {
        let r = crate::mcp_http::post(&b, Some(&access), Some("2025-06-18"), body).await;
        assert_eq!(r.status(), 200);
    }

    // A REST write with an API key.
    let key = api_key(&db, dir.path()).await;
    let rest = reqwest::Client::new();
    let pages: Value = rest
        .get(b.url("/api/v1/pages"))
        .header("x-statusgate-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = pages["items"][0]["page_id"].as_str().unwrap().to_owned();
    let r = rest
        .post(b.url(&format!("/api/v1/pages/{page}/incidents")))
        .header("x-statusgate-key", &key)
        .json(&json!({ "title": "Logged", "message": "Looking", "notify": false, "draft": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    secrets.push(key);

    // A secret in a query string, a request id to echo, a scrape, a revocation.
    let r = rest
        .get(b.url(&format!("/status/api?token={QUERY_SECRET}")))
        .header("x-request-id", REQUEST_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], REQUEST_ID);
    let r = rest.get(b.url("/status/api")).send().await.unwrap();
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(made.len() == 32 && made != REQUEST_ID, "{made}");
    let r = rest
        .get(b.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = form(
        &b,
        "/mcp/oauth/revoke",
        &[("token", &latest), ("client_id", &client)],
    )
    .await;
    assert_eq!(s, 200);

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    if std::env::var("LOG_SECRETS_DUMP").is_ok() {
        std::fs::write("/tmp/log_secrets_dump.json", &text).unwrap();
    }

    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret was logged: {s}");
    }
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.len() > 50,
        "TRACE logs a lot; got {} lines",
        lines.len()
    );
    let mut kinds = std::collections::BTreeSet::new();
    for line in &lines {
        if let Some(span) = request_span(line) {
            assert!(span["request_id"].is_string(), "{line}");
            assert!(span["route"].is_string(), "{line}");
            if let Some(p) = span["principal"].as_str() {
                kinds.insert(p.to_owned());
            }
        }
    }
    let echoed = lines
        .iter()
        .filter_map(request_span)
        .find(|s| s["request_id"] == REQUEST_ID);
    assert_eq!(
        echoed.expect("the given request id is logged")["route"],
        "/status/{public_slug}"
    );
    for kind in ["user", "mcp", "api_key", "anonymous"] {
        assert!(
            kinds.contains(kind),
            "no request logged as {kind}: {kinds:?}"
        );
    }
});
