//! Load for the authorization server over loopback: consent approvals, authorization-code exchanges and
//! refresh grants per second, against an in-process server on SQLite (default, a temp file) or on
//! PostgreSQL (`STATUSGATE_BENCH_DATABASE_URL=postgres://...`).
//!
//! `cargo run --release --example oauth_bench [codes] [refresh_seconds]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};
use statusgate::app::App;
use statusgate::config::{AdminConfig, Config};

const EMAIL: &str = "bench@acme.test";
const PASSWORD: &str = "bench password 123";
const CALLBACK: &str = "http://127.0.0.1/callback";
const WORKERS: usize = 4;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(16)
        .build()
        .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = html.find(&key).unwrap() + key.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

fn pkce() -> (String, String) {
    let verifier = format!("v{}", statusgate::ids::random_hex(32));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let codes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let refresh_secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("STATUSGATE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let config = Config {
        bind: "127.0.0.1:0".into(),
        database_url: url.clone(),
        demo: true,
        log: "error".into(),
        admin: AdminConfig {
            email: EMAIL.into(),
            password: Some(PASSWORD.into()),
        },
        ..Config::default()
    };
    let app = App::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run_until(std::future::pending()));
    let http = client();

    // Sign in, register one public client.
    let login = http
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&login, "csrf")),
        ("email", EMAIL.into()),
        ("password", PASSWORD.into()),
    ];
    http.post(format!("{base}/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let reg: serde_json::Value = http
        .post(format!("{base}/mcp/oauth/register"))
        .json(&serde_json::json!({ "redirect_uris": [CALLBACK] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = reg["client_id"].as_str().unwrap().to_owned();
    let consent_path = |challenge: &str| {
        format!("{base}/mcp/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&code_challenge={challenge}&code_challenge_method=S256")
    };
    let (_, c0) = pkce();
    let page = http
        .get(consent_path(&c0))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (csrf, org) = (hidden(&page, "csrf"), hidden(&page, "org"));

    // Approvals (each one a grant, a connector key and a code), by WORKERS at a time.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (http, csrf, org, client_id, base) = (
            http.clone(),
            csrf.clone(),
            org.clone(),
            client_id.clone(),
            base.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in (w..codes).step_by(WORKERS) {
                let (verifier, challenge) = pkce();
                let form = [
                    ("csrf", csrf.as_str()),
                    ("response_type", "code"),
                    ("client_id", &client_id),
                    ("redirect_uri", CALLBACK),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                    ("org", &org),
                    ("grant_scope", "mcp.pages.read"),
                    ("grant_scope", "mcp.incidents.read"),
                    ("decision", "approve"),
                ];
                let r = http
                    .post(format!("{base}/mcp/oauth/authorize"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                let Some(location) = r.headers().get("location").cloned() else {
                    panic!(
                        "approval failed: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                };
                let to = url::Url::parse(location.to_str().unwrap()).unwrap();
                let code = to
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .unwrap()
                    .1
                    .into_owned();
                out.push((code, verifier));
            }
            out
        }));
    }
    let mut pending = Vec::new();
    for t in tasks {
        pending.push(t.await.unwrap());
    }
    let approvals = rate(codes, started.elapsed());

    // Code exchanges, WORKERS at a time, each worker with its own connection pool.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for batch in pending {
        let (client_id, base) = (client_id.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut refresh = String::new();
            for (code, verifier) in batch {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", &verifier),
                    ("client_id", &client_id),
                ];
                let r = http
                    .post(format!("{base}/mcp/oauth/token"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let body: serde_json::Value = r.json().await.unwrap();
                refresh = body["refresh_token"].as_str().unwrap().to_owned();
            }
            refresh
        }));
    }
    let mut chains = Vec::new();
    for t in tasks {
        chains.push(t.await.unwrap());
    }
    let exchanges = rate(codes, started.elapsed());

    // Refresh grants: WORKERS independent chains, each rotating as fast as it can.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(refresh_secs);
    let mut tasks = Vec::new();
    for mut rt in chains {
        let (client_id, base) = (client_id.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut n = 0usize;
            while Instant::now() < deadline {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("client_id", &client_id),
                ];
                let r = http
                    .post(format!("{base}/mcp/oauth/token"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let body: serde_json::Value = r.json().await.unwrap();
                rt = body["refresh_token"].as_str().unwrap().to_owned();
                n += 1;
            }
            n
        }));
    }
    let mut refreshes = 0;
    for t in tasks {
        refreshes += t.await.unwrap();
    }
    let refresh_rate = rate(refreshes, started.elapsed());
    let engine = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    println!("engine={engine} workers={WORKERS} codes={codes}");
    println!("consent approvals/s      {approvals:>8.0}");
    println!("code exchanges/s         {exchanges:>8.0}");
    println!("refresh grants/s         {refresh_rate:>8.0}  ({refreshes} in {refresh_secs} s, {WORKERS} chains)");
}
