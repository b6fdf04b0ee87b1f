//! The authorization server's endpoints fed arbitrary requests: token, revocation and registration
//! refuse in RFC 6749 / 7591 JSON (400, or 401 for `invalid_client`), authorization ends on a page or a
//! redirect, and nothing answers 5xx.
#![no_main]

#[path = "server.rs"]
mod server;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Arbitrary, Debug)]
enum Endpoint {
    Token,
    Revoke,
    Register,
    Authorize,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    endpoint: Endpoint,
    /// Sent as the right content type unless this says otherwise.
    content_type: Option<&'a str>,
    authorization: Option<&'a str>,
    query: &'a str,
    body: &'a [u8],
}

const CODES: [&str; 11] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "unsupported_token_type",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "temporarily_unavailable",
];

fuzz_target!(|input: Input<'_>| {
    let (path, right_type) = match input.endpoint {
        Endpoint::Token => ("/mcp/oauth/token", "application/x-www-form-urlencoded"),
        Endpoint::Revoke => ("/mcp/oauth/revoke", "application/x-www-form-urlencoded"),
        Endpoint::Register => ("/mcp/oauth/register", "application/json"),
        Endpoint::Authorize => ("/mcp/oauth/authorize", ""),
    };
    let query = input.query.replace(['#', ' '], "");
    let uri = if matches!(input.endpoint, Endpoint::Authorize) {
        format!("{path}?{query}")
    } else {
        path.to_owned()
    };
    let method = if matches!(input.endpoint, Endpoint::Authorize) {
        "GET"
    } else {
        "POST"
    };
    let mut req = Request::builder().method(method).uri(uri.as_str());
    let content_type = input.content_type.unwrap_or(right_type);
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    if let Some(a) = input.authorization {
        req = req.header("authorization", a);
    }
    let Ok(req) = req.body(Body::from(input.body.to_vec())) else {
        return; // Not a valid HTTP request (a control character in a header, a bad URI).
    };
    let (status, body) = server::server().send(req);
    let text = String::from_utf8_lossy(&body);
    assert!(status < 500, "{status} for {input:?}: {text}");
    if matches!(input.endpoint, Endpoint::Authorize) || status < 400 {
        return;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let code = v["error"].as_str().unwrap_or_default();
    assert!(CODES.contains(&code), "{status} {text}");
    assert!(matches!(status, 400 | 401 | 429), "{status} {text}");
    assert_eq!(status == 401, code == "invalid_client", "{text}");
});
