//! `statusgate restore` after an unclean stop keeps every acknowledged write, and the files beside a
//! SQLite database (the database, its WAL and shared memory, backups, key files) are private whatever
//! the umask. The real binary throughout, run under `umask 022` as a shell would.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;

/// The binary under `umask 022`, as a login shell starts it.
fn under_umask(db_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_statusgate"))
        .args(args)
        .env("STATUSGATE_DATABASE_URL", db_url)
        .env("STATUSGATE_DEMO", "false")
        .env("STATUSGATE_LOG", "warn")
        .env_remove("STATUSGATE_KEY_ENCRYPTION_KEY")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn run(db_url: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = under_umask(db_url, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// An owner, an organisation `wal` and a write key for it, made by the CLI; answers the key.
fn seed(url: &str) -> String {
    let args = [
        "user",
        "create",
        "--email",
        "o@wal.test",
        "--password-stdin",
        "--org",
        "wal",
        "--role",
        "owner",
        "--create-org",
    ];
    let (code, _, err) = run(url, &args, "long enough pw\n");
    assert_eq!(code, 0, "{err}");
    let args = [
        "key", "create", "--org", "wal", "--name", "k", "--scope", "write",
    ];
    let (code, key, err) = run(url, &args, "");
    assert_eq!(code, 0, "{err}");
    key.trim().to_owned()
}

/// `statusgate serve` on a free port; answers the child and its address.
fn serve(url: &str) -> (Child, String) {
    let mut child = under_umask(url, &["serve"])
        .env("STATUSGATE_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_owned();
        }
    };
    // Keep reading what it prints, so a full pipe never stops it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// Creates page `slug` over REST; true when the server acknowledged it.
async fn create_page(addr: &str, key: &str, slug: &str) -> bool {
    reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/pages"))
        .header("x-statusgate-key", key)
        .json(&json!({ "name": slug, "slug": slug }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
        == 201
}

async fn slugs_in(file: &Path) -> Vec<String> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let slugs = sqlx::query("select slug from pages")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    conn.close().await.unwrap();
    slugs
}

fn wal_of(db: &Path) -> std::path::PathBuf {
    format!("{}-wal", db.display()).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_after_kill_9_keeps_every_acknowledged_write_in_the_replaced_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let url = format!("sqlite://{}", db.display());
    let key = seed(&url);
    let (mut server, addr) = serve(&url);
    assert!(create_page(&addr, &key, "before-backup").await);
    let backup = dir.path().join("backup.db");
    let (code, out, err) = run(&url, &["backup", "--to", backup.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}{err}");
    let live_key = std::fs::read(dir.path().join("live.key")).unwrap();

    let mut acked = Vec::new();
    for i in 0..30 {
        let slug = format!("after-backup-{i}");
        assert!(create_page(&addr, &key, &slug).await, "{slug}");
        acked.push(slug);
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint.
    server.wait().unwrap();
    // What makes this test mean something: the acknowledged writes are only in the log.
    let wal = std::fs::metadata(wal_of(&db)).map(|m| m.len()).unwrap_or(0);
    assert!(wal > 0, "the killed server left its write-ahead log");

    let (code, out, err) = run(&url, &["restore", "--from", backup.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}{err}");
    let kept = dir.path().join("live.db.before-restore");
    let in_kept = slugs_in(&kept).await;
    for slug in &acked {
        assert!(in_kept.contains(slug), "{slug} is not in the kept file");
    }
    assert!(out.contains("live.db.before-restore"), "{out}");
    // The restored database is the backup's: none of the later pages.
    let restored = slugs_in(&db).await;
    assert!(
        restored.contains(&"before-backup".to_owned()),
        "{restored:?}"
    );
    assert!(restored.iter().all(|s| !acked.contains(s)), "{restored:?}");
    // The replaced key file is kept beside it.
    let kept_key = dir.path().join("live.db.before-restore.key");
    assert_eq!(std::fs::read(&kept_key).unwrap(), live_key);

    // A second restore would replace what the first kept: refused, nothing changed.
    let before = std::fs::read(&db).unwrap();
    let (code, _, err) = run(&url, &["restore", "--from", backup.to_str().unwrap()], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("earlier restore") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert_eq!(slugs_in(&kept).await, in_kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_wal_backup_and_key_files_are_private_under_umask_022() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let url = format!("sqlite://{}", db.display());
    let key = seed(&url);
    assert_eq!(mode(&db), 0o600, "the database");

    let (mut server, addr) = serve(&url);
    assert_eq!(mode(&dir.path().join("live.key")), 0o600, "the key file");
    assert!(create_page(&addr, &key, "one").await);
    assert_eq!(mode(&wal_of(&db)), 0o600, "the write-ahead log");
    assert_eq!(
        mode(&dir.path().join("live.db-shm")),
        0o600,
        "the shared memory"
    );
    assert_eq!(mode(&dir.path().join("live.db.lock")), 0o600, "the lock");

    // A backup beside the running server, and its key copy.
    let backup = dir.path().join("backup.db");
    let (code, out, err) = run(&url, &["backup", "--to", backup.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(mode(&backup), 0o600, "the backup");
    assert_eq!(mode(&dir.path().join("backup.key")), 0o600, "the key copy");

    // A key file already where the copy would go is never overwritten, and no backup is made.
    let second = dir.path().join("second.db");
    let theirs = dir.path().join("second.key");
    std::fs::write(&theirs, b"someone else's key\n").unwrap();
    let (code, _, err) = run(&url, &["backup", "--to", second.to_str().unwrap()], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("second.key already exists") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(std::fs::read(&theirs).unwrap(), b"someone else's key\n");
    assert!(!second.exists());

    server.kill().unwrap();
    server.wait().unwrap();
    let (code, out, err) = run(&url, &["restore", "--from", backup.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(mode(&db), 0o600, "the restored database");
    assert_eq!(
        mode(&dir.path().join("live.key")),
        0o600,
        "the restored key"
    );
    assert_eq!(
        mode(&dir.path().join("live.db.before-restore.key")),
        0o600,
        "the kept key"
    );
}
