//! What the public can make the server keep: 10,000 anonymous requests from one address, spread over
//! every anonymous route (pages, feeds, JSON, history with made-up cursors, the sign-in and subscribe
//! forms, authorize with made-up metadata-document URLs, token, register, `/mcp` with forged tokens),
//! against the real binary on the demo database. Afterwards every table has the rows it had, except
//! those a route documents (registrations, within their per-address budget, and the view tallies);
//! the server's resident memory has grown by at most 20 MB; and a signed-in admin's requests made
//! during the storm answered within 100 ms at the 99th percentile.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestDb};

const TOTAL: usize = 10_000;
const WORKERS: usize = 8;
const PASSWORD: &str = "anonymous load owner pw";

// It times an admin's requests, so it runs alone: `.ci/run` and the README's "Tests" run it after the
// suite with `cargo test --test it anonymous_load -- --ignored`.
mod ten_thousand_anonymous_requests_store_nothing_undocumented {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a load test: run alone, after the suite"]
    async fn sqlite() {
        let db = TestDb::new(Backend::Sqlite)
            .await
            .expect("sqlite test database");
        storm(db).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a load test: run alone, after the suite"]
    async fn postgres() {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
            return;
        };
        storm(db).await;
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &TestDb) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .arg("serve")
        .env("STATUSGATE_DATABASE_URL", &db.url)
        .env("STATUSGATE_BIND", "127.0.0.1:0")
        .env("STATUSGATE_DEMO", "true")
        .env("STATUSGATE_ADMIN_PASSWORD", PASSWORD)
        .env("STATUSGATE_LOG", "warn")
        // PostgreSQL instances share one sealing key, given to each; SQLite keeps its own file.
        .env(
            "STATUSGATE_KEY_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env_remove("STATUSGATE_PUBLIC_URL")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start statusgate");
    let mut errors = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let said: Vec<String> = errors.by_ref().map_while(Result::ok).collect();
            panic!("the server stopped before listening: {}", said.join("\n"));
        };
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_owned();
        }
    };
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    std::thread::spawn(move || for _ in errors {});
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

async fn row_counts(db: &TestDb) -> BTreeMap<String, i64> {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
        .await
        .expect("connect for counting");
    let list = match db.backend {
        Backend::Sqlite => {
            "select name from sqlite_master where type = 'table' \
             and name not like 'sqlite_%' and name not like '_sqlx%' and name not like 'schema_%'"
        }
        Backend::Postgres => {
            "select table_name::text from information_schema.tables where table_schema = 'public' \
             and table_type = 'BASE TABLE' and table_name not like '_sqlx%' and table_name not like 'schema_%'"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(list)
        .fetch_all(&mut conn)
        .await
        .expect("tables");
    let mut counts = BTreeMap::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {t}"))
            .fetch_one(&mut conn)
            .await
            .expect("count");
        counts.insert(t, n);
    }
    counts
}

async fn sign_in(base: &str) -> reqwest::Client {
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let html = admin
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login form")
        .text()
        .await
        .expect("body");
    let mut form = crate::oauth::form_fields(&html);
    form.retain(|(k, _)| k != "next");
    form.push(("email".into(), "admin@example.com".into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("next".into(), "/admin".into()));
    let r = admin
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), 303, "the demo owner signs in");
    admin
}

fn forged_token(i: usize) -> String {
    use base64::Engine;
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(format!(
            r#"{{"alg":"HS256","typ":"at+jwt","kid":"forged-{i:06}"}}"#
        )),
        b64(format!(r#"{{"sub":"usr_{i}","exp":4102444800}}"#)),
        b64("not a signature".into())
    )
}

/// The `i`th anonymous request of the mix; every route of the public side, in turn.
fn anonymous(client: &reqwest::Client, base: &str, i: usize) -> reqwest::RequestBuilder {
    let page = format!("{base}/status/api");
    let n = i / 20;
    match i % 20 {
        0 => client.get(&page),
        1 => client.get(format!("{page}/badge.svg")),
        2 => client.get(format!("{page}/history")),
        3 => client.get(format!("{page}/history?after={:064}2.inc_{n}", 0)),
        4 => client.get(format!("{page}/history.atom")),
        5 => client.get(format!("{page}/history.rss")),
        6 => client.get(format!("{page}/maintenances.ics")),
        7 => client.get(format!("{page}/api/v2/summary.json")),
        8 => client.get(format!("{page}/incidents/inc_{n:024x}")),
        9 => client.get(format!("{base}/status/made-up-{n}")),
        10 => client.get(format!("{base}/login")),
        11 => client.get(format!("{page}/subscribe")),
        12 => client
            .post(format!("{page}/subscribe"))
            .form(&[("kind", "webhook"), ("url", &format!("https://hooks.test/{n}"))]),
        13 => client.get(format!(
            "{base}/mcp/oauth/authorize?response_type=code&client_id=https%3A%2F%2F127.0.0.1%3A9%2Fc-{n}.json\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256&state=s"
        )),
        14 => client.post(format!("{base}/mcp/oauth/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", &format!("made-up-{n}")),
            ("client_id", "cl_made_up"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("code_verifier", "dBjftJeZ4CVP-mJ92K9qaWWZrHB8gTGBUuSH2wrQPWs"),
        ]),
        15 => client
            .post(format!("{base}/mcp/oauth/register"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"client_name":"load {n}","redirect_uris":["http://127.0.0.1:9/cb/{n}"],"token_endpoint_auth_method":"none"}}"#
            )),
        16 => client
            .post(format!("{base}/mcp"))
            .bearer_auth(forged_token(n))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
        17 => client.get(format!("{base}/.well-known/oauth-authorization-server")),
        18 => client.get(format!("{page}/api/v2/incidents.json")),
        _ => client.get(format!("{base}/")),
    }
}

