//! Backups, restores and health checks of the database.
//!
//! A SQLite backup is `VACUUM INTO` a new file: it reads one snapshot of the database (WAL mode lets the
//! server keep writing meanwhile) and writes a compact copy, which is then checked with
//! `integrity_check`. PostgreSQL is backed up with `pg_dump`, which does the same job better.
//!
//! A restore must never swap the file under a running server, whose open connections would keep
//! writing into the replaced file (or worse, into a WAL that no longer matches it). So every server
//! holds a shared `flock` on `<database>.lock` for its whole life, and a restore takes the exclusive
//! lock without waiting: it fails while any server (on this host) holds the shared one. The kernel
//! drops the lock when the process ends, however it ends, so a crashed server never leaves a stale
//! lock behind, as a PID file or a row lease would. A server that starts during a restore finds the
//! exclusive lock and refuses to start.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

use super::{migrate, Backend, Result, Store, StoreError};

/// What `statusgate check` reports.
#[derive(Debug, Clone)]
pub struct Health {
    /// `ok`, or what the integrity check found.
    pub integrity: String,
    /// Migration versions recorded in the database.
    pub applied: Vec<i64>,
    /// Migration versions this build knows.
    pub known: Vec<i64>,
}

impl Health {
    pub fn pending(&self) -> Vec<i64> {
        self.known
            .iter()
            .filter(|v| !self.applied.contains(v))
            .copied()
            .collect()
    }

    /// Applied versions this build does not know: the database is newer than the program.
    pub fn unknown(&self) -> Vec<i64> {
        self.applied
            .iter()
            .filter(|v| !self.known.contains(v))
            .copied()
            .collect()
    }

    pub fn is_ok(&self) -> bool {
        self.integrity == "ok" && self.pending().is_empty() && self.unknown().is_empty()
    }
}

impl Store {
    /// Integrity (SQLite's `integrity_check`; on PostgreSQL, which checks its own pages, that the
    /// database answers) and migration status.
    pub async fn health(&self) -> Result<Health> {
        let integrity = match self.backend {
            Backend::Sqlite => {
                let rows = sqlx::query("pragma integrity_check")
                    .fetch_all(&self.pool)
                    .await?;
                integrity_text(&rows)?
            }
            Backend::Postgres => {
                sqlx::query("select 1").execute(&self.pool).await?;
                "ok".to_owned()
            }
        };
        Ok(Health {
            integrity,
            applied: migrate::applied(self).await?,
            known: migrate::known(self.backend),
        })
    }

    /// Whether every migration this build knows is applied (what readiness needs beyond a reachable
    /// database).
    pub async fn schema_current(&self) -> Result<bool> {
        let applied = migrate::applied(self).await?;
        Ok(migrate::known(self.backend)
            .iter()
            .all(|v| applied.contains(v)))
    }

    /// Writes a consistent copy of this SQLite database to `to`, which must not exist yet.
    pub async fn backup_into(&self, to: &Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Corrupt(
                "backups here are for SQLite only".into(),
            ));
        }
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Corrupt(format!("{} is not a UTF-8 path", to.display())))?;
        // VACUUM INTO takes a file name, not a bound parameter: quote it as an SQL string literal.
        let sql = format!("vacuum into '{}'", target.replace('\'', "''"));
        sqlx::query(&sql).execute(&self.pool).await?;
        Ok(())
    }
}

fn integrity_text(rows: &[super::AnyRow]) -> Result<String> {
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()?;
    Ok(lines.join("; "))
}

/// Checks a SQLite file without changing it: its integrity, and that it is a statusgate database
/// whose migrations this build knows.
pub async fn inspect_file(path: &Path) -> Result<Health> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    let rows = sqlx::query("pragma integrity_check")
        .fetch_all(&mut conn)
        .await?;
    let integrity = integrity_text(&rows)?;
    let tables: i64 = sqlx::query(
        "select count(*) as n from sqlite_master where type = 'table' and name = 'schema_migrations'",
    )
    .fetch_one(&mut conn)
    .await?
    .try_get("n")?;
    if tables == 0 {
        return Err(StoreError::Corrupt(format!(
            "{} is not a statusgate database",
            path.display()
        )));
    }
    let applied = sqlx::query("select version from schema_migrations order by version")
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let _ = conn.close().await;
    Ok(Health {
        integrity,
        applied,
        known: migrate::known(Backend::Sqlite),
    })
}

