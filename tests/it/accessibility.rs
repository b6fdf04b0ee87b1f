//! Every public and admin page, checked in headless Chromium with axe-core against the WCAG 2.0 and 2.1
//! A and AA rules, once in the light and once in the dark colour scheme. Admin pages are found by
//! following the links from the dashboard (one page per route); the pages behind a form or a link
//! sent elsewhere (notices, invitation, consent, set-up, refused forms) are opened on purpose. Each
//! test also names the routes it must have reached, so a page that drops out of reach fails it.
//! axe-core comes from `.ci/axe` (`npm ci` there); without it the tests skip, except under CI.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use statusgate::clock::SystemClock;
use statusgate::domain::subscriber::SubscriberKind;
use statusgate::domain::ComponentStatus;
use statusgate::ids::ComponentId;
use statusgate::service::Principal;

use crate::browser::Chrome;
use crate::helpers::{demo_ids, Backend, TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::loopback::{eventually, smtp_sink, SmtpSink};
use crate::notifications::{fast_delivery, visitor};
use crate::pages_in_browser::{shot, wait_for};

/// axe-core's browser build, installed by `npm ci` in `.ci/axe`; `None` (test skipped) outside CI.
fn axe_source() -> Option<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "axe-core is missing in CI: {} (npm ci in .ci/axe)",
                path.display()
            );
            eprintln!("skipped: axe-core is not installed (cd .ci/axe && npm ci)");
            None
        }
    }
}

