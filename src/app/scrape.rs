//! `GET /metrics`: the Prometheus text format, for a scraper holding the configured bearer token.
//! Without a configured token the endpoint does not exist (404), so nothing about it is exposed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

use prometheus_client::encoding::prometheus_text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::state::AppState;

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
    let gauges = gauges(&state).await;
    let mut body = String::with_capacity(16 * 1024);
    let encoded = encode(&mut body, crate::telemetry::metrics::registry())
        .and_then(|()| encode(&mut body, &gauges));
    if let Err(e) = encoded {
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

/// This instance's pool and outbox, read now. They belong to one app, not to the process (tests run
/// several apps in one), so they go in a registry of their own, made per scrape.
async fn gauges(state: &AppState) -> Registry {
    let mut registry = Registry::with_prefix("statusgate");
    let mut gauge = |name: &str, help: &str, value: i64| {
        let g: Gauge = Gauge::default();
        g.set(value);
        registry.register(name, help, g);
    };
    let pool = state.services.pool_stats();
    gauge(
        "db_pool_connections",
        "Database connections open in the pool, read at scrape time",
        i64::from(pool.size),
    );
    gauge(
        "db_pool_idle_connections",
        "Open database connections not in use, read at scrape time",
        i64::from(pool.idle),
    );
    gauge(
        "db_pool_max_connections",
        "The most connections the pool opens; at this size with none idle, queries wait",
        i64::from(pool.max),
    );
    let public = state.public.usage();
    gauge(
        "public_cache_entries",
        "Rendered public representations held in memory, read at scrape time",
        i64::try_from(public.entries).unwrap_or(i64::MAX),
    );
    gauge(
        "public_cache_bytes",
        "What the held public representations weigh (keys, bodies, compressed copies), read at scrape time",
        i64::try_from(public.bytes).unwrap_or(i64::MAX),
    );
    gauge(
        "public_cache_max_bytes",
        "The bound on public_cache_bytes (public.cache_max_bytes)",
        i64::try_from(public.max_bytes).unwrap_or(i64::MAX),
    );
    match state.services.outbox_backlog(BACKLOG_CAP).await {
        Ok(n) => gauge(
            "outbox_backlog",
            "Notifications waiting to be delivered, read at scrape time (counted up to 10000)",
            n,
        ),
        // Left out rather than reported as zero.
        Err(e) => tracing::warn!(error = %e, "reading the outbox backlog for /metrics failed"),
    }
    registry
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
