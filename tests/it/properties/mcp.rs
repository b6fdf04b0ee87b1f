//! `/mcp` fed generated JSON-RPC: whatever the body, the answer is a JSON-RPC response or error object
//! (or a bodiless 202 for notifications), or an HTTP 4xx; never 5xx. Malformed JSON is HTTP 400 with
//! -32700; bad credentials are 401 with a Bearer challenge; a read-only token never runs a write tool,
//! however the call is dressed up.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{header_value, json_value, nasty_text, raw_bytes, Harness};
use crate::http_property;
use crate::oauth::plain;

const VERSIONS: [&str; 5] = [
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
    "1999-01-01",
];

/// A server and a read-scoped access token for it.
fn with_read_token(h: &Harness) -> String {
    h.run(crate::oauth::tokens(h.app())).access
}

fn id() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => (0i64..1000).prop_map(Value::from),
        1 => nasty_text().prop_map(Value::from),
        1 => prop::sample::select(vec![json!(null), json!(1.5), json!(-1), json!(i64::MAX), json!(u64::MAX), json!([1]), json!({"a": 1}), json!(true)]),
    ]
    .boxed()
}

fn any_json() -> BoxedStrategy<Value> {
    json_value(nasty_text())
}

fn method() -> BoxedStrategy<String> {
    prop_oneof![
        5 => prop::sample::select(vec![
            "tools/call", "tools/list", "initialize", "ping", "resources/list", "resources/read",
            "resources/templates/list", "prompts/list", "prompts/get", "notifications/initialized",
            "notifications/cancelled", "completion/complete", "logging/setLevel", "TOOLS/CALL", "tools/call ",
        ])
        .prop_map(str::to_owned),
        1 => nasty_text(),
    ]
    .boxed()
}

