//! What statusgate tells its operators: the log subscriber (text or JSON lines), one span per request
//! carrying a request id, the matched route and the principal's kind, and the Prometheus families in
//! [`metrics`], served by the application's `/metrics` route (`app::scrape`).
//!
//! Every layer above storage may call in here (as every layer may read the clock); storage is handed
//! its counters at start (`store::cache::count_with`). In return this module reads only the config's
//! log format and changes nothing.

pub mod metrics;

use std::cell::Cell;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::config::LogFormat;

/// The target of the access log's lines (one per request answered), so a filter can name it alone.
pub const ACCESS_LOG: &str = "statusgate::access";

/// Installs the process's log subscriber. `RUST_LOG` wins over `filter`; a bad filter means `info`.
/// sqlx logs every statement at `debug`, which buries everything else, so unless the filter names
/// sqlx (`debug,sqlx=debug`) sqlx is held at `info`. `access_log = false` turns the access log off
/// whatever the filter says.
pub fn init_tracing(filter: &str, format: LogFormat, access_log: bool) {
    let filter = log_filter(
        std::env::var("RUST_LOG").ok().as_deref(),
        filter,
        access_log,
    );
    // Colour only for a person at a terminal: escape codes in a journal or a file are noise.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // Each line carries the enclosing spans' fields, so an event deep in a handler still names
        // its request id and route.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

fn log_filter(
    from_env: Option<&str>,
    configured: &str,
    access_log: bool,
) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};
    let (text, mut filter) = from_env
        .and_then(|t| EnvFilter::try_new(t).ok().map(|f| (t, f)))
        .or_else(|| EnvFilter::try_new(configured).ok().map(|f| (configured, f)))
        .unwrap_or_else(|| ("info", EnvFilter::new("info")));
    let verbose = filter
        .max_level_hint()
        .is_some_and(|l| l >= LevelFilter::DEBUG);
    if verbose && !text.contains("sqlx") {
        if let Ok(d) = "sqlx=info".parse::<Directive>() {
            filter = filter.add_directive(d);
        }
    }
    if !access_log {
        if let Ok(d) = format!("{ACCESS_LOG}=off").parse::<Directive>() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client or proxy; a longer one is replaced.
const MAX_REQUEST_ID: usize = 64;

/// Who a request acts as, as logged.
#[derive(Clone, Copy, Debug)]
pub enum PrincipalKind {
    User,
    ApiKey,
    Mcp,
}

impl PrincipalKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Mcp => "mcp",
        }
    }
}

/// The request being served on this task: its span, and whether its principal is recorded yet. The
/// span is kept here because by the time a principal is resolved the current span may be a library's
/// (the session layer's, say), which has no `principal` field.
struct Current {
    span: tracing::Span,
    named: Cell<bool>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Records the kind of principal into the current request's span, where it was resolved.
pub fn record_principal_kind(kind: PrincipalKind) {
    // Outside a request (a background task, a command) there is no span to name it in.
    let _ = CURRENT.try_with(|c| {
        if !c.named.replace(true) {
            c.span.record("principal", kind.as_str());
        }
    });
}

/// The request id to use: the caller's when it is short visible ASCII, else a new random one.
fn request_id(req: &Request) -> HeaderValue {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= MAX_REQUEST_ID && b.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            // Hex written in place: one allocation (the header's own), on every request without an id.
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut n = rand::random::<u128>();
            let mut id = [0u8; 32];
            for b in id.iter_mut().rev() {
                *b = HEX[(n & 0xf) as usize];
                n >>= 4;
            }
            HeaderValue::from_bytes(&id).unwrap_or(HeaderValue::from_static("unknown"))
        })
}

/// The method as a label from a fixed set, so a made-up method cannot grow the metrics.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Runs one request inside its span, echoes its request id and counts it. The span names the
/// route template, never the path or query asked for: those may carry a set-up token or an
/// authorization request.
pub async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = metrics::Route::of(&req);
    let method = method_label(req.method());
    let id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or_default(),
        method,
        route = route.as_str(),
        principal = tracing::field::Empty,
    );
    let current = Current {
        span: span.clone(),
        named: Cell::new(false),
    };
    let (mut response, seen) = CURRENT
        .scope(current, async {
            let response = next.run(req).await;
            (response, CURRENT.with(|c| c.named.get()))
        })
        .instrument(span.clone())
        .await;
    if !seen {
        span.record("principal", "anonymous");
    }
    let took = started.elapsed();
    let status = response.status().as_u16();
    // The access log: the span adds the request id, method, route and principal; the query string
    // and headers are never logged.
    span.in_scope(|| {
        tracing::info!(
            target: ACCESS_LOG,
            status,
            // Whole microseconds, so the number reads 0.254 rather than 0.25441899999999995.
            duration_ms = u64::try_from(took.as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0,
            "answered"
        );
    });
    metrics::http_request(route, method, status, took);
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// Counts a request answered before routing because the request queue was full (`[server]
/// request_queue`), under the route label `(queue full)`, so overload shows on the HTTP histogram.
pub fn queue_full(req: &Request, status: u16) {
    let route = metrics::Route::Fixed("(queue full)");
    metrics::http_request(
        route,
        method_label(req.method()),
        status,
        std::time::Duration::ZERO,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(v: &str) -> Request {
        axum::http::Request::builder()
            .header("x-request-id", v)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn sqlx_statements_stay_off_at_debug_unless_asked_for() {
        use tracing::level_filters::LevelFilter;
        let text = |f: tracing_subscriber::EnvFilter| f.to_string();
        let debug = text(log_filter(None, "debug", true));
        assert!(debug.contains("sqlx=info"), "{debug}");
        let asked = text(log_filter(None, "debug,sqlx=debug", true));
        assert!(!asked.contains("sqlx=info"), "{asked}");
        let quiet = log_filter(None, "warn", true);
        assert!(!text(quiet).contains("sqlx"), "no change below debug");
        let from_env = text(log_filter(Some("trace"), "warn", true));
        assert!(from_env.contains("sqlx=info"), "RUST_LOG wins: {from_env}");
        let off = log_filter(None, "info", false);
        assert_eq!(off.max_level_hint(), Some(LevelFilter::INFO));
        assert!(text(off).contains("statusgate::access=off"));
    }

    #[test]
    fn a_sane_request_id_is_kept_and_others_replaced() {
        assert_eq!(request_id(&with_id("abc-123")), "abc-123");
        let long = "a".repeat(MAX_REQUEST_ID + 1);
        for bad in ["", "has space", long.as_str()] {
            let got = request_id(&with_id(bad));
            assert_ne!(got, bad);
            assert_eq!(got.len(), 32);
            assert!(got.as_bytes().iter().all(u8::is_ascii_hexdigit));
        }
    }
}
