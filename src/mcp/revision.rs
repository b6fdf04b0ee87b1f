//! Wire details of protocol revisions the SDK does not produce itself.
//!
//! From 2026-07-28 on, every result carries `resultType` (`"complete"` unless the server asks the
//! client for input); rmcp 3.9 omits it on ordinary results, which strict clients and the
//! conformance suite's schema check refuse. Only requests that name that revision pay for the fix.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::Value;

/// Revisions whose results must say what kind of result they are.
const WITH_RESULT_TYPE: &[&str] = &["2026-07-28"];

/// Responses above this are passed through untouched rather than buffered.
const MAX_PATCHED: usize = 4 * 1024 * 1024;

pub fn needs_result_type(request_headers: &HeaderMap) -> bool {
    request_headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| WITH_RESULT_TYPE.contains(&v.trim()))
}

/// Adds `"resultType": "complete"` to a JSON-RPC result that lacks one.
pub async fn with_result_type(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PATCHED).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let mut msg: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    match msg.get_mut("result").and_then(Value::as_object_mut) {
        Some(result) if !result.contains_key("resultType") => {
            result.insert("resultType".into(), "complete".into());
        }
        _ => return Response::from_parts(parts, Body::from(bytes)),
    }
    let out = serde_json::to_vec(&msg).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(out))
}
