//! What the real binary tells its operator: one line naming the cause and the setting when it cannot
//! start (database, port), a warning when `bind` and `public_url` disagree, the access log, sqlx kept
//! quiet at `debug`, the graceful stop's two lines, and `config.toml`'s list of variables.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::first_start::{bare, free_port};
use crate::helpers::TEST_ENCRYPTION_KEY;

/// Runs the binary in `dir` with `vars` until it exits; answers (exit code, stderr, how long it took).
fn run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = bare(dir)
        .args(args)
        .env("STATUSGATE_DEMO", "false")
        .env("STATUSGATE_LOG", "warn")
        // Else a first SQLite start warns that it generated a key file: not the line under test.
        .env("STATUSGATE_KEY_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// Asserts a start-up failure: non-zero, one line on stderr, every `needle` in it.
fn fails_with(what: &str, (code, err, _): &(i32, String, Duration), needles: &[&str]) {
    assert_ne!(*code, 0, "{what}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{what}: one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: `{n}` in {err}");
    }
}

#[test]
fn an_unreachable_database_is_named_with_its_cause_and_setting() {
    let dir = tempfile::tempdir().unwrap();
    let setting = "(database_url / STATUSGATE_DATABASE_URL)";

    let port = free_port();
    let url = format!("postgres://u:pw-not-shown@127.0.0.1:{port}/x");
    let r = run(
        dir.path(),
        &["migrate"],
        &[("STATUSGATE_DATABASE_URL", &url)],
    );
    let refused = format!("connection refused at 127.0.0.1:{port}");
    fails_with("refused", &r, &[&refused, setting]);
    assert!(!r.1.contains("pw-not-shown"), "{}", r.1);

    // A server that takes the connection and never answers (as a host behind a dropping firewall).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = silent.local_addr().unwrap();
    let url = format!("postgres://u@{at}/x");
    let r = run(
        dir.path(),
        &["migrate"],
        &[("STATUSGATE_DATABASE_URL", &url)],
    );
    fails_with(
        "silent",
        &r,
        &[&format!("no answer from {at} within 5 s"), setting],
    );
    assert!(r.2 < Duration::from_secs(8), "gave up after {:?}", r.2);
    drop(silent);

    // Even root may not create files in /sys.
    let url = "sqlite:///sys/statusgate-denied.db";
    let denied = "permission denied: /sys/statusgate-denied.db";
    for args in [&["migrate"][..], &["serve"][..]] {
        let r = run(
            dir.path(),
            args,
            &[
                ("STATUSGATE_DATABASE_URL", url),
                ("STATUSGATE_BIND", "127.0.0.1:0"),
            ],
        );
        fails_with(args[0], &r, &[denied, setting]);
    }
}

#[test]
fn a_postgres_role_that_cannot_sign_in_is_named() {
    let Some(pg) = crate::helpers::pg_admin_url() else {
        eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
        return;
    };
    let mut url = url::Url::parse(&pg).unwrap();
    url.set_username("statusgate_no_such_role").unwrap();
    url.set_password(Some("wrong")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        &["migrate"],
        &[("STATUSGATE_DATABASE_URL", url.as_str())],
    );
    fails_with(
        "role",
        &r,
        &[
            "authentication failed for user \"statusgate_no_such_role\"",
            "STATUSGATE_DATABASE_URL",
        ],
    );
}

#[test]
fn a_port_in_use_is_said_in_those_words() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let db = format!("sqlite://{}/sg.db", dir.path().display());
    let r = run(
        dir.path(),
        &["serve"],
        &[("STATUSGATE_DATABASE_URL", &db), ("STATUSGATE_BIND", &at)],
    );
    fails_with(
        "in use",
        &r,
        &[&format!("{at} is already in use (bind / STATUSGATE_BIND)")],
    );
}

/// A running `statusgate serve` whose standard error is collected as it comes.
struct Serving {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Serving {
    fn start(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Self {
        let db = format!("sqlite://{}/sg.db", dir.display());
        let mut child = bare(dir)
            .arg("serve")
            .args(args)
            .env("STATUSGATE_DATABASE_URL", &db)
            .env("STATUSGATE_DEMO", "false")
            .env("STATUSGATE_LOG", "info")
            .env("STATUSGATE_BIND", "127.0.0.1:0")
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                panic!("statusgate exited: {}", stderr.lock().unwrap());
            };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().parse().unwrap();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr,
            stderr,
        }
    }

