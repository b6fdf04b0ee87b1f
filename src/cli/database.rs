//! `statusgate backup`, `restore` and `check`: the database's safety net, run beside a live server.

use std::path::Path;

use super::{runtime, usage, Failure};
use crate::config::{redact_url, Config};
use crate::store::backup::{self, Health, LockError, RestoreError};

/// Exit code of a PostgreSQL backup request: nothing was done, the command to use was printed.
const USE_PG_DUMP: u8 = 2;

pub async fn backup(config: &Config, to: &Path) -> Result<(), Failure> {
    let Some(db) = backup::sqlite_file(&config.database_url) else {
        println!(
            "PostgreSQL databases are backed up with pg_dump, e.g.:\n  \
             pg_dump --format=custom --file=statusgate.dump '{}'",
            redact_url(&config.database_url)
        );
        return Err(Failure {
            code: USE_PG_DUMP,
            line: "backup --to works on SQLite only; use pg_dump (above)".into(),
        });
    };
    if to.exists() {
        return Err(usage(format!(
            "{} already exists; a backup never overwrites a file",
            to.display()
        )));
    }
    no_database_at(&db).map_err(usage)?;
    let key = crate::store::sealed::key_file_for(&db);
    let key_copy = crate::store::sealed::key_file_for(to);
    if key.exists() && key_copy.exists() {
        return Err(usage(format!(
            "{} already exists; a backup never overwrites a file",
            key_copy.display()
        )));
    }
    let store = crate::app::connect(config)
        .await
        .map_err(|e| runtime(e.to_string()))?;
    store.backup_into(to).await.map_err(|e| {
        runtime(format!(
            "backup failed: {}",
            crate::outbound::error_chain(&e)
        ))
    })?;
    store.close().await;
    let health = backup::inspect_file(to).await.map_err(|e| {
        runtime(format!(
            "cannot check the backup: {}",
            crate::outbound::error_chain(&e)
        ))
    })?;
    if health.integrity != "ok" {
        return Err(runtime(format!(
            "the backup at {} failed its integrity check: {}",
            to.display(),
            health.integrity
        )));
    }
    println!(
        "backed up {} to {} (integrity ok)",
        db.display(),
        to.display()
    );
    if key.exists() {
        crate::store::files::copy_private(&key, &key_copy)
            .map_err(|e| runtime(format!("cannot copy the key file {}: {e}", key.display())))?;
        println!(
            "copied the signing-key encryption key to {} (keep it with the backup, and private)",
            key_copy.display()
        );
    }
    Ok(())
}

pub async fn restore(config: &Config, from: &Path) -> Result<(), Failure> {
    let Some(db) = backup::sqlite_file(&config.database_url) else {
        return Err(usage(
            "restore --from works on SQLite only; restore PostgreSQL with pg_restore",
        ));
    };
    if !from.is_file() {
        return Err(usage(format!("no backup file at {}", from.display())));
    }
    if same_file(from, &db) {
        return Err(usage("the backup is the database itself"));
    }
    let health = backup::inspect_file(from).await.map_err(|e| {
        usage(format!(
            "{} cannot be restored: {}",
            from.display(),
            crate::outbound::error_chain(&e)
        ))
    })?;
    if health.integrity != "ok" {
        return Err(usage(format!(
            "{} failed its integrity check: {}",
            from.display(),
            health.integrity
        )));
    }
    if let Some(v) = health.unknown().first() {
        return Err(usage(format!(
            "{} has migration {v}, which this statusgate does not know (a newer version made it)",
            from.display()
        )));
    }
    let note = backup::restore_file(from, &db).await.map_err(|e| match e {
        RestoreError::Lock(LockError::Held(..)) => runtime(format!(
            "a statusgate server is using {}; stop it first",
            db.display()
        )),
        kept @ RestoreError::Kept(_) => usage(kept.to_string()),
        other => runtime(other.to_string()),
    })?;
    println!("restored {} from {}", db.display(), from.display());
    let (kept, kept_key) = backup::kept_paths(&db);
    if kept.exists() {
        println!("the replaced database is kept as {}", kept.display());
    }
    if kept_key.exists() {
        println!("its key file is kept as {}", kept_key.display());
    }
    if let Some(note) = note {
        println!("{note}");
    }
    if !health.pending().is_empty() {
        println!("the next start applies the migrations the backup lacks");
    }
    Ok(())
}

pub async fn check(config: &Config) -> Result<(), Failure> {
    // Connecting would create the file (and its folder), so a mistyped path would "check" an empty
    // database it just made.
    if let Some(db) = backup::sqlite_file(&config.database_url) {
        no_database_at(&db).map_err(runtime)?;
    }
    let store = crate::app::connect(config)
        .await
        .map_err(|e| runtime(e.to_string()))?;
    let health = store.health().await.map_err(|e| {
        runtime(format!(
            "check failed: {}",
            crate::outbound::error_chain(&e)
        ))
    })?;
    store.close().await;
    print_health(config, &health);
    if health.is_ok() {
        Ok(())
    } else {
        Err(runtime("database is not OK (see above)"))
    }
}

fn print_health(config: &Config, h: &Health) {
    let list = |v: &[i64]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        }
    };
    println!("database:   {}", redact_url(&config.database_url));
    println!("integrity:  {}", h.integrity);
    println!(
        "migrations: {} of {} applied; pending: {}; unknown to this version: {}",
        h.applied.len(),
        h.known.len(),
        list(&h.pending()),
        list(&h.unknown())
    );
}

/// Refuses a SQLite path with no file: backup and check read a database, they never make one.
fn no_database_at(db: &Path) -> Result<(), String> {
    if db.is_file() {
        Ok(())
    } else {
        Err(format!(
            "no database at {} (database_url / STATUSGATE_DATABASE_URL; `statusgate migrate` creates one)",
            db.display()
        ))
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
