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
        oauth: statusgate::config::OAuthConfig {
            // As the server reads it, so both agree on the key that seals the signing keys.
            key_encryption_key: std::env::var(statusgate::config::KEY_ENV)
                .ok()
                .and_then(|k| statusgate::config::EncryptionKey::parse(&k)),
            ..Default::default()
        },
        ..Config::default()
    }
}