    /// One GET; answers the status code.
    fn get(&self, path: &str, request_id: &str) -> u16 {
        let mut s = TcpStream::connect(self.addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nx-request-id: {request_id}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        reply
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap()
    }

    /// SIGTERM, then what it wrote to stderr once it exited, and its exit code.
    fn stop(mut self) -> (i32, String) {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        // The reader thread sees the pipe close just after the exit.
        std::thread::sleep(Duration::from_millis(100));
        let text = self.stderr.lock().unwrap().clone();
        (code, text)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn a_bind_port_that_is_not_the_public_urls_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let s = Serving::start(dir.path(), &[("STATUSGATE_BIND", &bind)], &[]);
    let (_, err) = s.stop();
    let warning: Vec<&str> = err.lines().filter(|l| l.contains("`public_url`")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(
        warning[0].contains("WARN")
            && warning[0].contains(&format!("port {port}"))
            && warning[0].contains("port 8080")
            && warning[0].contains("STATUSGATE_PUBLIC_URL"),
        "{err}"
    );

    // Port 0 (tests, throw-away instances), and a public URL that agrees: no warning.
    let dir = tempfile::tempdir().unwrap();
    let (_, err) = Serving::start(dir.path(), &[], &[]).stop();
    assert!(!err.contains("`public_url`"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let public = format!("http://localhost:{port}");
    let vars = [
        ("STATUSGATE_BIND", bind.as_str()),
        ("STATUSGATE_PUBLIC_URL", &public),
    ];
    let (_, err) = Serving::start(dir.path(), &vars, &[]).stop();
    assert!(!err.contains("`public_url`"), "{err}");
}

/// The access log's lines in `err`.
fn access_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| l.contains("statusgate::access"))
        .collect()
}

#[test]
fn each_request_gets_one_access_line_without_its_query_string_and_a_stop_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serving::start(dir.path(), &[], &[]);
    assert_eq!(
        s.get("/status/nope?token=query-secret-1", "req-access-1"),
        404
    );
    assert_eq!(s.get("/mcp/health", "req-access-2"), 200);
    let (code, err) = s.stop();
    assert_eq!(code, 0, "{err}");
    let lines = access_lines(&err);
    assert_eq!(lines.len(), 2, "{err}");
    let first = lines[0];
    for part in [
        "INFO",
        "request_id=\"req-access-1\"",
        "GET",
        "/status/{public_slug}",
        "status=404",
        "duration_ms=",
    ] {
        assert!(first.contains(part), "`{part}` in {first}");
    }
    assert!(lines[1].contains("status=200") && lines[1].contains("/mcp/health"));
    assert!(!err.contains("query-secret-1"), "{err}");
    assert!(!err.contains("/status/nope"), "{err}");

    // The stop: a line when it begins, one when it ends, in that order.
    let begins = err.find("stopping:").unwrap_or_else(|| panic!("{err}"));
    let ends = err.rfind(" stopped").unwrap_or_else(|| panic!("{err}"));
    assert!(begins < ends, "{err}");

    // Off in the file: no line, whatever the filter.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("quiet.toml");
    std::fs::write(&file, "[telemetry]\naccess_log = false\n").unwrap();
    let s = Serving::start(dir.path(), &[], &["--config", file.to_str().unwrap()]);
    assert_eq!(s.get("/mcp/health", "req-access-3"), 200);
    let (_, err) = s.stop();
    assert!(access_lines(&err).is_empty(), "{err}");
    assert!(err.contains("stopping:"), "other info lines stay: {err}");
}

#[test]
fn at_debug_sqlx_statements_stay_off_unless_asked_for() {
    let statements = |err: &str| err.lines().filter(|l| l.contains("sqlx::query")).count();
    let dir = tempfile::tempdir().unwrap();
    // sqlx's statements are nearly all that `debug` adds at start-up: none of them, then all.
    let (_, err) = Serving::start(dir.path(), &[("STATUSGATE_LOG", "debug")], &[]).stop();
    assert_eq!(statements(&err), 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let asked = [("STATUSGATE_LOG", "debug,sqlx=debug")];
    let (_, err) = Serving::start(dir.path(), &asked, &[]).stop();
    assert!(statements(&err) > 0, "asked for: {err}");
}

/// `STATUSGATE_*` names in `text`: an upper-case name after the prefix.
fn names_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("STATUSGATE_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].trim_end_matches('_').to_owned());
        rest = &tail[end..];
    }
    out.remove("STATUSGATE");
    out
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_config_files_header_lists_every_variable_the_server_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The server's variables are read by name, as a quoted literal: `get("STATUSGATE_BIND")`, or a
    // constant such as `KEY_ENV`. statusgate-page-mcp (src/page_mcp, src/bin) is a separate program
    // that reads no config.toml; the README lists its variables.
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut read = std::collections::BTreeSet::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if rel.starts_with("src/page_mcp") || rel.starts_with("src/bin") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("\"STATUSGATE_") {
            let tail = &rest[at + 1..];
            let end = tail
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(tail.len());
            if tail[end..].starts_with('"') {
                read.insert(tail[..end].to_owned());
            }
            rest = &tail[end..];
        }
    }
    let config = std::fs::read_to_string(root.join("config.toml")).unwrap();
    let header: String = config
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let listed = names_in(&header);
    assert!(
        read.contains("STATUSGATE_BIND") && read.len() >= 10,
        "{read:?}"
    );
    assert_eq!(
        listed, read,
        "config.toml's header and the variables the server reads"
    );
}