/// The SQLite file a `sqlite:` URL names; `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    (!memory).then(|| PathBuf::from(path))
}

/// Creates the folder a SQLite database file lives in, when it has one and it is missing. Every
/// command that opens the file (serve, migrate, restore) calls this first, so none of them fails on a
/// fresh checkout for want of `data/`.
pub fn ensure_folder(db: &Path) -> std::io::Result<()> {
    match db.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir),
        None => Ok(()),
    }
}

/// A lock on `<database>.lock`, held until dropped (see the module comment).
#[derive(Debug)]
pub struct DbLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{0} is in use by another statusgate process (lock file {1})")]
    Held(String, String),
    /// The lock file (or its folder) named could not be made or opened.
    #[error("{}", super::connect::io_cause(.0, .1))]
    Io(String, std::io::Error),
}

impl DbLock {
    /// What a server holds: any number of servers may share it.
    pub fn shared(db: &Path) -> std::result::Result<Self, LockError> {
        Self::take(db, true)
    }

    /// What a restore holds: only while no server holds the shared lock.
    pub fn exclusive(db: &Path) -> std::result::Result<Self, LockError> {
        Self::take(db, false)
    }

    fn take(db: &Path, shared: bool) -> std::result::Result<Self, LockError> {
        let path = PathBuf::from(format!("{}.lock", db.display()));
        let shown = path.display().to_string();
        // The lock file sits beside the database, so its folder must exist before either does: a first
        // start with the default `data/statusgate.db` has no `data/` yet.
        ensure_folder(db).map_err(|e| {
            let folder = db.parent().unwrap_or(db).display().to_string();
            LockError::Io(folder, e)
        })?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(shown.clone(), e))?;
        let taken = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match taken {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held(db.display().to_string(), shown)),
            Err(TryLockError::Error(e)) => Err(LockError::Io(shown, e)),
        }
    }
}

/// Replaces the SQLite database at `db` with the checked backup `from`, under the exclusive lock. The
/// replaced file is kept as `<database>.before-restore`; the backup's key file (see `sealed`), when
/// there is one beside it, replaces the database's.
pub fn restore_file(from: &Path, db: &Path) -> std::result::Result<(), RestoreError> {
    let _lock = DbLock::exclusive(db)?;
    let io = |what: &str, e: std::io::Error| RestoreError::Io(format!("{what}: {e}"));
    let staging = PathBuf::from(format!("{}.restoring", db.display()));
    std::fs::copy(from, &staging).map_err(|e| io("cannot copy the backup", e))?;
    File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot sync the copy", e))?;
    if db.exists() {
        let kept = PathBuf::from(format!("{}.before-restore", db.display()));
        std::fs::rename(db, &kept).map_err(|e| io("cannot move the old database aside", e))?;
    }
    // The old database's write-ahead log belongs to the old file; replayed onto the restored one it
    // would corrupt it.
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("cannot remove the old write-ahead log", e)),
        }
    }
    std::fs::rename(&staging, db).map_err(|e| io("cannot move the restored database in", e))?;
    let key = super::sealed::key_file_for(from);
    if key.exists() {
        std::fs::copy(&key, super::sealed::key_file_for(db))
            .map_err(|e| io("cannot copy the backup's key file", e))?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{0}")]
    Io(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_lock_keeps_out_an_exclusive_one_and_ends_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let a = DbLock::shared(&db).unwrap();
        let b = DbLock::shared(&db).unwrap();
        assert!(matches!(DbLock::exclusive(&db), Err(LockError::Held(..))));
        drop(a);
        assert!(DbLock::exclusive(&db).is_err());
        drop(b);
        let x = DbLock::exclusive(&db).unwrap();
        assert!(DbLock::shared(&db).is_err());
        drop(x);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/s.db?mode=rwc"),
            Some(PathBuf::from("data/s.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x@h/db"), None);
    }
}
