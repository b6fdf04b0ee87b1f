//! `statusgate backup`, `restore` and `check`, run as the real binary beside a real server, and
//! `/readyz`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, TestDb};

/// Runs the binary against `db_url`; answers (exit code, stdout, stderr).
async fn statusgate(db_url: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .args(args)
        .env("STATUSGATE_DATABASE_URL", db_url)
        .env("STATUSGATE_DEMO", "false")
        .env("STATUSGATE_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .expect("run statusgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn load_orgs(url: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("select slug from orgs where slug like 'load-%'")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_write_acknowledged_before_it() {
    // The database lives in a folder of this test's, so it outlives the server.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/live.db", dir.path().display());
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let live = url.clone();
    let app = TestApp::spawn_with(
        db,
        move |c| c.database_url = live,
        Arc::new(statusgate::clock::SystemClock),
    )
    .await;

    // Writes keep arriving while the backup runs; `acked` counts those the server confirmed.
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (services, acked, stop) = (app.services.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let slug = format!("load-{i}");
                services.create_org(&slug, &slug).await.expect("write");
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let file = dir.path().join("backup.db");
    let before = acked.load(Ordering::SeqCst);
    let (code, out, err) = statusgate(&url, &["backup", "--to", file.to_str().unwrap()]).await;
    let during = acked.load(Ordering::SeqCst);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("integrity ok"), "{out}");
    assert!(during > before, "writes went on while the backup ran");

    // The same file again is refused, with one line.
    let (code, _, err) = statusgate(&url, &["backup", "--to", file.to_str().unwrap()]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("already exists") && err.lines().count() == 1,
        "{err}"
    );

    // The live database cannot be replaced under the running server.
    let (code, _, err) = statusgate(&url, &["restore", "--from", file.to_str().unwrap()]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("stop it first") && err.lines().count() == 1,
        "{err}"
    );

    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();

    // Restored elsewhere, every write acknowledged before the backup began is there.
    let target = format!("sqlite://{}/restored.db", dir.path().display());
    let (code, out, err) =
        statusgate(&target, &["restore", "--from", file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}{err}");
    let restored = load_orgs(&target).await;
    for i in 0..before {
        assert!(
            restored.contains(&format!("load-{i}")),
            "load-{i} is missing"
        );
    }
    let (code, out, err) = statusgate(&target, &["check"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("integrity:  ok") && out.contains("pending: none"),
        "{out}"
    );

    // Once the server stops, the backup can replace its database too.
    app.stop().await;
    let (code, _, err) = statusgate(&url, &["restore", "--from", file.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(load_orgs(&url).await.len() >= before);
}

#[tokio::test]
async fn restore_refuses_what_is_not_a_statusgate_backup() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/live.db", dir.path().display());
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just text").unwrap();
    let (code, _, err) = statusgate(&url, &["restore", "--from", junk.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.lines().count() == 1 && err.contains("cannot be restored"),
        "{err}"
    );

    // A SQLite file that never held statusgate.
    let other = format!("sqlite://{}/other.db?mode=rwc", dir.path().display());
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&other).await.unwrap();
        sqlx::query("create table t (x bigint)")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let path = dir.path().join("other.db");
    let (code, _, err) = statusgate(&url, &["restore", "--from", path.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a statusgate database"), "{err}");
    let missing = dir.path().join("missing.db");
    let (code, _, err) = statusgate(&url, &["restore", "--from", missing.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(!dir.path().join("live.db").exists(), "nothing was changed");
}

#[tokio::test]
async fn a_postgres_backup_names_pg_dump_and_exits_2() {
    let url = "postgres://sg:hunter2@db.internal:5432/statusgate";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.db");
    let (code, out, err) = statusgate(url, &["backup", "--to", file.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("pg_dump") && out.contains("sg:[redacted]@db.internal"),
        "{out}"
    );
    assert!(!out.contains("hunter2") && !err.contains("hunter2"));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!file.exists());
}

both_backends!(
    check_and_readiness_follow_the_schema_and_the_database,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let ready = |app: &TestApp| {
            let url = format!("{}/readyz", app.base);
            async move { reqwest::get(url).await.unwrap().status().as_u16() }
        };
        assert_eq!(ready(&app).await, 200);
        let (code, out, err) = statusgate(&app.db.url, &["check"]).await;
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("integrity:  ok") && out.contains("pending: none"),
            "{out}"
        );

        // A migration this build needs is missing: not ready, and check says which.
        sqlx::query("delete from schema_migrations where version = 14")
            .execute(app.store.pool())
            .await
            .unwrap();
        assert_eq!(ready(&app).await, 503);
        let (code, out, err) = statusgate(&app.db.url, &["check"]).await;
        assert_eq!(code, 1, "{out}{err}");
        assert!(out.contains("pending: 14"), "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");

        // The database gone: not ready, while /mcp/health keeps answering (its own 503).
        app.store.close().await;
        assert_eq!(ready(&app).await, 503);
        let health = reqwest::get(format!("{}/mcp/health", app.base))
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 503);
        app.stop().await;
    }
);
