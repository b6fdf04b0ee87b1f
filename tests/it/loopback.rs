//! Real loopback servers for monitor and delivery tests: a target that succeeds, fails and hangs; a
//! webhook receiver that echoes verification challenges and records what arrives (failing the first N
//! requests, hanging the first, or hanging all); and an SMTP sink that records each message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

async fn serve(router: Router) -> String {
    serve_on("127.0.0.1", router).await
}

async fn serve_on(ip: &str, router: Router) -> String {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A monitor target: `/ok` (200, "all good"), `/fail` (500), `/hang` (answers after 30 s). Counts hits.
pub struct Target {
    pub base: String,
    pub hits: Arc<Mutex<usize>>,
}

pub async fn target() -> Target {
    let hits = Arc::new(Mutex::new(0usize));
    let counted = |hits: Arc<Mutex<usize>>| {
        move || {
            *hits.lock().unwrap() += 1;
            async { "all good" }
        }
    };
    let router = Router::new()
        .route("/ok", get(counted(hits.clone())))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    Target {
        base: serve(router).await,
        hits,
    }
}

/// One request as the webhook receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

/// How a receiver answers statusgate's verification challenge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Echo {
    /// `{"challenge":"…"}`, as documented.
    #[default]
    Json,
    /// The bare challenge as the body.
    Bare,
    /// 200 with an empty body: an endpoint that never agreed to receive anything.
    Nothing,
}

impl Received {
    /// Whether the `statusgate-signature` header verifies with `secret` over the timestamp and body.
    pub fn signed_with(&self, secret: &str) -> bool {
        let header = |name: &str| self.headers[name].to_str().unwrap().to_owned();
        let ts: i64 = header("statusgate-timestamp").parse().unwrap();
        header("statusgate-signature")
            == statusgate::outbound::webhook::signature(secret, ts, &self.body)
    }
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub url: String,
    /// Verification challenges, in arrival order (not in `all`).
    pub challenges: Arc<Mutex<Vec<Received>>>,
    /// Every other request, in arrival order (retries included).
    pub all: Arc<Mutex<Vec<Received>>>,
    /// Idempotency keys processed, each once: what an idempotent receiver acts on.
    pub processed: Arc<Mutex<Vec<String>>>,
    fail_first: Arc<Mutex<usize>>,
    hang_first: Arc<Mutex<bool>>,
    echo: Echo,
    /// Accept every notification and never answer it (challenges are still answered).
    hang_all: bool,
}

impl Receiver {
    pub fn keys(&self) -> Vec<String> {
        self.processed.lock().unwrap().clone()
    }
}

/// The answer to a verification challenge, or `None` when `body` is not one.
fn challenge_answer(echo: Echo, body: &str) -> Option<(StatusCode, String)> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    if v["type"] != "subscription.verify" {
        return None;
    }
    let c = v["challenge"].as_str().unwrap_or_default();
    Some(match echo {
        Echo::Json => (
            StatusCode::OK,
            serde_json::json!({ "challenge": c }).to_string(),
        ),
        Echo::Bare => (StatusCode::OK, c.to_owned()),
        Echo::Nothing => (StatusCode::OK, String::new()),
    })
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let body = String::from_utf8_lossy(&body).into_owned();
    if let Some(answer) = challenge_answer(r.echo, &body) {
        r.challenges
            .lock()
            .unwrap()
            .push(Received { headers, body });
        return answer;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    r.all.lock().unwrap().push(Received { headers, body });
    if r.hang_all {
        std::future::pending::<()>().await;
    }
    let hang = std::mem::take(&mut *r.hang_first.lock().unwrap());
    if hang {
        // Never answer: the sender is killed while waiting.
        std::future::pending::<()>().await;
    }
    {
        let mut fails = r.fail_first.lock().unwrap();
        if *fails > 0 {
            *fails -= 1;
            return (StatusCode::SERVICE_UNAVAILABLE, String::new());
        }
    }
    let mut done = r.processed.lock().unwrap();
    if !done.contains(&key) {
        done.push(key);
    }
    (StatusCode::OK, String::new())
}

/// A webhook receiver that answers 503 to its first `fail_first` requests and, with `hang_first`, never
/// answers its very first one.
pub async fn receiver(fail_first: usize, hang_first: bool) -> Receiver {
    let r = Receiver {
        fail_first: Arc::new(Mutex::new(fail_first)),
        hang_first: Arc::new(Mutex::new(hang_first)),
        ..Receiver::default()
    };
    start(r, "127.0.0.1").await
}

/// A receiver on loopback address `ip` that answers challenges as `echo` says and, with `hang_all`,
/// never answers a notification.
pub async fn receiver_on(ip: &str, echo: Echo, hang_all: bool) -> Receiver {
    let r = Receiver {
        echo,
        hang_all,
        ..Receiver::default()
    };
    start(r, ip).await
}

async fn start(mut r: Receiver, ip: &str) -> Receiver {
    let router = Router::new()
        .route("/hook", any(receive))
        .with_state(r.clone());
    r.url = format!("{}/hook", serve_on(ip, router).await);
    r
}

/// An SMTP sink: accepts every message and records its DATA.
#[derive(Clone, Default)]
pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
}

pub async fn smtp_sink() -> SmtpSink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink = SmtpSink {
        port: listener.local_addr().unwrap().port(),
        messages: Arc::default(),
    };
    let messages = sink.messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let messages = messages.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ready\r\n").await;
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            messages.lock().unwrap().push(std::mem::take(&mut data));
                            let _ = w.write_all(b"250 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let reply: &[u8] =
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => b"221 bye\r\n",
                            _ => b"250 ok\r\n",
                        };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    sink
}

/// Polls `check` every 50 ms until it holds or `secs` pass.
pub async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}
