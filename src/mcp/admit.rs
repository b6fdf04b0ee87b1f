//! Who may call `/mcp`: the `Origin` check, the one bearer credential (RFC 6750; an API key may come in
//! its own header instead), authentication into an `McpCaller`, and the JSON-RPC error answers with the
//! challenges that go with them. Each refusal is logged once, where it becomes the answer.

use std::future::Future;
use std::pin::Pin;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::http::McpHttp;
use super::{McpCaller, McpScope};
use crate::service::Actor;
use crate::telemetry::{self, PrincipalKind};

/// Why a bearer token was not accepted.
#[derive(Debug)]
pub enum AuthFailure {
    /// Unknown, expired, revoked or not for this resource: 401 `invalid_token`.
    InvalidToken(String),
    /// The check itself failed (database down): 503, the token may be fine.
    Unavailable,
}

pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<McpCaller, AuthFailure>> + Send + 'a>>;

/// Turns a bearer credential into a caller: OAuth access tokens and statusgate API keys.
pub trait Authenticate: Send + Sync + 'static {
    fn authenticate<'a>(&'a self, token: &'a str) -> AuthFuture<'a>;
}

/// The header an API key may come in instead of `Authorization: Bearer`.
pub(super) const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-statusgate-key");

/// A JSON-RPC error as the whole answer to a request `/mcp` refuses before dispatch.
pub(super) fn json_rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    tracing::debug!(
        status = status.as_u16(),
        code,
        message,
        "mcp request refused"
    );
    // JSON-RPC 2.0 §5: an error about a request whose id could not be read carries `"id": null`.
    let body =
        json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

pub(super) fn challenge(state: &McpHttp, error: Option<&str>, scopes: &[McpScope]) -> HeaderValue {
    let mut v = format!("Bearer resource_metadata=\"{}\"", state.resource_metadata);
    if let Some(e) = error {
        v.push_str(&format!(", error=\"{e}\""));
    }
    if !scopes.is_empty() {
        v.push_str(&format!(", scope=\"{}\"", McpScope::join(scopes)));
    }
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("Bearer"))
}

fn unauthorized(state: &McpHttp, error: Option<&str>, message: &str) -> Response {
    let mut r = json_rpc_error(StatusCode::UNAUTHORIZED, -32001, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        challenge(state, error, &McpScope::READ),
    );
    r
}

/// An API key in its own header, if one came; one credential per request.
#[allow(clippy::result_large_err)] // The error is the response itself, built once.
fn api_key<'a>(state: &McpHttp, headers: &'a HeaderMap) -> Option<Result<&'a str, Response>> {
    let keys: Vec<&HeaderValue> = headers.get_all(API_KEY_HEADER).iter().collect();
    let [key, rest @ ..] = keys.as_slice() else {
        return None;
    };
    if !rest.is_empty() || headers.contains_key(header::AUTHORIZATION) {
        return Some(Err(json_rpc_error(
            StatusCode::BAD_REQUEST,
            -32600,
            "send one credential",
        )));
    }
    Some(match key.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() => Ok(k),
        _ => Err(unauthorized(
            state,
            Some("invalid_request"),
            "empty API key",
        )),
    })
}

/// The bearer token, or the response that refuses the request.
#[allow(clippy::result_large_err)] // The error is the response itself, built once.
fn bearer<'a>(
    state: &McpHttp,
    headers: &'a HeaderMap,
    query: Option<&str>,
) -> Result<&'a str, Response> {
    // RFC 6750 §2.3 is not offered: a token in the URL would end up in logs.
    if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("access_token="))) {
        return Err(unauthorized(
            state,
            Some("invalid_request"),
            "tokens are accepted only in the Authorization header",
        ));
    }
    if let Some(key) = api_key(state, headers) {
        return key;
    }
    let values: Vec<&HeaderValue> = headers.get_all(header::AUTHORIZATION).iter().collect();
    let value = match values.as_slice() {
        [] => return Err(unauthorized(state, None, "authentication required")),
        [one] => *one,
        _ => {
            return Err(json_rpc_error(
                StatusCode::BAD_REQUEST,
                -32600,
                "more than one Authorization header",
            ))
        }
    };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(unauthorized(
            state,
            Some("invalid_request"),
            "use Authorization: Bearer <token>",
        )),
    }
}

/// Refuses a browser request from an origin not allowed to call.
#[allow(clippy::result_large_err)] // The error is the response itself, built once.
pub(super) fn check_origin(state: &McpHttp, headers: &HeaderMap) -> Result<(), Response> {
    match headers.get(header::ORIGIN) {
        Some(origin)
            if !origin
                .to_str()
                .is_ok_and(|o| state.allowed_origins.iter().any(|a| a == o)) =>
        {
            Err(json_rpc_error(
                StatusCode::FORBIDDEN,
                -32600,
                "origin not allowed",
            ))
        }
        _ => Ok(()),
    }
}

/// The caller the request's one credential names, counted for the console and named in the span.
pub(super) async fn authenticate(
    state: &McpHttp,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<McpCaller, Response> {
    let token = bearer(state, headers, query)?;
    let caller = match state.auth.authenticate(token).await {
        Ok(c) => c,
        Err(AuthFailure::InvalidToken(why)) => {
            return Err(unauthorized(state, Some("invalid_token"), &why))
        }
        Err(AuthFailure::Unavailable) => {
            return Err(json_rpc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                -32603,
                "authentication is unavailable; retry",
            ))
        }
    };
    if let Actor::Mcp { grant_id, .. } = &caller.principal.actor {
        state.services.record_call(grant_id);
    }
    telemetry::record_principal_kind(match caller.principal.actor {
        Actor::User => PrincipalKind::User,
        Actor::ApiKey { .. } => PrincipalKind::ApiKey,
        Actor::Mcp { .. } => PrincipalKind::Mcp,
    });
    Ok(caller)
}
