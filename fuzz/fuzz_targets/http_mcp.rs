//! `/mcp` fed arbitrary bodies and protocol headers with a valid read-only API key: the answer is a
//! JSON-RPC response or error object, a bodiless 202, or an HTTP 4xx; never 5xx.
#![no_main]

#[path = "server.rs"]
mod server;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    accept: Option<&'a str>,
    content_type: Option<&'a str>,
    version: Option<&'a str>,
    body: &'a [u8],
}

fn is_rpc(v: &Value) -> bool {
    v["jsonrpc"] == "2.0"
        && (v.get("result").is_some() != v.get("error").is_some())
        && v.get("error")
            .is_none_or(|e| e["code"].is_i64() && e["message"].is_string())
}

fuzz_target!(|input: Input<'_>| {
    let s = server::server();
    let mut req = Request::builder()
        .method("POST")
        .uri("/mcp")
        .header("host", "127.0.0.1")
        .header("x-statusgate-key", s.key.as_str())
        .header(
            "accept",
            input
                .accept
                .unwrap_or("application/json, text/event-stream"),
        )
        .header(
            "content-type",
            input.content_type.unwrap_or("application/json"),
        );
    if let Some(v) = input.version {
        req = req.header("mcp-protocol-version", v);
    }
    let Ok(req) = req.body(Body::from(input.body.to_vec())) else {
        return;
    };
    let (status, body) = s.send(req);
    let text = String::from_utf8_lossy(&body);
    assert!(status < 500, "{status} for {input:?}: {text}");
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    match status {
        200 => {
            let v = json.unwrap_or_else(|| panic!("200 without JSON: {text}"));
            let ok = match &v {
                Value::Array(items) => items.iter().all(is_rpc),
                one => is_rpc(one),
            };
            assert!(ok, "{text}");
        }
        202 => assert!(body.is_empty(), "{text}"),
        _ => {
            if let Some(v) = json {
                assert!(
                    v["jsonrpc"] == "2.0" && v["error"]["code"].is_i64(),
                    "{status} {text}"
                );
            }
        }
    }
});
