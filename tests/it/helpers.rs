//! The test harness: a real statusgate on 127.0.0.1:0 over a fresh database, SQLite in a temp dir or,
#![allow(dead_code)] // Not every test module uses every helper.
//! when `STATUSGATE_TEST_PG_URL` names a PostgreSQL server, a new database created for the test.

use std::sync::Arc;

use statusgate::app::App;
use statusgate::clock::{Clock, SystemClock};
use statusgate::config::Config;
use statusgate::service::Services;

pub const ADMIN_EMAIL: &str = "owner@acme.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `both_backends!(name, |app| async move { ... })` defines
/// `name_sqlite` and `name_postgres`; the latter says it was skipped when no PostgreSQL URL is set.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::helpers::TestDb::new($crate::helpers::Backend::Sqlite).await;
                let body = $body;
                body(db.expect("sqlite test database")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) =
                    $crate::helpers::TestDb::new($crate::helpers::Backend::Postgres).await
                else {
                    eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
                    return;
                };
                let body = $body;
                body(db).await;
            }
        }
    };
}

/// A database for one test. PostgreSQL databases are dropped when the value is.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

pub fn pg_admin_url() -> Option<String> {
    std::env::var("STATUSGATE_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().ok()?;
                let url = format!("sqlite://{}/statusgate.db", dir.path().display());
                Some(Self {
                    backend,
                    url,
                    _dir: Some(dir),
                    pg_admin: None,
                })
            }
            Backend::Postgres => {
                let admin = pg_admin_url()?;
                let name = format!("sg_test_{}", statusgate::ids::random_hex(8));
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to STATUSGATE_TEST_PG_URL");
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::raw_sql(&format!("create database {name}")),
                )
                .await
                .expect("create test database");
                let (base, _) = admin.rsplit_once('/').expect("database url has a path");
                let url = format!("{base}/{name}");
                Some(Self {
                    backend,
                    url,
                    _dir: None,
                    pg_admin: Some((admin, name)),
                })
            }
        }
    }
}

impl TestDb {
    /// The same database for a second server; the original keeps owning (and dropping) it.
    pub fn alias(&self) -> TestDb {
        TestDb {
            backend: self.backend,
            url: self.url.clone(),
            _dir: None,
            pg_admin: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg_admin.take() else {
            return;
        };
        // Dropping needs async; a short-lived runtime on its own thread keeps Drop synchronous.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .ok()?;
                let sql = format!("drop database if exists {name} with (force)");
                sqlx::Executor::execute(&mut conn, sqlx::raw_sql(&sql))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// A running server and a browser-like client (cookies kept, redirects not followed).
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub base: String,
    pub browser: Browser,
    pub services: Services,
    /// The database, for tests that inspect rows directly.
    pub store: statusgate::store::Store,
    pub db: TestDb,
    /// The first-run link this start printed (demo off, no user yet).
    pub setup_link: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// The signing-key encryption key of PostgreSQL tests (a shared database needs one from outside;
/// SQLite tests let statusgate keep one in a file beside the database, as a first start does).
pub const TEST_ENCRYPTION_KEY: &str = "c3RhdHVzZ2F0ZSB0ZXN0IGtleSwgbm90IHNlY3JldCE=";

pub fn test_config(db_url: &str) -> Config {
    let key = statusgate::config::EncryptionKey::parse(TEST_ENCRYPTION_KEY);
    Config {
        bind: "127.0.0.1:0".into(),
        database_url: db_url.to_owned(),
        demo: true,
        admin: statusgate::config::AdminConfig {
            email: ADMIN_EMAIL.into(),
            password: Some(ADMIN_PASSWORD.into()),
        },
        log: "warn".into(),
        // Monitor tests check loopback servers; the tests of the address guard turn this off.
        monitors: statusgate::config::MonitorsConfig {
            allow_private_targets: true,
            ..Default::default()
        },
        oauth: statusgate::config::OAuthConfig {
            key_encryption_key: key.filter(|_| db_url.starts_with("postgres")),
            ..Default::default()
        },
        ..Config::default()
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> Self {
        Self::spawn_with(db, |_| {}, Arc::new(SystemClock)).await
    }

    /// Spawns with a changed configuration and a chosen clock.
    pub async fn spawn_with(
        db: TestDb,
        tweak: impl FnOnce(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut config = test_config(&db.url);
        tweak(&mut config);
        let public = config.public_url.clone();
        let app = App::build_with_clock(config, clock)
            .await
            .expect("app builds");
        let addr = app.local_addr().expect("bound");
        let services = app.state.services.clone();
        let store = app.store.clone();
        let setup_link = app.setup_link.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = app
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        });
        let base = if public.contains("127.0.0.1:8080") {
            format!("http://{addr}")
        } else {
            public
        };
        Self {
            addr,
            base,
            browser: Browser {
                addr,
                client: browser(),
            },
            services,
            store,
            db,
            setup_link,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Another browser with its own cookies, against the same server.
    pub fn new_browser(&self) -> Browser {
        Browser {
            addr: self.addr,
            client: browser(),
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The value of the first `name="csrf"` hidden field.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The `form_token` of a public form (subscribe, unsubscribe).
pub fn form_token_in(html: &str) -> Option<String> {
    let at = html.find("name=\"form_token\" value=\"")? + "name=\"form_token\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The demo page's id and the id of its component named `name`.
pub async fn demo_ids(services: &Services, component: &str) -> (String, String) {
    let public = services.public_page("api").await.expect("demo page");
    let c = public
        .tree
        .iter()
        .flat_map(|n| std::iter::once(&n.component).chain(&n.children))
        .find(|c| c.name == component)
        .expect("component");
    (public.page.id.to_string(), c.id.to_string())
}

/// A client with its own cookie jar, like one person's browser.
#[derive(Clone)]
pub struct Browser {
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl Browser {
    /// Posts a form from `from` (its CSRF token included); answers status, `Location` and body.
    pub async fn submit(
        &self,
        from: &str,
        to: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, String) {
        let csrf = self.csrf_on(from).await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let r = self.post_form(to, &all).await;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, r.text().await.unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Fetches `path` and returns the CSRF token of its first form.
    pub async fn csrf_on(&self, path: &str) -> String {
        let html = self.get(path).await.text().await.expect("body");
        csrf_in(&html).unwrap_or_else(|| panic!("no csrf field on {path}"))
    }

    /// Signs in through the real form; returns the response to the POST.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let csrf = self.csrf_on("/login").await;
        self.post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", "/admin"),
            ],
        )
        .await
    }

    pub async fn sign_in_as_owner(&self) {
        let r = self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303, "owner sign-in redirects");
    }
}

/// A Hosted MCP actor for `user`, bound (as every connector grant is) to `org`, or to the person's
/// first organisation when `org` is `None`.
pub async fn mcp_actor(
    services: &Services,
    user: &statusgate::ids::UserId,
    org: Option<statusgate::ids::OrgId>,
) -> statusgate::service::Actor {
    let org = match org {
        Some(o) => o,
        None => services.memberships(user).await.unwrap()[0].org.id.clone(),
    };
    statusgate::service::Actor::Mcp {
        key_id: "key_test".into(),
        grant_id: "grant_test".into(),
        org,
        client_name: "Test client".into(),
        tool: None,
        confirmation: None,
    }
}
