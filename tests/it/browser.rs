//! A minimal W3C WebDriver client over headless Chromium (Debian's `chromium` + `chromium-driver`), for
//! tests that look at pages the way a person does. Without chromedriver the tests skip, except under CI,
//! where a missing browser is a failure.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Chrome {
    driver: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chrome {
    /// Starts chromedriver and one headless browser session; `None` when chromedriver is absent outside CI.
    pub async fn start() -> Option<Chrome> {
        let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "chromedriver is missing in CI"
            );
            eprintln!("skipped: chromedriver is not installed");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let driver = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen.
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--no-first-run",
                    "--disable-sync", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"));
        let base = format!("{base}/session/{id}");
        Some(Chrome {
            driver,
            base,
            http,
            _profile: profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver json");
        if let Some(err) = v["value"].get("error") {
            panic!("webdriver {path}: {err} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current URL once it starts with `prefix` (a click's navigation can still be under way when
    /// the click returns); the last URL seen if that takes more than 10 seconds.
    pub async fn url_starting_with(&self, prefix: &str) -> String {
        let mut at = self.current_url().await;
        for _ in 0..100 {
            if at.starts_with(prefix) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            at = self.current_url().await;
        }
        at
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": value })),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Sets the window size, e.g. 390x844 to look at a page as a phone would.
    pub async fn resize(&self, width: u32, height: u32) {
        let rect = json!({ "width": width, "height": height });
        self.call(reqwest::Method::POST, "/window/rect", Some(rect))
            .await;
    }

    /// Runs `script` as the body of a function in the page, with `args` as its `arguments`; answers
    /// what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.call(reqwest::Method::POST, "/execute/sync", Some(body))
            .await
    }

    /// Like `execute`, for a script that finishes by calling its last argument with the answer.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        let body = json!({ "script": script, "args": args });
        self.call(reqwest::Method::POST, "/execute/async", Some(body))
            .await
    }

    /// Makes pages see `prefers-color-scheme: scheme` ("light" or "dark"), through chromedriver's
    /// DevTools passthrough; it holds for this tab until changed, across navigations.
    pub async fn prefer_color_scheme(&self, scheme: &str) {
        let cmd = json!({ "cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{ "name": "prefers-color-scheme", "value": scheme }]
        }});
        self.call(reqwest::Method::POST, "/goog/cdp/execute", Some(cmd))
            .await;
    }

    /// Runs axe-core (its source in `axe_source`) over the current page with the WCAG 2.0 and 2.1
    /// A and AA rules; answers the page's colour scheme as the page saw it, and axe's violations.
    pub async fn axe(&self, axe_source: &str) -> (String, Vec<Value>) {
        let script = format!(
            "{axe_source}\n;{}",
            r#"const done = arguments[arguments.length - 1];
const scheme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
axe.run(document, {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  resultTypes: ['violations'],
}).then(
  r => done({ scheme, violations: r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary })),
  })) }),
  e => done({ scheme, error: String(e) }),
);"#
        );
        let v = self.execute_async(&script, json!([])).await;
        if let Some(e) = v.get("error") {
            panic!("axe failed: {e}");
        }
        let scheme = v["scheme"].as_str().unwrap_or_default().to_owned();
        let violations = v["violations"].as_array().cloned().unwrap_or_default();
        (scheme, violations)
    }

    pub async fn screenshot(&self, path: &Path) {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("png");
        std::fs::write(path, png).expect("write screenshot");
    }
}
