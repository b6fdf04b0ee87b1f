//! Application assembly: state, the one router, the listener, background upkeep and graceful shutdown.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::service::Services;
use crate::store::sessions::DbSessionStore;
use crate::store::{ConnectOptions, Store};

mod admission;
mod scrape;
mod upkeep;

pub use crate::state::AppState;

/// Form and JSON bodies above this are refused with 413.
const BODY_LIMIT: usize = 256 * 1024;

/// Every route, with browser sessions kept in `store` (the services reach it only through their methods).
pub fn build_router(state: AppState, store: Store) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(store))
        .with_name("statusgate_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.is_https())
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(i64::from(
            state.config.security.session_idle_minutes,
        ))));
    let web = crate::web::router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::chrome::errors_in_layout,
        ))
        .layer(axum::middleware::from_fn(crate::web::private_headers))
        .layer(sessions)
        .layer(CompressionLayer::new());
    let public = state.config.public_url.clone();
    let trusted_hops = state.config.security.trusted_proxy_hops;
    let mcp = crate::mcp::http::McpHttp {
        auth: Arc::new(crate::mcp::credentials::Credentials {
            oauth: Arc::new(state.oauth.clone()),
            services: state.services.clone(),
        }),
        services: state.services.clone(),
        resource_metadata: format!("{public}/.well-known/oauth-protected-resource/mcp").into(),
        allowed_origins: std::iter::once(public.clone())
            .chain(state.config.mcp.allowed_origins.iter().cloned())
            .collect(),
        direct_dispatch: state.config.mcp.direct_dispatch,
    };
    let api = crate::api::ApiState {
        services: state.services.clone(),
        limiter: crate::api::RateLimiter::new(
            state.config.api.rate_per_minute,
            state.config.api.burst,
        ),
        public_url: public.clone().into(),
    };
    Router::new()
        .route("/mcp/health", get(health))
        .merge(crate::api::router(api).layer(CompressionLayer::new()))
        .merge(crate::web::public_router())
        .route("/readyz", get(upkeep::readyz))
        .merge(crate::mcp::http::router(mcp, &public))
        .merge(crate::oauth::http::router())
        .merge(scrape::router())
        .merge(web)
        .nest_service("/static", ServeDir::new(static_dir()))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(
            crate::api::error::shape_too_large,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .layer(axum::middleware::from_fn(crate::telemetry::observe))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::ratelimit::record_client_addr(trusted_hops, req, next)
        }))
        .with_state(state)
}

/// `static/` next to the crate when run from a checkout, else next to the working directory.
fn static_dir() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    if here.is_dir() {
        here
    } else {
        std::path::PathBuf::from("static")
    }
}

