//! Load for the authorization server over loopback: registrations, consent approvals,
//! authorization-code exchanges and refresh grants per second, each with the server's CPU per operation,
//! and the server's peak RSS.
//!
//! With `STATUSGATE_BENCH_URL` and `STATUSGATE_BENCH_PID` (what `bench/oauth.sh` sets) it drives a
//! running `statusgate serve` whose demo owner is `common::EMAIL`, and the CPU and memory figures are
//! that process's own. Without them it starts the server in-process on SQLite (a temp file) or on
//! PostgreSQL (`STATUSGATE_BENCH_DATABASE_URL=postgres://...`), and the figures include this load
//! generator.
//!
//! `cargo run --release --example oauth_bench [codes] [refresh_seconds]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};
use statusgate::app::App;

mod common;

use common::proc_stats::{cpu_secs, mib};
use common::{CALLBACK, EMAIL, PASSWORD};

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

/// One phase's line: operations per second and the server's CPU per operation.
fn report(label: &str, n: usize, d: Duration, cpu: f64) {
    println!(
        "{label:<24} {:>8.0}/s  server CPU {:>7.1} us/op",
        rate(n, d),
        cpu * 1e6 / n.max(1) as f64
    );
}

/// Runs `f(i)` for `0..n`, WORKERS at a time, each worker with its own HTTP client; returns every
/// worker's results and the elapsed time.
async fn spread<T, F, Fut>(n: usize, f: F) -> (Vec<Vec<T>>, Duration)
where
    T: Send + 'static,
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut out = Vec::new();
            for i in (w..n).step_by(WORKERS) {
                out.push(f(http.clone(), i).await);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    (all, started.elapsed())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let codes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let refresh_secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("STATUSGATE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let (base, pid) = match std::env::var("STATUSGATE_BENCH_URL") {
        Ok(base) => {
            let pid = std::env::var("STATUSGATE_BENCH_PID")
                .unwrap()
                .parse()
                .unwrap();
            println!("server: process {pid} at {base}");
            (base, pid)
        }
        Err(_) => {
            let app = App::build(common::bench_config(&url)).await.unwrap();
            let base = format!("http://{}", app.local_addr().unwrap());
            tokio::spawn(app.run_until(std::future::pending()));
            let engine = url.split(':').next().unwrap_or_default();
            println!("server: in-process on {engine} (CPU and RSS include the load generator)");
            (base, std::process::id())
        }
    };
    println!("RSS before sign-in {:.1} MiB", mib(pid, "VmRSS"));

    // Sign in once; the session cookie is shared by the approval workers.
    let cpu = cpu_secs(pid);
    let http = client();
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
    println!(
        "sign-in: server CPU {:.1} ms, RSS after {:.1} MiB",
        (cpu_secs(pid) - cpu) * 1e3,
        mib(pid, "VmRSS")
    );

    // One client per code: a second consent by the same person to the same client would replace
    // the first grant.
    let b = base.clone();
    let cpu = cpu_secs(pid);
    let (clients, reg_time) = spread(codes, move |http, i| {
        let base = b.clone();
        async move {
            let body = serde_json::json!({ "client_name": format!("bench {i}"), "redirect_uris": [CALLBACK] });
            let reg: serde_json::Value = http.post(format!("{base}/mcp/oauth/register")).json(&body).send().await.unwrap().json().await.unwrap();
            reg["client_id"].as_str().unwrap().to_owned()
        }
    })
    .await;
    let reg_cpu = cpu_secs(pid) - cpu;
    let clients: Vec<String> = {
        // Back into index order.
        let mut v = vec![String::new(); codes];
        for (w, batch) in clients.into_iter().enumerate() {
            for (k, c) in batch.into_iter().enumerate() {
                v[w + k * WORKERS] = c;
            }
        }
        v
    };
    let (_, c0) = pkce();
    let page = http
        .get(format!("{base}/mcp/oauth/authorize?response_type=code&client_id={}&redirect_uri={CALLBACK}&code_challenge={c0}&code_challenge_method=S256", clients[0]))
        .send().await.unwrap().text().await.unwrap();
    let (csrf, org) = (hidden(&page, "csrf"), hidden(&page, "org"));

    // Approvals: each writes a grant, its connector key, a code and an audit row.
    let (b, cl) = (base.clone(), clients.clone());
    let session = http.clone();
    let cpu = cpu_secs(pid);
    let (approved, approve_time) = spread(codes, move |_, i| {
        let (base, client_id, csrf, org, http) = (
            b.clone(),
            cl[i].clone(),
            csrf.clone(),
            org.clone(),
            session.clone(),
        );
        async move {
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
            (client_id, code, verifier)
        }
    })
    .await;
    let approve_cpu = cpu_secs(pid) - cpu;
    let approved: Vec<(String, String, String)> = approved.into_iter().flatten().collect();

    // Code exchanges at the token endpoint.
    let b = base.clone();
    let cpu = cpu_secs(pid);
    let (issued, exchange_time) = spread(codes, move |http, i| {
        let (base, (client_id, code, verifier)) = (b.clone(), approved[i].clone());
        async move {
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
            (
                client_id,
                body["refresh_token"].as_str().unwrap().to_owned(),
            )
        }
    })
    .await;
    let exchange_cpu = cpu_secs(pid) - cpu;

    // Refresh grants: WORKERS independent chains, each rotating as fast as it can.
    let cpu = cpu_secs(pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(refresh_secs);
    let mut tasks = Vec::new();
    for batch in issued {
        let Some((client_id, mut rt)) = batch.last().cloned() else {
            continue;
        };
        let base = base.clone();
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
    let refresh_time = started.elapsed();
    let refresh_cpu = cpu_secs(pid) - cpu;
    println!("workers={WORKERS} codes={codes}");
    report("registrations", codes, reg_time, reg_cpu);
    report("consent approvals", codes, approve_time, approve_cpu);
    report("code exchanges", codes, exchange_time, exchange_cpu);
    report("refresh grants", refreshes, refresh_time, refresh_cpu);
    println!(
        "complete flows (registration, consent, exchange): server CPU {:.1} us/flow",
        (reg_cpu + approve_cpu + exchange_cpu) * 1e6 / codes.max(1) as f64
    );
    println!(
        "RSS at the end {:.1} MiB, peak RSS (VmHWM) {:.1} MiB",
        mib(pid, "VmRSS"),
        mib(pid, "VmHWM")
    );
}