/// The route a path answers to: query and fragment dropped, ids and tokens (long, with digits)
/// written `{id}`, so that one page per route is checked.
fn route_of(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .map(|s| {
            if s.len() >= 16 && s.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A browser session that checks pages and collects what axe finds, to fail once with the full list.
struct Audit<'a> {
    chrome: &'a Chrome,
    axe: String,
    origin: String,
    problems: Vec<String>,
    seen: BTreeSet<String>,
}

impl<'a> Audit<'a> {
    fn new(chrome: &'a Chrome, axe: String, app: &TestApp) -> Self {
        Audit {
            chrome,
            axe,
            origin: app.url(""),
            problems: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Opens `path` on the app and checks it.
    async fn visit(&mut self, path: &str) {
        self.chrome.goto(&format!("{}{path}", self.origin)).await;
        self.check("").await;
    }

    /// Checks the page the browser shows now, in the light and in the dark scheme; `note` tells apart
    /// two states of one page (a refused form, say) in the list of problems.
    async fn check(&mut self, note: &str) {
        let url = self.chrome.current_url().await;
        let path = url.strip_prefix(&self.origin).unwrap_or(&url).to_owned();
        for scheme in ["light", "dark"] {
            self.chrome.prefer_color_scheme(scheme).await;
            let (saw, violations) = self.chrome.axe(&self.axe).await;
            assert_eq!(saw, scheme, "{path} was shown in the {scheme} scheme");
            for v in &violations {
                for n in v["nodes"].as_array().into_iter().flatten() {
                    self.problems.push(format!(
                        "{path}{note} [{scheme}] {} ({}): {}\n    at {}\n    {}",
                        v["id"].as_str().unwrap_or_default(),
                        v["impact"].as_str().unwrap_or_default(),
                        v["help"].as_str().unwrap_or_default(),
                        n["target"].as_str().unwrap_or_default(),
                        n["summary"]
                            .as_str()
                            .unwrap_or_default()
                            .replace('\n', "\n    "),
                    ));
                }
            }
        }
        self.chrome.prefer_color_scheme("light").await;
        self.seen.insert(route_of(&path));
    }

    /// Checks `start` and every same-site HTML page reachable from it by links under `prefixes`,
    /// one page per route.
    async fn crawl(&mut self, start: &str, prefixes: &[&str]) {
        let mut queue = VecDeque::from([start.to_owned()]);
        let links = "return Array.from(document.querySelectorAll('a[href]'), a => a.href)";
        while let Some(path) = queue.pop_front() {
            if self.seen.contains(&route_of(&path)) {
                continue;
            }
            self.chrome.goto(&format!("{}{path}", self.origin)).await;
            let kind = self
                .chrome
                .execute("return document.contentType", json!([]))
                .await;
            if kind != "text/html" {
                continue;
            }
            self.check("").await;
            let found = self.chrome.execute(links, json!([])).await;
            for href in found
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let Some(next) = href.strip_prefix(&self.origin) else {
                    continue;
                };
                let next = next.split('#').next().unwrap_or_default().to_owned();
                if prefixes.iter().any(|p| next.starts_with(p))
                    && !self.seen.contains(&route_of(&next))
                {
                    queue.push_back(next);
                }
            }
        }
    }

    /// Fails with every violation found, and with every route in `expected` that was not reached.
    fn finish(self, expected: &[&str]) {
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|r| !self.seen.contains(*r))
            .collect();
        assert!(
            missing.is_empty(),
            "pages not reached: {missing:?}; reached: {:?}",
            self.seen
        );
        assert!(
            self.problems.is_empty(),
            "{} WCAG 2 A/AA violations (axe-core):\n{}",
            self.problems.len(),
            self.problems.join("\n")
        );
    }
}

/// Starts the browser and loads axe-core; `None` when either is missing outside CI.
async fn tools() -> Option<(Chrome, String)> {
    let axe = axe_source()?;
    let chrome = Chrome::start().await?;
    Some((chrome, axe))
}

/// The status page with each status as the banner and as every label: all components set to it in turn.
async fn every_status(audit: &mut Audit<'_>, app: &TestApp) {
    let me = Principal::user(crate::api_support::owner(app).await);
    for status in ComponentStatus::ALL {
        for name in ["REST API", "Webhooks", "Dashboard", "Authentication"] {
            let (_, id) = demo_ids(&app.services, name).await;
            let id = ComponentId::parse(&id).unwrap();
            let set = app.services.set_component_status_by_hand(&me, &id, status);
            set.await.unwrap();
        }
        audit.chrome.goto(&app.url("/status/api")).await;
        audit.check(&format!(" ({})", status.as_str())).await;
    }
}

/// Subscribing by email: the notice after the form, the confirmation link's page, and the page an
/// update's unsubscribe link opens.
async fn subscription_notices(audit: &mut Audit<'_>, app: &TestApp, sink: &SmtpSink) {
    let chrome = audit.chrome;
    chrome.goto(&app.url("/status/api")).await;
    // The form sits on the status page or on a page of its own that the status page links to.
    let here = "return document.querySelector('#target') !== null";
    if chrome.execute(here, json!([])).await != json!(true) {
        chrome.click("a[href$='/subscribe']").await;
        assert!(wait_for(chrome, "id=\"target\"").await);
    }
    chrome.fill("#target", "reader@example.com").await;
    chrome.click("#subscribe button[type=submit]").await;
    assert!(wait_for(chrome, "Check your inbox").await);
    audit.check("").await;
    let mail = sink.messages.clone();
    assert!(eventually(10, || !mail.lock().unwrap().is_empty()).await);
    let token = |m: &str| {
        let link = m
            .split_whitespace()
            .find(|w| w.contains("/confirm/"))
            .unwrap();
        link.rsplit('/').next().unwrap().to_owned()
    };
    let first = token(&mail.lock().unwrap()[0]);
    audit.visit(&format!("/status/api/confirm/{first}")).await;
    // The unsubscribe link arrives with updates; a second subscriber confirmed here carries one.
    let s = &app.services;
    let second = SubscriberKind::Email;
    s.subscribe(&visitor(), "api", second, "second@example.com")
        .await
        .unwrap();
    assert!(eventually(10, || mail.lock().unwrap().len() == 2).await);
    let second = token(&mail.lock().unwrap()[1]);
    let sub = s.confirm_subscription(&second).await.unwrap();
    audit
        .visit(&format!("/unsubscribe/{}", sub.unsubscribe_token))
        .await;
}

/// The forgot-password form and its answer, the emailed link's form refused, and a link not valid.
async fn forgot_password(audit: &mut Audit<'_>, chrome: &Chrome, sink: &SmtpSink) {
    audit.visit("/login/forgot").await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.click("form button[type=submit]").await;
    assert!(wait_for(chrome, "on its way").await);
    audit.check(" (sent)").await;
    let msgs = sink.messages.clone();
    let mailed = || {
        msgs.lock()
            .unwrap()
            .iter()
            .find_map(|m| m.find("/login/reset/").map(|at| m[at..at + 77].to_owned()))
    };
    let mut link = None;
    assert!(
        eventually(10, || {
            link = mailed();
            link.is_some()
        })
        .await
    );
    let link = link.unwrap_or_default();
    audit.visit(&link).await;
    chrome.fill("#password", "long enough pw").await;
    chrome.fill("#repeat", "another long pw").await;
    chrome.click("form button[type=submit]").await;
    assert!(wait_for(chrome, "class=\"error\"").await);
    audit.check(" (refused)").await;
    audit
        .visit(&format!("/login/reset/{}", "0".repeat(64)))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_pass_wcag_aa_in_light_and_dark() {
    let Some((chrome, axe)) = tools().await else {
        return;
    };
    let sink = smtp_sink().await;
    let port = sink.port;
    let tweak = move |c: &mut statusgate::config::Config| {
        fast_delivery(c);
        c.smtp.host = "127.0.0.1".into();
        c.smtp.port = port;
    };
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
    let mut audit = Audit::new(&chrome, axe, &app);

    // The status page and every public page it links to (history, incidents), one per route.
    audit.crawl("/status/api", &["/status/"]).await;
    chrome.goto(&app.url("/status/api")).await;
    // For a person to look at: the dark scheme is checked by axe but judged by eye.
    chrome.prefer_color_scheme("dark").await;
    chrome.resize(1280, 2000).await;
    chrome.screenshot(&shot("status-page-dark.png")).await;
    // Reflow (WCAG 1.4.10): at 320 CSS pixels wide nothing scrolls sideways.
    chrome.resize(320, 800).await;
    chrome.screenshot(&shot("status-page-dark-phone.png")).await;
    let wide = "const w = document.documentElement.clientWidth; \
        return Array.from(document.querySelectorAll('body *'), e => [e, e.getBoundingClientRect().right]) \
        .filter(([, r]) => r > w + 1).map(([e]) => e.tagName + '.' + e.className).slice(0, 10)";
    let wide = chrome.execute(wide, json!([])).await;
    assert_eq!(wide, json!([]), "wider than a 320px screen");
    chrome.resize(1280, 900).await;
    chrome.prefer_color_scheme("light").await;
    every_status(&mut audit, &app).await;
    audit.visit("/status/no-such-page").await;
    audit.visit("/login").await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", "not the password").await;
    chrome.click("button[type=submit]").await;
    assert!(wait_for(&chrome, "class=\"error\"").await);
    audit.check(" (refused)").await;

    subscription_notices(&mut audit, &app, &sink).await;
    forgot_password(&mut audit, &chrome, &sink).await;

    // An invitation opened by the invited person, then refused for mismatched passwords.
    app.sign_in_as_owner().await;
    let token = crate::members::invite(&app, "new@acme.test", "viewer").await;
    audit.visit(&format!("/invite/{token}")).await;
    chrome.fill("#password", "long enough pw").await;
    chrome.fill("#repeat", "another long pw").await;
    chrome.click("form button[type=submit]").await;
    assert!(wait_for(&chrome, "class=\"error\"").await);
    audit.check(" (refused)").await;
    app.stop().await;

    // The first-run page of a fresh install, empty and refused.
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let fresh = TestApp::spawn_with(db, |c| c.demo = false, Arc::new(SystemClock)).await;
    let link = fresh.setup_link.clone().expect("a set-up link");
    audit.origin = fresh.url("");
    // The root with nothing published yet: the plain list of pages, empty.
    audit.visit("/").await;
    audit
        .visit(&link[link.find("/setup?").expect("a set-up path")..])
        .await;
    chrome.fill("#org_name", "Acme").await;
    chrome.fill("#org_slug", "Not A Slug").await;
    chrome.click("button[type=submit]").await;
    assert!(wait_for(&chrome, "class=\"error\"").await);
    audit.check(" (refused)").await;
    audit.finish(&[
        "/status/api",
        "/status/no-such-page",
        "/login",
        "/status/api/subscribe",
        "/status/api/history",
        "/status/api/incidents/{id}",
        "/status/api/confirm/{id}",
        "/unsubscribe/{id}",
        "/invite/{id}",
        "/login/forgot",
        "/login/reset/{id}",
        "/setup",
    ]);
    fresh.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pages_pass_wcag_aa_in_light_and_dark() {
    let Some((chrome, axe)) = tools().await else {
        return;
    };
    let app = TestApp::spawn(TestDb::new(Backend::Sqlite).await.unwrap()).await;
    let mut audit = Audit::new(&chrome, axe, &app);
    chrome.goto(&app.url("/login?next=/admin")).await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("button[type=submit]").await;
    assert!(wait_for(&chrome, "Dashboard").await);

    audit.crawl("/admin", &["/admin", "/account"]).await;
    chrome.goto(&app.url("/admin")).await;
    chrome.prefer_color_scheme("dark").await;
    chrome.screenshot(&shot("admin-dashboard-dark.png")).await;
    chrome.prefer_color_scheme("light").await;

    // Forms answered with their errors, and a created key shown once.
    audit.visit("/admin/pages/new").await;
    chrome.fill("#name", "Payments").await;
    chrome.fill("#slug", "Bad Slug").await;
    chrome.click("form.card button[type=submit]").await;
    assert!(wait_for(&chrome, "id=\"slug-error\"").await);
    audit.check(" (refused)").await;
    let (page, _) = demo_ids(&app.services, "Webhooks").await;
    audit.visit(&format!("/admin/pages/{page}/settings")).await;
    chrome.fill("#accent_color", "#1f6feb").await;
    chrome
        .click("form[action$='/settings'] button[type=submit]")
        .await;
    assert!(wait_for(&chrome, "is too light to read").await);
    audit.check(" (refused)").await;
    audit.visit("/admin/members").await;
    chrome.fill("#email", "not an address").await;
    chrome
        .click("form[action='/admin/members/invite'] button[type=submit]")
        .await;
    assert!(wait_for(&chrome, "id=\"email-error\"").await);
    audit.check(" (refused)").await;
    audit.visit("/admin/api-keys").await;
    chrome.fill("#name", "Deploy pipeline").await;
    chrome
        .click("form[action='/admin/api-keys'] button[type=submit]")
        .await;
    assert!(wait_for(&chrome, "class=\"secret\"").await);
    audit.check(" (key created)").await;

    // The consent page a Hosted MCP client sends a signed-in person to.
    let client = crate::oauth::register_public(&app, crate::oauth::CALLBACK).await;
    let p = crate::oauth::pkce();
    let path = crate::oauth::authorize_path(&client, crate::oauth::CALLBACK, &p.challenge, &[]);
    audit.visit(&path).await;
    assert!(chrome.source().await.contains("Connect Test client"));

    audit.finish(&[
        "/admin",
        "/admin/pages/new",
        "/admin/pages",
        "/admin/pages/{id}/settings",
        "/admin/pages/{id}/history",
        "/admin/pages/{id}/deliveries",
        "/admin/pages/{id}/monitors",
        "/admin/pages/{id}/incidents/new",
        "/admin/pages/{id}/maintenances/new",
        "/admin/incidents/{id}",
        "/admin/maintenances/{id}",
        "/admin/monitors/{id}",
        "/admin/api-keys",
        "/admin/hosted-mcp",
        "/admin/members",
        "/admin/members/invite",
        "/admin/orgs",
        "/admin/audit",
        "/account",
        "/account/connections",
        "/mcp/oauth/authorize",
    ]);
    app.stop().await;
}