fn params() -> BoxedStrategy<Value> {
    let tool = prop::sample::select(vec![
        "list_status_pages",
        "get_page_summary",
        "list_incidents",
        "create_incident",
        "nope",
        "",
    ]);
    prop_oneof![
        3 => (tool, prop::option::of(any_json())).prop_map(|(name, args)| {
            let mut p = json!({ "name": name });
            if let Some(a) = args {
                p["arguments"] = a;
            }
            p
        }),
        1 => prop::sample::select(vec!["statusgate://pages", "statusgate://pages/x", "file:///etc/passwd", ""])
            .prop_map(|u| json!({ "uri": u })),
        1 => Just(json!({ "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "p", "version": "1" } })),
        1 => Just(json!({ "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } })),
        1 => any_json(),
    ]
    .boxed()
}

/// A message: a JSON-RPC request with fields dropped or changed, or a batch of them, or any JSON.
fn message() -> BoxedStrategy<Value> {
    let envelope = (
        prop_oneof![4 => Just(Some(json!("2.0"))), 1 => Just(None), 1 => any_json().prop_map(Some)],
        prop::option::weighted(0.85, id()),
        prop::option::weighted(0.95, method()),
        prop::option::weighted(0.8, params()),
    )
        .prop_map(|(jsonrpc, id, method, params)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("jsonrpc", jsonrpc),
                ("id", id),
                ("method", method.map(Value::from)),
                ("params", params),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            Value::Object(m)
        });
    prop_oneof![
        6 => envelope.clone(),
        1 => prop::collection::vec(envelope, 0..3).prop_map(Value::Array),
        1 => any_json(),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Headers {
    accept: Option<&'static str>,
    content_type: Option<&'static str>,
    version: Option<&'static str>,
}

fn headers() -> BoxedStrategy<Headers> {
    (
        prop::sample::select(vec![
            Some("application/json, text/event-stream"),
            Some("application/json"),
            Some("text/event-stream"),
            Some("*/*"),
            Some("text/html"),
            None,
        ]),
        prop::sample::select(vec![
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            Some("text/plain"),
            None,
        ]),
        prop::option::of(prop::sample::select(VERSIONS.to_vec())),
    )
        .prop_map(|(accept, content_type, version)| Headers {
            accept,
            content_type,
            version,
        })
        .boxed()
}

/// The headers a well-behaved client sends.
const CANONICAL: Headers = Headers {
    accept: Some("application/json, text/event-stream"),
    content_type: Some("application/json"),
    version: Some("2025-11-25"),
};

async fn post(h: &Harness, token: &str, hd: &Headers, body: Vec<u8>) -> (u16, Vec<u8>) {
    let mut req = plain()
        .post(h.app().url("/mcp"))
        .bearer_auth(token)
        .body(body);
    for (name, value) in [
        ("accept", hd.accept),
        ("content-type", hd.content_type),
        ("mcp-protocol-version", hd.version),
    ] {
        if let Some(v) = value {
            req = req.header(name, v);
        }
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

/// A JSON-RPC 2.0 error object with an integer code and a message.
fn is_rpc_error(v: &Value) -> bool {
    v["jsonrpc"] == "2.0" && v["error"]["code"].is_i64() && v["error"]["message"].is_string()
}

/// A JSON-RPC 2.0 response: a result or an error, never both.
fn is_rpc_response(v: &Value) -> bool {
    v["jsonrpc"] == "2.0"
        && (v.get("result").is_some() != v.get("error").is_some())
        && (v.get("error").is_none() || is_rpc_error(v))
}

/// The shape every `/mcp` answer must have, whatever was sent.
fn well_formed(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    prop_assert!(status < 500, "status {status}: {text}");
    let json: Option<Value> = serde_json::from_slice(body).ok();
    match status {
        200 => {
            let v = json.ok_or_else(|| TestCaseError::fail(format!("200 without JSON: {text}")))?;
            let ok = match &v {
                Value::Array(items) => items.iter().all(is_rpc_response),
                one => is_rpc_response(one),
            };
            prop_assert!(ok, "200 with {text}");
        }
        202 => prop_assert!(body.is_empty(), "202 with a body: {text}"),
        400..=499 => {
            // A JSON body on a refusal is a JSON-RPC error object; the transport's own bare 4xx is fine.
            if let Some(v) = json {
                prop_assert!(is_rpc_error(&v), "{status} with {text}");
            }
        }
        other => prop_assert!(false, "status {other}: {text}"),
    }
    Ok(())
}

http_property!(
    mcp_messages_get_json_rpc_answers_or_4xx_never_5xx,
    |h: &Harness| {
        let token = with_read_token(h);
        crate::properties::check(128, (message(), headers()), |(msg, hd)| {
            let (status, body) = h.run(post(h, &token, &hd, msg.to_string().into_bytes()));
            well_formed(status, &body)
        });
    }
);

/// Text that is not one JSON value: cut short, stray bytes, or two values.
fn malformed_json() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        (message(), any::<prop::sample::Index>()).prop_map(|(m, at)| {
            let s = m.to_string().into_bytes();
            let cut = at
                .index(s.len().max(1))
                .max(1)
                .min(s.len().saturating_sub(1));
            s[..cut].to_vec()
        }),
        raw_bytes(),
        Just(b"{\"jsonrpc\":\"2.0\",\"id\":1,}".to_vec()),
        Just(b"{} {}".to_vec()),
        Just(vec![0xff, 0xfe, b'{', b'}']),
    ]
    .prop_filter("must not be JSON", |b| {
        serde_json::from_slice::<Value>(b).is_err()
    })
    .boxed()
}

http_property!(
    malformed_json_is_http_400_with_a_parse_error,
    |h: &Harness| {
        let token = with_read_token(h);
        crate::properties::check(64, malformed_json(), |b| {
            let (status, body) = h.run(post(h, &token, &CANONICAL, b));
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            prop_assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
            prop_assert!(is_rpc_error(&v) && v["error"]["code"] == -32700, "{}", v);
            Ok(())
        });
    }
);

/// A `create_incident` call that would succeed with a write token, dressed up to slip past a scope
/// check: in a batch, with duplicate keys, with escaped names, or on another revision.
fn disguised_write(page: String) -> BoxedStrategy<(String, Headers)> {
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "create_incident",
        "arguments": { "page_id": page, "title": "Injected", "stage": "investigating", "message": "x", "notify": false } } });
    let plain_call = call.to_string();
    let args = call["params"]["arguments"].to_string();
    let forms = vec![
        plain_call.clone(),
        format!("[{plain_call}]"),
        format!("[{{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"tools/list\"}},{plain_call}]"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"create_incident\",\"arguments\":{args}}},\"params\":{{\"name\":\"list_status_pages\"}}}}"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"list_status_pages\"}},\"params\":{{\"name\":\"create_incident\",\"arguments\":{args}}}}}"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"create_incident\",\"name\":\"list_status_pages\",\"arguments\":{args}}}}}"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"list_status_pages\",\"name\":\"create_incident\",\"arguments\":{args}}}}}"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"method\":\"tools/call\",\"params\":{{\"name\":\"create_incident\",\"arguments\":{args}}}}}"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools\\/call\",\"params\":{{\"name\":\"create\\u005fincident\",\"arguments\":{args}}}}}"),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"create_incident\",\"arguments\":{args},\"_meta\":{{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}}}}"),
    ];
    (prop::sample::select(forms), headers()).boxed()
}

http_property!(a_read_only_token_never_runs_a_write_tool, |h: &Harness| {
    let token = with_read_token(h);
    let page_id = h.run(h.app().store.page_by_public_slug("api")).unwrap().id;
    let page = page_id.to_string();
    let before = h
        .run(h.app().store.active_incidents(&page_id))
        .unwrap()
        .len();
    crate::properties::check(64, disguised_write(page), |(body, hd)| {
        let (status, answer) = h.run(post(h, &token, &hd, body.clone().into_bytes()));
        well_formed(status, &answer)?;
        let text = String::from_utf8_lossy(&answer);
        prop_assert!(!text.contains("Injected"), "{body} ran: {text}");
        let now = h
            .run(h.app().store.active_incidents(&page_id))
            .unwrap()
            .len();
        prop_assert_eq!(now, before, "{} opened an incident: {}", body, text);
        Ok(())
    });
});

/// Credentials the way a confused or hostile client might send them.
fn credentials() -> BoxedStrategy<(Vec<(&'static str, String)>, String)> {
    let value = prop_oneof![
        2 => prop::sample::select(vec!["Bearer", "Bearer ", "Bearer  ", "bearer x", "Basic dXNlcjpwdw==", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.", "Token x", "Bearer \u{7f}"])
            .prop_map(str::to_owned),
        1 => nasty_text().prop_map(|t| format!("Bearer {t}")),
        1 => nasty_text(),
    ];
    let header = prop::sample::select(vec!["authorization", "authorization", "x-statusgate-key"]);
    let query = prop::sample::select(vec![
        "",
        "?access_token=x",
        "?a=1&access_token=",
        "?x=access_token=",
    ]);
    (
        prop::collection::vec((header, value), 0..3),
        query.prop_map(str::to_owned),
    )
        .boxed()
}

http_property!(
    bad_credentials_get_a_bearer_challenge_never_a_result,
    |h: &Harness| {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }).to_string();
        crate::properties::check(96, credentials(), |(creds, query)| {
            let mut req = plain()
                .post(h.app().url(&format!("/mcp{query}")))
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .body(body.clone());
            for (name, value) in &creds {
                if let Some(v) = header_value(value) {
                    req = req.header(*name, v);
                }
            }
            let r = h.run(req.send()).unwrap();
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let v: Value = h.run(r.json()).unwrap_or(Value::Null);
            match status {
                401 => {
                    prop_assert!(is_rpc_error(&v) && v["error"]["code"] == -32001, "{v}");
                    let c = challenge.unwrap_or_default();
                    prop_assert!(c.starts_with("Bearer resource_metadata=\""), "{c}");
                }
                400 => prop_assert!(is_rpc_error(&v) && v["error"]["code"] == -32600, "{v}"),
                other => prop_assert!(false, "status {other} for {creds:?}{query}: {v}"),
            }
            Ok(())
        });
    }
);

/// A JSON array that reads like a request when taken field by field: `["2.0", id, method, params]`.
fn positional_request() -> BoxedStrategy<Vec<u8>> {
    (id(), method(), params())
        .prop_map(|(id, method, params)| {
            json!(["2.0", id, method, params]).to_string().into_bytes()
        })
        .boxed()
}

http_property!(a_json_array_of_fields_is_not_a_request, |h: &Harness| {
    let token = with_read_token(h);
    crate::properties::check(64, positional_request(), |b| {
        let (status, body) = h.run(post(h, &token, &CANONICAL, b.clone()));
        well_formed(status, &body)?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        prop_assert!(
            v.get("result").is_none(),
            "{} was answered: {}",
            String::from_utf8_lossy(&b),
            v
        );
        Ok(())
    });
});