/// Readiness: 200 with the version when the database answers, 503 when it does not.
async fn health(State(services): State<Services>) -> Response {
    let db = services.database_answers().await;
    let body = json!({
        "status": if db { "ok" } else { "unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "database": if db { "reachable" } else { "unreachable" },
        "backend": services.database_engine(),
    });
    let status = if db {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// A built application: connected, migrated, seeded, listening.
pub struct App {
    listener: TcpListener,
    router: Router,
    pub state: AppState,
    /// The database itself, for the operator's tools and tests that inspect rows; requests reach it
    /// only through the services.
    pub store: Store,
    pub demo_account: Option<crate::service::demo::DemoAccount>,
    /// The one-time first-run link, while no user exists and the demo is off. Printed, never logged.
    pub setup_link: Option<String>,
    /// A SQLite server's shared lock on `<database>.lock`, which keeps `statusgate restore` out while
    /// it runs (see `store::backup`).
    db_lock: Option<crate::store::backup::DbLock>,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db_lock = match crate::store::backup::sqlite_file(&config.database_url) {
            Some(file) => Some(crate::store::backup::DbLock::shared(&file).map_err(
                |e| match e {
                    crate::store::backup::LockError::Held(..) => {
                        anyhow::anyhow!("cannot start: {e}; is `statusgate restore` running?")
                    }
                    crate::store::backup::LockError::Io(..) => database_error(&config, e),
                },
            )?),
            None => None,
        };
        let store = connect(&config).await?;
        store.migrate().await?;
        unlock_signing_keys(&config, &store).await?;
        store.listen_for_changes().await;
        let listener = listen(&config).await?;
        if let Some(warning) = config.public_url_mismatch() {
            tracing::warn!("{warning}");
        }
        let health = self_health_url(listener.local_addr()?);
        let monitoring = crate::config::MonitoringSettings {
            own_origin: reqwest::Url::parse(&health)
                .ok()
                .map(|u| u.origin().ascii_serialization()),
            ..config.monitoring()
        };
        let services = Services::new(store.clone(), clock, config.security.clone())
            .with_monitoring(monitoring);
        let demo_account = if config.demo {
            let account = services
                .seed_demo(&config.admin.email, config.admin.password.as_deref())
                .await?;
            // Only the start that created the demo adds its monitors, so restarts change nothing.
            if account.is_some() {
                services.seed_demo_monitors(&health).await?;
            }
            account
        } else {
            None
        };
        let mut config = config;
        // On an ephemeral port with the default public URL, the issuer follows the real address, so a
        // throw-away instance (tests, benchmarks) advertises endpoints that answer.
        if config.bind_addr()?.port() == 0 && config.public_url == Config::default().public_url {
            config.public_url = format!("http://{}", listener.local_addr()?);
        }
        let setup_link = if config.demo {
            None
        } else {
            services
                .issue_setup_token()
                .await?
                .map(|t| format!("{}/setup?token={t}", config.public_url))
        };
        let oauth = crate::oauth::AuthServer::new(
            services.clone(),
            config.oauth.clone(),
            &config.public_url,
        );
        oauth
            .ensure_signing_key()
            .await
            .map_err(|e| anyhow::anyhow!("cannot prepare token signing keys: {e}"))?;
        let public = Arc::new(crate::web::public_cache::PublicCache::new(&config.public));
        let state = AppState::new(crate::state::AppParts {
            public,
            services,
            config: Arc::new(config),
            oauth,
        });
        Ok(Self {
            listener,
            router: build_router(state.clone(), store.clone()),
            state,
            store,
            demo_account,
            setup_link,
            db_lock,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish for
    /// up to `[server] shutdown_grace_secs`, then writes the in-memory tallies and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let upkeep = tokio::spawn(upkeep::run(
            self.state.services.clone(),
            self.state.oauth.clone(),
            self.state.config.retention.clone(),
        ));
        let scheduler = tokio::spawn(scheduler(self.state.services.clone()));
        let delivery = tokio::spawn(delivery(self.state.services.clone()));
        let usage = tokio::spawn(usage_flusher(self.state.services.clone()));
        let grace = Duration::from_secs(self.state.config.server.shutdown_grace_secs);
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!(
                grace_secs = grace.as_secs(),
                "stopping: no new connections; requests in flight may finish"
            );
            let _ = stopping.send(());
        };
        // Admission wraps the router instead of being one of its layers (which axum applies to each
        // route after routing): a request waiting for a turn then holds only its head, not the
        // per-request clones of the route's service stack.
        let admission = admission::Admission::new(&self.state.config.server);
        let app = axum::middleware::from_fn(move |req, next| admission.clone().admit(req, next))
            .layer(self.router);
        let serve = axum::serve(
            self.listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                std::net::SocketAddr,
            >(app),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        // The grace period starts with the signal; requests still running when it ends are dropped.
        let deadline = async move {
            match stopped.await {
                Ok(()) => tokio::time::sleep(grace).await,
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let result = tokio::select! {
            r = serve => r,
            () = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period were dropped");
                Ok(())
            }
        };
        upkeep.abort();
        scheduler.abort();
        delivery.abort();
        usage.abort();
        // Counts tallied since the last flush are written before the pool closes.
        self.state.services.flush_usage().await;
        self.state.services.flush_page_views().await;
        self.state.services.close().await;
        drop(self.db_lock);
        tracing::info!("stopped");
        Ok(result?)
    }
}

pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    crate::store::cache::count_with(crate::store::cache::Counters {
        lookup: |hit| {
            crate::telemetry::metrics::cache_lookup(crate::telemetry::metrics::Cache::Read, hit)
        },
        invalidated: crate::telemetry::metrics::cache_invalidated,
    });
    let opts = ConnectOptions {
        max_connections: config.database.max_connections,
        busy_timeout: Duration::from_millis(config.database.busy_timeout_ms),
    };
    Store::connect(&config.database_url, opts)
        .await
        .map_err(|e| database_error(config, e))
}

/// One line: which database, why it cannot be opened, and the setting that names it.
fn database_error(config: &Config, cause: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot open database {}: {cause} (database_url / STATUSGATE_DATABASE_URL)",
        crate::config::redact_url(&config.database_url)
    )
}

/// Binds `bind`; a port another process holds is said in those words, with the setting to change.
async fn listen(config: &Config) -> anyhow::Result<TcpListener> {
    let addr = config.bind_addr()?;
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("{addr} is already in use (bind / STATUSGATE_BIND)")
        }
        _ => anyhow::anyhow!("cannot listen on {addr}: {e} (bind / STATUSGATE_BIND)"),
    })
}

