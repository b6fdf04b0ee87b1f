//! Who is calling `/api/v1`: an API key in `x-statusgate-key: sg_…` or `Authorization: Bearer sg_…`
//! (one of the two, once), checked on every request, then the key's rate limit. Browser sessions are
//! not accepted here.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};

use super::error::ApiError;
use super::ApiState;
use crate::domain::ApiKeyRow;
use crate::service::api_keys::KeyRefusal;
use crate::service::{Actor, Principal};

pub const KEY_HEADER: HeaderName = HeaderName::from_static("x-statusgate-key");
/// Set by the page MCP server to the tool it is running, so the audit row can name it.
pub const TOOL_HEADER: HeaderName = HeaderName::from_static("x-statusgate-tool");

/// The authenticated caller of a request.
pub struct Caller {
    pub principal: Principal,
    pub key: ApiKeyRow,
}

/// The one credential the request carries, or the refusal: none is 401, two are 400.
pub fn presented_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let keys: Vec<_> = headers.get_all(&KEY_HEADER).iter().collect();
    let auth: Vec<_> = headers.get_all(header::AUTHORIZATION).iter().collect();
    let value = match (keys.as_slice(), auth.as_slice()) {
        ([], []) => {
            return Err(ApiError::unauthorized(
                "an API key is required (x-statusgate-key or Authorization: Bearer)",
            ))
        }
        ([k], []) => k.to_str().unwrap_or_default().trim().to_owned(),
        ([], [a]) => {
            let a = a.to_str().unwrap_or_default();
            match a.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    token.trim().to_owned()
                }
                _ => return Err(ApiError::unauthorized("use Authorization: Bearer sg_…")),
            }
        }
        _ => return Err(ApiError::malformed("send exactly one credential")),
    };
    if value.is_empty() {
        return Err(ApiError::unauthorized("empty API key"));
    }
    Ok(value)
}

/// The tool name from [`TOOL_HEADER`]: short, lowercase letters, digits and underscores.
fn tool_name(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(&TOOL_HEADER)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| v.to_owned())
}

pub fn refusal(r: KeyRefusal) -> ApiError {
    match r {
        KeyRefusal::Unavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            r.to_string(),
        ),
        other => ApiError::unauthorized(other.to_string()),
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let secret = presented_key(&parts.headers)?;
        let (mut principal, key) = state
            .services
            .verify_api_key(&secret)
            .await
            .map_err(refusal)?;
        if let Err(wait) = state.limiter.take(key.id.as_str()) {
            return Err(ApiError {
                retry_after: Some(wait),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("rate limit reached; retry in {wait} s"),
                )
            });
        }
        if let Actor::ApiKey { tool, .. } = &mut principal.actor {
            *tool = tool_name(&parts.headers);
        }
        crate::telemetry::record_principal_kind(crate::telemetry::PrincipalKind::ApiKey);
        Ok(Self { principal, key })
    }
}

pub use crate::ratelimit::RateLimiter;
