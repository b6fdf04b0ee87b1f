//! A newcomer's first start: the real binary in an empty folder holding only the repository's
//! `config.toml`, with no `STATUSGATE_*` variable but the bind address (what `cargo run` on a fresh
//! clone does), and the database commands on a database whose folder does not exist yet.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{browser, csrf_in, Browser};

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary with every `STATUSGATE_*` variable (and `RUST_LOG`) of the test's environment removed,
/// run in `dir`.
pub(crate) fn bare(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_statusgate"));
    c.current_dir(dir).env_remove("RUST_LOG");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STATUSGATE_") {
            c.env_remove(name);
        }
    }
    c
}

/// A fresh folder with a copy of the repository's `config.toml` and nothing else.
fn fresh_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    std::fs::copy(shipped, dir.path().join("config.toml")).unwrap();
    dir
}

/// A started server: the process, its address, and what it printed on standard output.
struct Started {
    child: Child,
    addr: std::net::SocketAddr,
    printed: Vec<String>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `statusgate` (no subcommand, as `cargo run` does) in `dir` on a free port, with `extra`
/// variables; waits until it printed its last start-up line.
fn start(dir: &Path, extra: &[(&str, &str)], last_line: &str) -> Started {
    let port = free_port();
    let mut cmd = bare(dir);
    cmd.env("STATUSGATE_BIND", format!("127.0.0.1:{port}"))
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let logged = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = logged.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line.contains(last_line);
                printed.push(line);
                if done {
                    break;
                }
            }
            Err(_) => {
                let status = child.try_wait().unwrap();
                let logged = logged.lock().unwrap();
                panic!("no `{last_line}` line (exit {status:?}); printed: {printed:?}; logged: {logged}");
            }
        }
    }
    Started {
        child,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        printed,
    }
}

/// The path and query of the URL that follows `marker` in one of the printed lines.
fn printed_path(printed: &[String], marker: &str) -> String {
    let line = printed
        .iter()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line with {marker}: {printed:?}"));
    let url = line
        .split_whitespace()
        .find(|w| w.contains(marker))
        .unwrap();
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme[after_scheme.find('/').unwrap()..].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_config_starts_in_an_empty_folder_and_the_printed_password_signs_in() {
    let dir = fresh_folder();
    let server = start(dir.path(), &[], "sign in at");
    assert!(
        dir.path().join("data/statusgate.db").is_file(),
        "the default database and its folder were created"
    );
    let b = Browser {
        addr: server.addr,
        client: browser(),
    };
    assert_eq!(b.get("/mcp/health").await.status(), 200);
    assert_eq!(b.get("/status/api").await.status(), 200);

    // "sign in at URL as EMAIL with password PASSWORD (shown once)"
    let line = server
        .printed
        .iter()
        .find(|l| l.contains("with password"))
        .unwrap_or_else(|| panic!("no password printed: {:?}", server.printed));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = |w: &str| words.iter().position(|x| *x == w).unwrap() + 1;
    let (email, password) = (words[at("as")], words[at("password")]);
    let wrong = b.sign_in(email, "not the password").await;
    assert_ne!(wrong.status(), 303, "a wrong password is refused");
    let r = b.sign_in(email, password).await;
    assert_eq!(r.status(), 303, "the printed password signs in");
    assert_eq!(r.headers()["location"], "/admin");
    assert_eq!(b.get("/admin").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_demo_the_printed_setup_link_opens_the_setup_form() {
    let dir = fresh_folder();
    let server = start(dir.path(), &[("STATUSGATE_DEMO", "false")], "/setup?token=");
    let b = Browser {
        addr: server.addr,
        client: browser(),
    };
    assert_eq!(b.get("/mcp/health").await.status(), 200);
    let link = printed_path(&server.printed, "/setup?token=");
    let r = b.get(&link).await;
    assert_eq!(r.status(), 200, "{link}");
    let html = r.text().await.unwrap();
    assert!(csrf_in(&html).is_some(), "a form: {html}");
    assert!(
        html.contains("name=\"org_slug\""),
        "the set-up form: {html}"
    );
    let r = b.get("/setup?token=not-the-token").await;
    assert_ne!(r.status(), 200, "only the printed token opens it");
}

/// Runs a database command against `url` in `dir`; answers (exit code, stdout, stderr).
fn command(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = bare(dir)
        .args(args)
        .env("STATUSGATE_DATABASE_URL", url)
        .env("STATUSGATE_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn database_commands_agree_on_a_database_whose_folder_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path();
    let missing = here.join("not/yet");
    let db = missing.join("sg.db");
    let url = format!("sqlite://{}", db.display());

    // check and backup: plainly no database there, non-zero, and nothing created.
    let (code, out, err) = command(here, &url, &["check"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!("no database at {}", db.display())),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let to = here.join("copy.db");
    let (code, out, err) = command(here, &url, &["backup", "--to", to.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!("no database at {}", db.display())),
        "{err}"
    );
    assert!(
        !here.join("not").exists(),
        "check and backup create nothing"
    );
    assert!(!to.exists());

    // migrate creates the folder and the database; check and backup then agree it is there.
    let (code, out, err) = command(here, &url, &["migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(db.is_file());
    let (code, out, err) = command(here, &url, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("integrity:  ok"), "{out}");
    let (code, out, err) = command(here, &url, &["backup", "--to", to.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    // restore into another database whose folder does not exist yet creates it.
    let other = here.join("elsewhere/deeper/sg.db");
    let other_url = format!("sqlite://{}", other.display());
    let (code, out, err) = command(
        here,
        &other_url,
        &["restore", "--from", to.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(other.is_file());
    let (code, out, err) = command(here, &other_url, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
}
