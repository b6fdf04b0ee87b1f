//! Two `statusgate serve` processes on one PostgreSQL database see each other's writes and sessions.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use statusgate::config::KEY_ENV;

use crate::helpers::{
    browser, csrf_in, Backend, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENCRYPTION_KEY,
};

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary on a free port and waits for its "listening on" line.
fn serve(db_url: &str) -> Server {
    serve_with(db_url, &[])
}

/// Like `serve`, with extra environment variables.
pub(crate) fn serve_with(db_url: &str, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .arg("serve")
        .env(KEY_ENV, TEST_ENCRYPTION_KEY)
        .envs(env.iter().copied())
        .env("STATUSGATE_BIND", "127.0.0.1:0")
        .env("STATUSGATE_DATABASE_URL", db_url)
        .env("STATUSGATE_DEMO", "true")
        .env("STATUSGATE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("STATUSGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("STATUSGATE_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn statusgate");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("readable");
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr.trim().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_writes_and_sessions_postgres() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
        return;
    };
    let a = serve(&db.url);
    let b = serve(&db.url);
    let client = browser();

    // Sign in on A.
    let html = client
        .get(format!("{}/login", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html).unwrap();
    let r = client
        .post(format!("{}/login", a.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // The session works on B (cookies are per host, not per port).
    let dash = client
        .get(format!("{}/admin", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(dash.status(), 200, "B knows A's session");
    let html = dash.text().await.unwrap();
    let csrf = csrf_in(&html).unwrap();
    // The first link to a page of its own (the dashboard also links /admin/pages/new).
    let page_link = html
        .split("/admin/pages/")
        .skip(1)
        .find(|l| !l.starts_with("new"))
        .unwrap();
    let page_id = &page_link[..page_link.find('/').unwrap()];

    // Write on B, read on A.
    let r = client
        .post(format!("{}/admin/pages/{page_id}/incidents", b.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Seen everywhere"),
            ("stage", "investigating"),
            ("message", "m"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let public = client
        .get(format!("{}/status/api", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("Seen everywhere"));

    // Demo seeded once although both started on an empty database.
    let store = statusgate::app::connect(&crate::helpers::test_config(&db.url))
        .await
        .unwrap();
    assert_eq!(store.count_orgs().await.unwrap(), 1);

    // Sign out on A ends the session on B too.
    let r = client
        .post(format!("{}/logout", a.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        client
            .get(format!("{}/admin", b.base))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}
