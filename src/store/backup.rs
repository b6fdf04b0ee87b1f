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
        // VACUUM INTO writes into an empty file as into a missing one; made here first, the backup is
        // private (SQLite would make it 0644) and a file that appeared meanwhile is never written over.
        super::files::create_private(to).map_err(|e| StoreError::Backend(sqlx::Error::Io(e)))?;
        // VACUUM INTO takes a file name, not a bound parameter: quote it as an SQL string literal.
        let sql = format!("vacuum into '{}'", target.replace('\'', "''"));
        if let Err(e) = sqlx::query(&sql).execute(&self.pool).await {
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
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
        super::files::ensure_private(&path).map_err(|e| LockError::Io(shown.clone(), e))?;
        let file = OpenOptions::new()
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

/// Where a restore keeps what it replaced: `<database>.before-restore` and
/// `<database>.before-restore.key`.
pub fn kept_paths(db: &Path) -> (PathBuf, PathBuf) {
    let kept = PathBuf::from(format!("{}.before-restore", db.display()));
    let key = PathBuf::from(format!("{}.key", kept.display()));
    (kept, key)
}

/// Replaces the SQLite database at `db` with the checked backup `from`, under the exclusive lock.
///
/// Nothing of the replaced database is lost: after an unclean stop the transactions committed since the
/// last checkpoint live only in its write-ahead log, so that log is checkpointed into the file first,
/// and whatever side files remain move with it. It is kept as `<database>.before-restore`, its key file
/// (see `sealed`) copied to `<database>.before-restore.key`; a restore refuses to run while either is
/// still there from an earlier one. The backup's key file, when there is one beside it, then replaces
/// the database's. Every file written is private. Answers a note for the operator when the old
/// database could not be checkpointed (a damaged file, the usual reason to restore): its log is then
/// kept beside it, for SQLite to replay when the kept file is opened.
pub async fn restore_file(
    from: &Path,
    db: &Path,
) -> std::result::Result<Option<String>, RestoreError> {
    let _lock = DbLock::exclusive(db)?;
    let io = |what: &str, e: std::io::Error| RestoreError::Io(format!("{what}: {e}"));
    let (kept, kept_key) = kept_paths(db);
    for earlier in [&kept, &kept_key] {
        if earlier.exists() {
            return Err(RestoreError::Kept(earlier.display().to_string()));
        }
    }
    let staging = PathBuf::from(format!("{}.restoring", db.display()));
    // A staging copy left by a restore that died half-way is ours to replace.
    match std::fs::remove_file(&staging) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io("cannot remove an old staging copy", e))
        }
        _ => {}
    }
    super::files::copy_private(from, &staging).map_err(|e| io("cannot copy the backup", e))?;
    let mut note = None;
    if db.exists() {
        if let Err(e) = checkpoint(db).await {
            note = Some(format!(
                "the old database could not be checkpointed ({e}); its write-ahead log is kept beside {}",
                kept.display()
            ));
        }
        std::fs::rename(db, &kept).map_err(|e| io("cannot move the old database aside", e))?;
        // Still there only if the checkpoint could not empty them: with the file they belong to,
        // SQLite finds them again when the kept file is opened (replayed onto the restored one they
        // would corrupt it).
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", db.display()));
            match std::fs::rename(&side, format!("{}{suffix}", kept.display())) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io("cannot move the old write-ahead log aside", e))
                }
                _ => {}
            }
        }
    }
    std::fs::rename(&staging, db).map_err(|e| io("cannot move the restored database in", e))?;
    let key = super::sealed::key_file_for(db);
    if key.exists() {
        super::files::copy_private(&key, &kept_key)
            .map_err(|e| io("cannot keep the replaced key file", e))?;
    }
    let backup_key = super::sealed::key_file_for(from);
    if backup_key.exists() {
        // Copied under a temporary name and renamed over the old one (already kept), so the key file
        // is never half-written.
        let tmp = PathBuf::from(format!("{}.restoring", key.display()));
        let _ = std::fs::remove_file(&tmp);
        super::files::copy_private(&backup_key, &tmp)
            .and_then(|()| std::fs::rename(&tmp, &key))
            .map_err(|e| io("cannot copy the backup's key file", e))?;
    }
    Ok(note)
}

/// Moves every committed transaction from the write-ahead log into the database file itself and
/// empties the log (no server is running: the caller holds the exclusive lock).
async fn checkpoint(db: &Path) -> std::result::Result<(), String> {
    let fail = |e: sqlx::Error| e.to_string();
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rw", db.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.map_err(fail)?;
    // One row: busy (1 if the checkpoint could not finish), log frames, frames checkpointed.
    let busy: i64 = sqlx::query("pragma wal_checkpoint(truncate)")
        .fetch_one(&mut conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(fail)?;
    conn.close().await.map_err(fail)?;
    if busy != 0 {
        return Err("another connection holds it".into());
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{0}")]
    Io(String),
    #[error("{0} is kept from an earlier restore; move it somewhere safe first")]
    Kept(String),
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

    #[tokio::test]
    async fn a_damaged_database_is_kept_with_its_log_and_the_backup_goes_in() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        std::fs::write(&db, b"damaged beyond reading").unwrap();
        let wal = dir.path().join("s.db-wal");
        std::fs::write(&wal, b"the last writes").unwrap();
        let backup = dir.path().join("b.db");
        std::fs::write(&backup, b"the backup").unwrap();

        let note = restore_file(&backup, &db).await.unwrap();
        assert!(note.is_some_and(|n| n.contains("could not be checkpointed")));
        assert_eq!(std::fs::read(&db).unwrap(), b"the backup");
        let (kept, _) = kept_paths(&db);
        assert_eq!(std::fs::read(&kept).unwrap(), b"damaged beyond reading");
        let kept_wal = PathBuf::from(format!("{}-wal", kept.display()));
        assert_eq!(std::fs::read(kept_wal).unwrap(), b"the last writes");
        assert!(!wal.exists());
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
