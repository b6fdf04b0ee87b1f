//! What the benchmark examples share: the owner account and an in-process server's configuration.

use statusgate::config::{AdminConfig, Config};

pub const EMAIL: &str = "bench@acme.test";
pub const PASSWORD: &str = "bench password 123";
#[allow(dead_code)] // Not every benchmark registers a client.
pub const CALLBACK: &str = "http://127.0.0.1/callback";

/// The demo organisation on `url`, a loopback port chosen by the system, errors-only logging.
pub fn bench_config(url: &str) -> Config {
    Config {
        bind: "127.0.0.1:0".into(),
        database_url: url.to_owned(),
        demo: true,
        log: "error".into(),
        admin: AdminConfig {
            email: EMAIL.into(),
            password: Some(PASSWORD.into()),
        },
        ..Config::default()
    }
}
