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
            // Every registration of the OAuth benchmark comes from one address.
            registrations_per_minute: 1_000_000,
            registration_burst: 1_000_000,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// CPU time and memory of a process, from `/proc/PID/stat` and `/proc/PID/status` (Linux).
#[allow(dead_code)] // Only the load benchmarks read them.
pub mod proc_stats {
    /// utime + stime of `pid` in seconds (the kernel reports both in 1/100 s).
    pub fn cpu_secs(pid: u32) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The command name may hold spaces; the fields after it are numbered from 3 (the state).
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    /// A `Vm*` line of `/proc/PID/status` (`VmRSS`, `VmHWM`) in MiB.
    pub fn mib(pid: u32, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }
}
