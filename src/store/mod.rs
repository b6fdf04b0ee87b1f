//! Storage: one pool over SQLite or PostgreSQL through sqlx's `Any` driver, one SQL text per query
//! (portable `$N` placeholders), per-backend DDL in `migrations/{sqlite,postgres}`. Rows map to domain
//! records at this edge. The few places the engines differ are in this file.

mod accounts;
mod actions;
pub mod analytics;
pub mod api_keys;
mod audit;
mod drafts;
mod edits;
mod incidents;
mod maintenances;
mod migrate;
mod monitors;
pub mod oauth;
mod oauth_tokens;
mod outbox;
mod pages;
pub mod sessions;
mod usage;

use std::{path::Path, str::FromStr, time::Duration};

pub use sqlx::any::AnyRow;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::AuditRecord;
pub use drafts::DraftKind;
pub use maintenances::MaintenanceFilter;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

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

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where transactions run. On SQLite a one-connection pool: writers queue here, in order and
    /// without sleeping, instead of colliding on the database lock and backing off in the busy
    /// handler. On PostgreSQL the same pool as everything else.
    writer: AnyPool,
    backend: Backend,
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
        let connect = AnyConnectOptions::from_str(&url).map_err(StoreError::Backend)?;
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
            .await?;
        let writer = match backend {
            Backend::Sqlite => options(1).connect_with(connect).await?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A write transaction. Do not open a second one while holding one: on SQLite they queue.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.writer.begin().await?)
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
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(sqlx::Error::Io(e)))?;
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
