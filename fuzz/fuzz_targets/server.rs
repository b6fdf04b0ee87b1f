//! One statusgate for a whole fuzzing run, built in-process over a temporary SQLite database (or
//! `STATUSGATE_FUZZ_DATABASE_URL`, e.g. an empty PostgreSQL database), and answered through the same
//! router production serves, without a socket.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use statusgate::app::{build_router, App};
use statusgate::config::{AdminConfig, Config};
use statusgate::service::api_keys::NewKey;
use statusgate::service::Principal;
use tower::ServiceExt;

pub struct Server {
    pub rt: tokio::runtime::Runtime,
    pub router: Router,
    /// A read-only API key of the demo organisation's owner, for `/mcp`.
    #[allow(dead_code)] // Each target includes this file; only `http_mcp` reads the key.
    pub key: String,
    _dir: Option<std::path::PathBuf>,
}

const OWNER: &str = "owner@acme.test";

fn start() -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (database_url, dir) = match std::env::var("STATUSGATE_FUZZ_DATABASE_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let dir = std::env::temp_dir().join(format!("statusgate-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (format!("sqlite://{}/fuzz.db", dir.display()), Some(dir))
        }
    };
    let config = Config {
        bind: "127.0.0.1:0".into(),
        database_url,
        demo: true,
        admin: AdminConfig {
            email: OWNER.into(),
            password: Some("correct horse battery".into()),
        },
        log: "off".into(),
        ..Config::default()
    };
    let (router, key) = rt.block_on(async {
        let app = App::build(config).await.expect("statusgate builds");
        let services = app.state.services.clone();
        let user = services.store.user_id_by_email(OWNER).await.expect("owner");
        let org = services.org_by_slug("acme").await.expect("demo org").id;
        let new = NewKey {
            name: "fuzz".into(),
            write: false,
            page: None,
            expires_in_days: None,
        };
        let (_, key) = services
            .create_api_key(&Principal::user(user), &org, new)
            .await
            .expect("API key");
        (build_router(app.state.clone()), key)
    });
    Server {
        rt,
        router,
        key,
        _dir: dir,
    }
}

pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

impl Server {
    /// Sends one request; returns the status and the body.
    pub fn send(&self, req: Request<Body>) -> (u16, Vec<u8>) {
        self.rt.block_on(async {
            let resp = self.router.clone().oneshot(req).await.expect("infallible");
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("body");
            (status, body.to_vec())
        })
    }
}
