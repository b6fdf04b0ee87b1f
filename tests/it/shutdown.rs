//! Stopping the real binary with SIGTERM: the listener closes at once, a request already being served
//! finishes, the usage tallies reach the database, and the process exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::statusgate;

#[test]
fn sigterm_finishes_in_flight_requests_flushes_tallies_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/stop.db", dir.path().display());
    let args = [
        "user",
        "create",
        "--email",
        "o@stop.test",
        "--password-stdin",
        "--org",
        "stop",
        "--role",
        "owner",
        "--create-org",
    ];
    let (code, _, err) = statusgate(&url, &args, "long enough pw\n");
    assert_eq!(code, 0, "{err}");
    let key_args = [
        "key", "create", "--org", "stop", "--name", "k", "--scope", "read",
    ];
    let (code, key, err) = statusgate(&url, &key_args, "");
    assert_eq!(code, 0, "{err}");
    let key = key.trim().to_owned();

    let mut server = Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .arg("serve")
        .env("STATUSGATE_DATABASE_URL", &url)
        .env("STATUSGATE_BIND", "127.0.0.1:0")
        .env("STATUSGATE_DEMO", "false")
        .env("STATUSGATE_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_owned();
        }
    };

    // One API call: its key's use is tallied in memory, written every ten seconds or on stop.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /api/v1/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    // A registration whose body arrives slowly is in flight when the signal comes.
    let body = r#"{"client_name":"slow","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}"#;
    let mut slow = TcpStream::connect(&addr).unwrap();
    write!(
        slow,
        "POST /mcp/oauth/register HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    // New connections are refused from now on.
    let since = Instant::now();
    while TcpStream::connect(&addr).is_ok() {
        assert!(since.elapsed() < Duration::from_secs(5), "still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }

    slow.write_all(&body.as_bytes()[10..]).unwrap();
    let mut reply = String::new();
    slow.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");

    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let used = statusgate(&url, &["check"], "");
    assert_eq!(used.0, 0, "{}", used.2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let last_used: Option<i64> = rt.block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("select last_used_at from api_keys")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    });
    assert!(last_used.is_some(), "the key's use was written on stop");
}

/// A request that never finishes does not hold the stop beyond the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_finishes_is_dropped_after_the_grace_period() {
    use tokio::io::AsyncWriteExt;
    let db = crate::helpers::TestDb::new(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let app = crate::helpers::TestApp::spawn_with(
        db,
        |c| c.server.shutdown_grace_secs = 1,
        std::sync::Arc::new(statusgate::clock::SystemClock),
    )
    .await;
    let mut stuck = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /mcp/oauth/register HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{",
        app.addr
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("stopped within the grace period");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "waited for the request: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}
