//! Storage: one pool over SQLite or PostgreSQL through sqlx's `Any` driver, one SQL text per query
//! (portable `$N` placeholders), per-backend DDL in `migrations/{sqlite,postgres}`. Rows map to domain
//! records at this edge. The few places the engines differ are in this file.

mod accounts;
mod actions;
pub mod analytics;
pub mod api_keys;
mod audit;
pub mod backup;
pub mod cache;
mod confirmations;
pub mod connect;
mod connections;
mod drafts;
mod edits;
pub mod files;
mod incidents;
mod maintenances;
pub mod members;
pub mod migrate;
mod monitors;
pub mod oauth;
mod oauth_tokens;
mod outbox;
mod pages;
mod password_resets;
pub mod retention;
pub mod sealed;
pub mod sessions;
mod setup;
mod signing_keys;
mod subscribers;
mod trusted_issuers;
mod usage;

use std::sync::Arc;
use std::{path::Path, str::FromStr, time::Duration};

pub use sqlx::any::AnyRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::AuditRecord;
pub use subscribers::SubscriberCounts;

/// A write transaction. It derefs to the connection, so queries run on `&mut **tx` as usual. Committing
/// one that may have changed cached rows invalidates the read cache (and, on PostgreSQL, tells the other
/// instances) before `commit` returns.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    /// Whether committing must invalidate the read cache.
    changes_cached: bool,
    store: Store,
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl Tx {
    /// Marks this transaction as changing cached rows (a no-op unless it was opened untracked).
    pub fn touches_cached(&mut self) {
        self.changes_cached = true;
    }

    pub async fn commit(mut self) -> std::result::Result<(), sqlx::Error> {
        if !self.changes_cached {
            return self.inner.commit().await;
        }
        let mut notice = None;
        if self.store.backend == Backend::Postgres {
            // Delivered to every listener when, and only if, this transaction commits.
            let (payload, n) = self.store.cache.next_notice(&self.store.instance);
            sqlx::query("select pg_notify($1, $2)")
                .bind(cache::CHANNEL)
                .bind(payload)
                .execute(&mut *self.inner)
                .await?;
            notice = Some(n);
        }
        let done = self.inner.commit().await;
        self.store.cache.invalidate();
        if let (Ok(()), Some(n)) = (&done, notice) {
            self.store.cache.acknowledged(n).await;
        }
        done
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error")]
    Backend(#[source] sqlx::Error),
    /// The database could not be opened; the text is the cause (see `connect.rs`).
    #[error("{0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for StoreError {
    /// Constraint violations are mapped by kind, not by name: names differ between engines.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                Self::Conflict
            }
            _ => Self::Backend(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A moment's view of the read pool, for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where transactions run. On SQLite a one-connection pool: writers queue here, in order and
    /// without sleeping, instead of colliding on the database lock and backing off in the busy
    /// handler. On PostgreSQL the same pool as everything else.
    writer: AnyPool,
    backend: Backend,
    /// Cached reads; see `cache.rs`.
    pub(crate) cache: Arc<cache::ReadCache>,
    /// Names this process in change notifications, so it skips its own.
    instance: Arc<str>,
    url: Arc<str>,
    /// Seals and opens the signing keys; set once the keys are unlocked at start-up.
    sealer: Arc<std::sync::RwLock<Option<Arc<sealed::Sealer>>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

pub struct ConnectOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
}

impl Store {
    /// Connects to `url`. A SQLite file and its folder are created on first use; every SQLite connection
    /// gets WAL, foreign keys and a busy timeout.
    pub async fn connect(url: &str, opts: ConnectOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_url(url)?)
        } else {
            (Backend::Postgres, url.to_owned())
        };
        let connect =
            AnyConnectOptions::from_str(&url).map_err(|e| connect::unavailable(&e, &url))?;
        connect::probe(&connect, &url).await?;
        let busy_ms = opts.busy_timeout.as_millis();
        let options = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            let pragmas = format!(
                                "pragma journal_mode = wal; pragma foreign_keys = on; \
                                 pragma busy_timeout = {busy_ms}; pragma synchronous = normal;"
                            );
                            conn.execute(sqlx::raw_sql(&pragmas)).await?;
                        }
                        Ok(())
                    })
                })
        };
        let pool = options(opts.max_connections)
            .connect_with(connect.clone())
            .await
            .map_err(|e| connect::unavailable(&e, &url))?;
        let writer = match backend {
            Backend::Sqlite => options(1)
                .connect_with(connect)
                .await
                .map_err(|e| connect::unavailable(&e, &url))?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
            // On PostgreSQL nothing is cached until a listener hears other instances' writes.
            cache: cache::ReadCache::new(backend == Backend::Sqlite),
            instance: crate::ids::random_hex(8).into(),
            url: url.into(),
            sealer: Arc::default(),
        })
    }

    /// On PostgreSQL, starts listening for other instances' writes and waits (a bounded time) until
    /// caching is on; until then, and whenever the listener is lost, every read goes to the database.
    /// On SQLite, where one process owns the file, caching is on from the start.
    pub async fn listen_for_changes(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        tokio::spawn(cache::listen(
            self.url.to_string(),
            self.cache.clone(),
            self.instance.clone(),
        ));
        for _ in 0..100 {
            if self.cache.enabled() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The read cache's current generation: it moves whenever every cached entry is dropped (tests and
    /// diagnostics compare two readings).
    pub fn cache_generation(&self) -> cache::Generation {
        self.cache.generation()
    }

    /// Something cached was changed outside a transaction: invalidate here and tell other instances.
    pub(crate) async fn changed(&self) -> Result<()> {
        self.cache.invalidate();
        if self.backend == Backend::Postgres {
            let (payload, n) = self.cache.next_notice(&self.instance);
            sqlx::query("select pg_notify($1, $2)")
                .bind(cache::CHANNEL)
                .bind(payload)
                .execute(&self.pool)
                .await?;
            self.cache.acknowledged(n).await;
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections the read pool holds, how many are idle, and its ceiling.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A write transaction. Do not open a second one while holding one: on SQLite they queue.
    /// Committing it invalidates the read cache; use [`Store::begin_untracked`] on hot paths that
    /// write no cached table.
    /// A secret for `purpose` shared by every instance (derived from the key that seals the signing
    /// keys); `None` before the keys are unlocked at start-up.
    pub fn derived_key(&self, purpose: &str) -> Option<[u8; 32]> {
        let sealer = self.sealer.read().unwrap_or_else(|p| p.into_inner());
        sealer.as_ref().and_then(|s| s.derive(purpose))
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx {
            inner: self.writer.begin().await?,
            changes_cached: true,
            store: self.clone(),
        })
    }

    /// A write transaction that leaves the read cache alone unless a store function inside it marks
    /// it ([`Tx::touches_cached`]): for refresh rotation, code exchange and usage counts.
    pub async fn begin_untracked(&self) -> Result<Tx> {
        Ok(Tx {
            inner: self.writer.begin().await?,
            changes_cached: false,
            store: self.clone(),
        })
    }

    /// Applies pending migrations; safe to run from several processes at once.
    pub async fn migrate(&self) -> Result<usize> {
        migrate::run(self).await
    }

    /// Answers whether the database is reachable right now.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// `sqlite://path` with the folder created and `mode=rwc` so the file is created too.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !path.is_empty() && path != ":memory:" {
        let folder = Path::new(path).parent().unwrap_or(Path::new(path));
        backup::ensure_folder(Path::new(path)).map_err(|e| {
            StoreError::Unavailable(connect::io_cause(&folder.display().to_string(), &e))
        })?;
        // SQLite would create the file 0644 (less the umask); made here first, it is private, and the
        // WAL and shared-memory files SQLite adds beside it take the database file's mode.
        let creates = !query.contains("mode=") || query.contains("mode=rwc");
        if creates && !query.contains("mode=memory") {
            files::ensure_private(Path::new(path))
                .map_err(|e| StoreError::Unavailable(connect::io_cause(path, &e)))?;
        }
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Reading helpers shared by the row mappers.
pub(crate) mod row {
    use sqlx::Row;
    use time::OffsetDateTime;

    use super::{AnyRow, StoreError};
    use crate::clock::from_millis;

    pub fn text(r: &AnyRow, col: &str) -> Result<String, StoreError> {
        Ok(r.try_get::<String, _>(col)?)
    }

    pub fn opt_text(r: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
        Ok(r.try_get::<Option<String>, _>(col)?)
    }

    pub fn int(r: &AnyRow, col: &str) -> Result<i64, StoreError> {
        Ok(r.try_get::<i64, _>(col)?)
    }

    pub fn flag(r: &AnyRow, col: &str) -> Result<bool, StoreError> {
        Ok(int(r, col)? != 0)
    }

    pub fn instant(r: &AnyRow, col: &str) -> Result<OffsetDateTime, StoreError> {
        Ok(from_millis(int(r, col)?))
    }

    pub fn opt_instant(r: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(from_millis))
    }

    /// Parses an enum column with the domain's own parser.
    pub fn parsed<T, E: std::fmt::Display>(
        r: &AnyRow,
        col: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        let raw = text(r, col)?;
        parse(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_gain_create_mode() {
        let u = sqlite_url("sqlite::memory:");
        assert!(u.is_ok_and(|u| u.ends_with("?mode=rwc")));
        let u = sqlite_url("sqlite://x.db?mode=ro");
        assert!(u.is_ok_and(|u| u == "sqlite://x.db?mode=ro"));
    }
}