async fn run_mix(base: &str, from: usize, count: usize) -> BTreeMap<u16, usize> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(WORKERS)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(from));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (client, next, base) = (client.clone(), next.clone(), base.to_owned());
        workers.push(tokio::spawn(async move {
            let mut seen = BTreeMap::<u16, usize>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= from + count {
                    break seen;
                }
                let r = anonymous(&client, &base, i)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .expect("an answer");
                *seen.entry(r.status().as_u16()).or_default() += 1;
                let _ = r.bytes().await;
            }
        }));
    }
    let mut all = BTreeMap::new();
    for w in workers {
        for (status, n) in w.await.expect("worker") {
            *all.entry(status).or_default() += n;
        }
    }
    all
}

async fn storm(db: TestDb) {
    let server = start(&db);
    let base = server.base.clone();
    let admin = sign_in(&base).await;
    // One round of every route first, so what is measured is growth, not first renders.
    run_mix(&base, 0, 200).await;
    let before = row_counts(&db).await;
    let rss_before = rss_kib(server.child.id());

    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (admin, base, watching) = (admin.clone(), base.clone(), watching.clone());
        tokio::spawn(async move {
            let mut took = Vec::new();
            while watching.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = admin
                    .get(format!("{base}/admin"))
                    .send()
                    .await
                    .expect("admin page");
                assert_eq!(r.status(), 200, "the admin stays signed in");
                let _ = r.bytes().await;
                took.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            took
        })
    };
    let started = Instant::now();
    let statuses = run_mix(&base, 200, TOTAL).await;
    let elapsed = started.elapsed();
    watching.store(false, Ordering::Relaxed);
    let mut took = watcher.await.expect("watcher");

    // Tallies in memory reach the database within ten seconds; wait them out so they are counted.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let after = row_counts(&db).await;
    let rss_after = rss_kib(server.child.id());

    assert!(
        statuses.keys().all(|s| *s < 500),
        "no anonymous request fails on the server's side: {statuses:?}"
    );
    eprintln!("{TOTAL} anonymous requests in {elapsed:?}: {statuses:?}");
    let minutes = elapsed.as_secs() / 60 + 1;
    let budget = 120 + 60 * minutes as i64;
    let grown = |t: &str| after.get(t).copied().unwrap_or(0) - before.get(t).copied().unwrap_or(0);
    let mut wrote = Vec::new();
    for (table, n) in &after {
        let was = before.get(table).copied().unwrap_or(0);
        let allowed = match table.as_str() {
            // Registration is the one anonymous route that keeps a row, within its per-address
            // budget (`[oauth] registration_burst` plus `registrations_per_minute` per minute).
            "oauth_clients" => budget,
            // Each kept registration is audited, and nothing else anonymous is.
            "audit_log" => grown("oauth_clients"),
            // Views are tallied per page and day; a flush updates or adds that one row.
            "page_views" => 1,
            _ => 0,
        };
        if *n - was > allowed || *n < was {
            wrote.push(format!("{table}: {was} -> {n} (allowed +{allowed})"));
        }
    }
    assert!(
        wrote.is_empty(),
        "anonymous requests changed rows: {wrote:?}"
    );
    let grown_kib = rss_after.saturating_sub(rss_before);
    assert!(
        grown_kib <= 20 * 1024,
        "resident memory grew by {grown_kib} KiB ({rss_before} -> {rss_after})"
    );
    took.sort();
    let p99 = took[(took.len() * 99 / 100).min(took.len() - 1)];
    eprintln!(
        "admin p99 {p99:?} over {} requests; RSS {rss_before} -> {rss_after} KiB",
        took.len()
    );
    assert!(
        p99 <= Duration::from_millis(100),
        "a signed-in admin's p99 during the storm was {p99:?}"
    );
}
