//! The Prometheus families statusgate exports, held in one process-wide registry.
//!
//! Counters whose labels are fixed at compile time are resolved once, so counting one is a single
//! atomic add; labelled families (route, tool) are looked up with borrowed `&'static str` or the
//! router's shared `MatchedPath`, so no label is built by allocation on a request.

use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::MatchedPath;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The route a request matched: the router's template (`/status/{public_slug}`), never the path asked
/// for, so label values stay few and carry no identifiers.
#[derive(Clone, Debug)]
pub enum Route {
    Matched(MatchedPath),
    /// A route without a `MatchedPath` (a nested service such as `/static`), or none at all.
    Fixed(&'static str),
}

impl Route {
    pub fn of<B>(req: &axum::http::Request<B>) -> Self {
        match req.extensions().get::<MatchedPath>() {
            Some(m) => Self::Matched(m.clone()),
            // `nest_service` sets no `MatchedPath`; its files are one route.
            None if req.uri().path().starts_with("/static/") => Self::Fixed("/static/{*path}"),
            None => Self::Fixed("unmatched"),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched(m) => m.as_str(),
            Self::Fixed(s) => s,
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabels {
    tool: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

/// An OAuth event worth counting; the label is the variant's name in snake case.
#[derive(Clone, Copy, Debug)]
pub enum OAuthEvent {
    Registration,
    ConsentApproved,
    ConsentDenied,
    CodeExchange,
    Refresh,
    RefreshReuse,
    Revocation,
    /// An access token issued for an identity assertion (ID-JAG, enterprise-managed sign-in).
    AssertionGrant,
}

impl OAuthEvent {
    const ALL: [Self; 8] = [
        Self::Registration,
        Self::ConsentApproved,
        Self::ConsentDenied,
        Self::CodeExchange,
        Self::Refresh,
        Self::RefreshReuse,
        Self::Revocation,
        Self::AssertionGrant,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::ConsentApproved => "consent_approved",
            Self::ConsentDenied => "consent_denied",
            Self::CodeExchange => "code_exchange",
            Self::Refresh => "refresh",
            Self::RefreshReuse => "refresh_reuse",
            Self::Revocation => "revocation",
            Self::AssertionGrant => "assertion_grant",
        }
    }
}

/// How an MCP `tools/call` ended.
#[derive(Clone, Copy, Debug)]
pub enum ToolOutcome {
    /// A result without `isError`.
    Ok,
    /// A result with `isError`: the service refused or failed the operation.
    ToolError,
    /// Never run: unknown or hidden tool, bad arguments, or a scope the caller lacks.
    Refused,
}

/// What became of one delivery attempt.
#[derive(Clone, Copy, Debug)]
pub enum Delivery {
    Delivered,
    /// Failed; tried again later.
    Retry,
    /// Failed for the last time: a dead letter.
    Dead,
}

/// Which cache a lookup went to.
#[derive(Clone, Copy, Debug)]
pub enum Cache {
    /// The store's read cache (`store::cache`).
    Read,
    /// Rendered public pages, badges and feeds (`web::public_cache`).
    Public,
}

/// Latency buckets in seconds, 0.5 ms to about 8 s.
fn latency_buckets() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 15,
    ))
}

pub(super) struct Metrics {
    pub(super) registry: Registry,
    http: Family<HttpLabels, Histogram, fn() -> Histogram>,
    tools: Family<ToolLabels, Counter>,
    oauth: [Counter; OAuthEvent::ALL.len()],
    /// Read hit, read miss, public hit, public miss.
    cache: [Counter; 4],
    invalidations: Counter,
    deliveries: [Counter; 3],
    monitor_up: Counter,
    monitor_down: Counter,
    check_latency: Histogram,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Every family this process counts, for the `/metrics` route to encode.
pub fn registry() -> &'static Registry {
    &METRICS.registry
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("statusgate");
        let http = Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_buckets as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests by matched route, method and status, and how long each took to answer",
            http.clone(),
        );
        let tools = Family::<ToolLabels, Counter>::default();
        registry.register(
            "mcp_tool_calls",
            "MCP tools/call requests by tool and outcome (ok, tool_error, refused)",
            tools.clone(),
        );
        let oauth_family = Family::<EventLabels, Counter>::default();
        registry.register(
            "oauth_events",
            "OAuth authorization-server events by kind",
            oauth_family.clone(),
        );
        let oauth = OAuthEvent::ALL
            .map(|e| oauth_family.get_or_create_owned(&EventLabels { event: e.label() }));
        let cache_family = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_lookups",
            "Lookups in the read cache and the public page cache, by result (hit or miss)",
            cache_family.clone(),
        );
        let cache = [
            ("read", "hit"),
            ("read", "miss"),
            ("public", "hit"),
            ("public", "miss"),
        ]
        .map(|(cache, result)| cache_family.get_or_create_owned(&CacheLabels { cache, result }));
        let invalidations = Counter::default();
        registry.register(
            "read_cache_invalidations",
            "Times the read cache was told that cached data may have changed",
            invalidations.clone(),
        );
        let delivery_family = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "notification_deliveries",
            "Notification delivery attempts by outcome (delivered, retry, dead: a dead letter)",
            delivery_family.clone(),
        );
        let deliveries = ["delivered", "retry", "dead"]
            .map(|outcome| delivery_family.get_or_create_owned(&OutcomeLabels { outcome }));
        let monitor_family = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "monitor_runs",
            "Monitor checks run, by outcome (up or down)",
            monitor_family.clone(),
        );
        let monitor_up = monitor_family.get_or_create_owned(&OutcomeLabels { outcome: "up" });
        let monitor_down = monitor_family.get_or_create_owned(&OutcomeLabels { outcome: "down" });
        let check_latency = latency_buckets();
        registry.register(
            "monitor_check_duration_seconds",
            "How long monitor checks took, as the check measured it",
            check_latency.clone(),
        );
        Self {
            registry,
            http,
            tools,
            oauth,
            cache,
            invalidations,
            deliveries,
            monitor_up,
            monitor_down,
            check_latency,
        }
    }
}

/// One answered HTTP request.
pub fn http_request(route: Route, method: &'static str, status: u16, took: Duration) {
    let labels = HttpLabels {
        route,
        method,
        status,
    };
    METRICS
        .http
        .get_or_create(&labels)
        .observe(took.as_secs_f64());
}

/// One `tools/call`; `tool` is the catalog's name, or `unknown` for a name it does not hold.
pub fn tool_call(tool: &'static str, outcome: ToolOutcome) {
    let outcome = match outcome {
        ToolOutcome::Ok => "ok",
        ToolOutcome::ToolError => "tool_error",
        ToolOutcome::Refused => "refused",
    };
    METRICS
        .tools
        .get_or_create(&ToolLabels { tool, outcome })
        .inc();
}

pub fn oauth(event: OAuthEvent) {
    METRICS.oauth[event as usize].inc();
}

pub fn cache_lookup(cache: Cache, hit: bool) {
    let i = match cache {
        Cache::Read => 0,
        Cache::Public => 2,
    } + usize::from(!hit);
    METRICS.cache[i].inc();
}

pub fn cache_invalidated() {
    METRICS.invalidations.inc();
}

pub fn delivery(outcome: Delivery) {
    METRICS.deliveries[outcome as usize].inc();
}

/// One monitor check, with the latency the check itself measured.
pub fn monitor_run(up: bool, latency_ms: i64) {
    if up {
        METRICS.monitor_up.inc();
    } else {
        METRICS.monitor_down.inc();
    }
    METRICS
        .check_latency
        .observe(latency_ms.max(0) as f64 / 1000.0);
}