/// Unlocks the token signing keys in the database (see `store::sealed`), first encrypting any stored in
/// clear and re-encrypting those under `STATUSGATE_KEY_ENCRYPTION_KEY_OLD`. Without the variable a SQLite
/// start keeps a generated key in a file beside the database, and says so once.
pub async fn unlock_signing_keys(config: &Config, store: &Store) -> anyhow::Result<()> {
    let (source, resealed) = store
        .unlock_signing_keys(
            config.oauth.key_encryption_key.clone(),
            config.oauth.key_encryption_key_old.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare token signing keys: {e}"))?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            "encrypted token signing keys stored in clear or under {}",
            crate::config::OLD_KEY_ENV
        );
    }
    if let crate::store::sealed::KeySource::File {
        path,
        created: true,
    } = source
    {
        tracing::warn!(
            file = %path.display(),
            "generated the key that encrypts token signing keys and saved it beside the database; \
             set {} to keep it elsewhere (PostgreSQL requires it)",
            crate::config::KEY_ENV
        );
    }
    Ok(())
}

/// The demo's monitors check this instance's own health endpoint, so they pass on a fresh machine.
fn self_health_url(addr: std::net::SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!(
        "http://{}/mcp/health",
        std::net::SocketAddr::new(ip, addr.port())
    )
}

/// Runs due monitor checks every tick. Instances compete for each due run through a compare-and-set in
/// the database, so adding instances never runs a check twice. Old events are pruned every ten minutes.
async fn scheduler(services: Services) {
    let every = Duration::from_millis(services.monitoring.monitors.scheduler_tick_ms);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        if let Err(e) = services.run_due_monitors().await {
            tracing::warn!(error = %e, "monitor scheduler step failed");
        }
        if last_prune.is_none_or(|t| t.elapsed() > Duration::from_secs(600)) {
            last_prune = Some(std::time::Instant::now());
            if let Err(e) = services.prune_monitor_events().await {
                tracing::warn!(error = %e, "pruning monitor events failed");
            }
        }
    }
}

/// Starts due deliveries every tick without waiting for earlier ones, within the dispatcher's slots and
/// per-host budgets; claims are leases in the database, shared by all instances. Aborting this task
/// aborts its deliveries, whose leases then lapse for another worker.
async fn delivery(services: Services) {
    let every = Duration::from_millis(services.monitoring.delivery.tick_ms);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dispatcher = crate::service::dispatch::Dispatcher::new(services);
    loop {
        tick.tick().await;
        if let Err(e) = dispatcher.dispatch().await {
            tracing::warn!(error = %e, "notification delivery step failed");
        }
    }
}

/// Writes connection usage and page-view counts every few seconds: one small write per active
/// connection or viewed page per flush, never one per request.
async fn usage_flusher(services: Services) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        services.flush_usage().await;
        services.flush_page_views().await;
    }
}
