//! Who is calling `/api/v1`: an API key in `x-statusgate-key: sg_…` or `Authorization: Bearer sg_…`
//! (one of the two, once), checked on every request, then the key's rate limit. Browser sessions are
//! not accepted here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};

use super::error::ApiError;
use super::ApiState;
use crate::service::api_keys::KeyRefusal;
use crate::service::{Actor, Principal};
use crate::store::api_keys::ApiKeyRow;

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
        Ok(Self { principal, key })
    }
}

/// A token bucket per key, in this instance's memory: `burst` requests at once, refilled at
/// `per_minute`. Several instances each allow the rate; the limit protects each instance.
#[derive(Clone)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

/// Past this many tracked keys, full buckets are forgotten (they hold nothing a fresh one would not).
const PRUNE_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Arc::default(),
        }
    }

    /// Takes one token for `key`, or answers how many whole seconds until one is there.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.len() > PRUNE_AT {
            let (per_sec, burst) = (self.per_sec, self.burst);
            map.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * per_sec < burst);
        }
        let (tokens, at) = map.entry(key.to_owned()).or_insert((self.burst, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            Err(((1.0 - refilled) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn a_bucket_allows_its_burst_then_names_the_wait() {
        let l = RateLimiter::new(60, 2);
        assert!(l.take("k").is_ok());
        assert!(l.take("k").is_ok());
        assert_eq!(l.take("k"), Err(1));
        assert!(l.take("other").is_ok());
    }
}
