//! `GET /metrics`: the Prometheus text format, for a scraper holding the configured bearer token.
//! Without a configured token the endpoint does not exist (404), so nothing about it is exposed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

use super::metrics::METRICS;
use crate::app::AppState;

/// The backlog is counted up to this many rows, so one scrape costs a bounded read.
const BACKLOG_CAP: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// Whether `headers` carry `Authorization: Bearer <expected>`, compared in constant time.
fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config: &Arc<crate::config::Config> = &state.config;
    let Some(token) = config.metrics.token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorized(&headers, token) {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    // Gauges are read now rather than kept up to date on every change.
    let pool = state.services.pool_stats();
    METRICS.pool_size.set(i64::from(pool.size));
    METRICS.pool_idle.set(i64::from(pool.idle));
    METRICS.pool_max.set(i64::from(pool.max));
    match state.services.outbox_backlog(BACKLOG_CAP).await {
        Ok(n) => {
            METRICS.outbox_backlog.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "reading the outbox backlog for /metrics failed"),
    }
    let mut body = String::with_capacity(16 * 1024);
    if let Err(e) =
        prometheus_client::encoding::prometheus_text::encode(&mut body, &METRICS.registry)
    {
        tracing::error!(error = %e, "encoding /metrics failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            m
        };
        let token = "0123456789abcdef";
        assert!(authorized(&h("Bearer 0123456789abcdef"), token));
        assert!(authorized(&h("bearer 0123456789abcdef"), token));
        assert!(!authorized(&h("Bearer 0123456789abcde"), token));
        assert!(!authorized(&h("Basic 0123456789abcdef"), token));
        assert!(!authorized(&HeaderMap::new(), token));
    }
}
