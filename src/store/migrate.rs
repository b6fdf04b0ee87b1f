//! A small migrator over embedded SQL files. The two folders hold the same versions; a test checks it.
//! Concurrent starts are serialised: an advisory lock on PostgreSQL, `begin immediate` on SQLite.

use sqlx::{Acquire, Executor, Row};

use super::{Backend, Result, Store, StoreError};
use crate::clock::{to_millis, Clock, SystemClock};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $dir, "/", $name, ".sql")),
        }),*]
    };
}

#[rustfmt::skip]
pub const SQLITE: &[Migration] = migrations!("sqlite":
    1 "0001_foundation",
    2 "0002_oauth",
    3 "0003_monitors",
    4 "0004_grant_usage",
    5 "0005_drafts",
    7 "0007_client_policy",
    8 "0008_client_owner",
    11 "0011_login_attempts",
    12 "0012_page_settings",
    13 "0013_members",
    14 "0014_setup_token",
    15 "0015_password_resets",
    18 "0018_webhook_resubscribe",
    22 "0022_used_confirmations",
    23 "0023_id_jag",
);
#[rustfmt::skip]
pub const POSTGRES: &[Migration] = migrations!("postgres":
    1 "0001_foundation",
    2 "0002_oauth",
    3 "0003_monitors",
    4 "0004_grant_usage",
    5 "0005_drafts",
    7 "0007_client_policy",
    8 "0008_client_owner",
    11 "0011_login_attempts",
    12 "0012_page_settings",
    13 "0013_members",
    14 "0014_setup_token",
    15 "0015_password_resets",
    18 "0018_webhook_resubscribe",
    22 "0022_used_confirmations",
    23 "0023_id_jag",
);

const LOCK_KEY: i64 = 0x0053_4741_5445; // "SGATE"

const CREATE_TABLE: &str = "create table if not exists schema_migrations (
    version bigint primary key, name text not null, applied_at bigint not null)";

/// Versions this build knows for `backend`, in order.
pub fn known(backend: Backend) -> Vec<i64> {
    let list = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    list.iter().map(|m| m.version).collect()
}

/// Versions recorded as applied in the database (empty when it was never migrated).
pub async fn applied(store: &Store) -> Result<Vec<i64>> {
    let exists = match store.backend {
        Backend::Sqlite => {
            "select count(*) as n from sqlite_master where type = 'table' and name = 'schema_migrations'"
        }
        Backend::Postgres => {
            "select count(*) as n from information_schema.tables where table_name = 'schema_migrations'
             and table_schema = current_schema()"
        }
    };
    let n: i64 = sqlx::query(exists)
        .fetch_one(&store.pool)
        .await?
        .try_get("n")?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("select version from schema_migrations order by version")
        .fetch_all(&store.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?)
}

pub async fn run(store: &Store) -> Result<usize> {
    let list = match store.backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let mut conn = store.pool.acquire().await?;
    let conn = conn.acquire().await?;
    match store.backend {
        Backend::Postgres => {
            // The bookkeeping table is created under the lock (in `apply_pending`): two concurrent
            // `create table if not exists` can collide on PostgreSQL.
            sqlx::query("select pg_advisory_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut *conn)
                .await?;
        }
        Backend::Sqlite => {
            conn.execute(sqlx::raw_sql("begin immediate")).await?;
            conn.execute(sqlx::raw_sql(CREATE_TABLE)).await?;
        }
    }
    let outcome = apply_pending(conn, store.backend, list).await;
    let finish = match (store.backend, outcome.is_ok()) {
        (Backend::Postgres, _) => "select pg_advisory_unlock_all()",
        (Backend::Sqlite, true) => "commit",
        (Backend::Sqlite, false) => "rollback",
    };
    conn.execute(sqlx::raw_sql(finish)).await?;
    outcome
}

async fn apply_pending(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    list: &[Migration],
) -> Result<usize> {
    conn.execute(sqlx::raw_sql(CREATE_TABLE)).await?;
    let rows = sqlx::query("select version from schema_migrations")
        .fetch_all(&mut *conn)
        .await?;
    let applied: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    if let Some(unknown) = applied
        .iter()
        .find(|v| !list.iter().any(|m| m.version == **v))
    {
        return Err(StoreError::Corrupt(format!(
            "database has migration {unknown}, which this statusgate does not know: is it older than the database?"
        )));
    }
    let mut count = 0;
    for m in list.iter().filter(|m| !applied.contains(&m.version)) {
        // PostgreSQL runs each migration in its own transaction; SQLite is already inside one.
        if backend == Backend::Postgres {
            conn.execute(sqlx::raw_sql("begin")).await?;
        }
        let step = async {
            conn.execute(sqlx::raw_sql(m.sql)).await?;
            sqlx::query(
                "insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(to_millis(SystemClock.now()))
            .execute(&mut *conn)
            .await?;
            Ok::<_, StoreError>(())
        }
        .await;
        if backend == Backend::Postgres {
            let end = if step.is_ok() { "commit" } else { "rollback" };
            conn.execute(sqlx::raw_sql(end)).await?;
        }
        step?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_have_the_same_migrations() {
        let a: Vec<_> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
        let b: Vec<_> = POSTGRES.iter().map(|m| (m.version, m.name)).collect();
        assert_eq!(a, b);
        let files = |dir: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        assert_eq!(files("migrations/sqlite"), files("migrations/postgres"));
        assert_eq!(files("migrations/sqlite").len(), SQLITE.len());
    }
}
