//! Configuration for monitors, notification delivery and the SMTP relay (`[monitors]`, `[delivery]`,
//! `[smtp]` in config.toml).

use std::fmt;

use serde::Deserialize;

use super::{key_error, ConfigError};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorsConfig {
    /// How often each instance looks for due checks.
    pub scheduler_tick_ms: u64,
    /// The shortest interval a monitor may ask for.
    pub min_interval_secs: i64,
    /// Consecutive failures before an action is proposed.
    pub failure_threshold: i64,
    /// Events older than this are deleted.
    pub retention_days: i64,
    /// Lets monitors check loopback and private addresses (intranet services). Link-local and cloud
    /// metadata addresses stay refused either way.
    pub allow_private_targets: bool,
}

impl Default for MonitorsConfig {
    fn default() -> Self {
        Self {
            scheduler_tick_ms: 1_000,
            min_interval_secs: 30,
            failure_threshold: 3,
            retention_days: 90,
            allow_private_targets: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    pub tick_ms: u64,
    /// Attempts before a notification is dead-lettered.
    pub max_attempts: i64,
    /// Wait after the first failure; doubled after each further one.
    pub backoff_secs: i64,
    /// How long one webhook attempt may take.
    pub timeout_ms: u64,
    /// Lets webhook subscribers use plain http and loopback, private or link-local addresses. Only for
    /// development and tests: visitors choose these URLs.
    pub allow_private_targets: bool,
    /// Deliveries in flight at once on one instance.
    pub concurrency: usize,
    /// Deliveries in flight at once to one webhook host, so one slow host cannot take every slot.
    pub per_host_concurrency: usize,
    /// Subscribers one page may have, confirmed or not.
    pub max_subscribers_per_page: i64,
    /// Unconfirmed subscribers (email awaiting its link, webhook awaiting its challenge) per page.
    pub max_pending_per_page: i64,
    /// An email subscription not confirmed within this many hours is deleted (and its link dies).
    pub confirm_ttl_hours: i64,
    /// Subscribe requests one client address may make per hour (email and webhook alike).
    pub subscribe_per_hour: u32,
    /// Subscribe requests one client address may make at once after being idle.
    pub subscribe_burst: u32,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            tick_ms: 1_000,
            max_attempts: 8,
            backoff_secs: 30,
            timeout_ms: 10_000,
            allow_private_targets: false,
            concurrency: 8,
            per_host_concurrency: 2,
            max_subscribers_per_page: 10_000,
            max_pending_per_page: 1_000,
            confirm_ttl_hours: 48,
            subscribe_per_hour: 10,
            subscribe_burst: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP; only for a relay on the same host or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS before anything else is sent (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host; empty means email subscriptions are not offered.
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub timeout_ms: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "statusgate@localhost".into(),
            timeout_ms: 10_000,
        }
    }
}

impl SmtpConfig {
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

/// The relay password never reaches a log line.
impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .finish()
    }
}

/// Everything the monitoring and delivery services need, handed to them as one value.
#[derive(Clone, Debug, Default)]
pub struct MonitoringSettings {
    pub monitors: MonitorsConfig,
    pub delivery: DeliveryConfig,
    pub smtp: SmtpConfig,
    pub public_url: String,
    /// This instance's own origin (`http://127.0.0.1:PORT` for the bound port), which monitors may
    /// check whatever `allow_private_targets` says: the demo's monitors watch the instance itself.
    pub own_origin: Option<String>,
}

pub(super) fn validate(
    m: &MonitorsConfig,
    d: &DeliveryConfig,
    s: &SmtpConfig,
) -> Result<(), ConfigError> {
    if !(10..=600_000).contains(&m.scheduler_tick_ms) {
        return Err(key_error(
            "monitors.scheduler_tick_ms",
            "must be between 10 and 600000",
        ));
    }
    if !(1..=86_400).contains(&m.min_interval_secs) {
        return Err(key_error(
            "monitors.min_interval_secs",
            "must be between 1 and 86400",
        ));
    }
    if !(1..=100).contains(&m.failure_threshold) {
        return Err(key_error(
            "monitors.failure_threshold",
            "must be between 1 and 100",
        ));
    }
    if !(1..=3650).contains(&m.retention_days) {
        return Err(key_error(
            "monitors.retention_days",
            "must be between 1 and 3650",
        ));
    }
    if !(10..=600_000).contains(&d.tick_ms) {
        return Err(key_error(
            "delivery.tick_ms",
            "must be between 10 and 600000",
        ));
    }
    if !(1..=50).contains(&d.max_attempts) {
        return Err(key_error(
            "delivery.max_attempts",
            "must be between 1 and 50",
        ));
    }
    if !(0..=86_400).contains(&d.backoff_secs) {
        return Err(key_error(
            "delivery.backoff_secs",
            "must be between 0 and 86400",
        ));
    }
    if !(100..=120_000).contains(&d.timeout_ms) {
        return Err(key_error(
            "delivery.timeout_ms",
            "must be between 100 and 120000",
        ));
    }
    validate_delivery_limits(d)?;
    if s.enabled() {
        if s.port == 0 {
            return Err(key_error("smtp.port", "must not be 0"));
        }
        if crate::domain::Email::parse(&s.from).is_err() {
            return Err(key_error("smtp.from", "is not a valid email address"));
        }
        if s.username.is_some() != s.password.is_some() {
            return Err(key_error(
                "smtp.username",
                "and smtp.password must be set together",
            ));
        }
    }
    if s.timeout_ms == 0 {
        return Err(key_error("smtp.timeout_ms", "must be at least 1"));
    }
    Ok(())
}

fn validate_delivery_limits(d: &DeliveryConfig) -> Result<(), ConfigError> {
    if !(1..=256).contains(&d.concurrency) {
        return Err(key_error(
            "delivery.concurrency",
            "must be between 1 and 256",
        ));
    }
    if !(1..=d.concurrency).contains(&d.per_host_concurrency) {
        return Err(key_error(
            "delivery.per_host_concurrency",
            "must be between 1 and delivery.concurrency",
        ));
    }
    if !(1..=1_000_000).contains(&d.max_subscribers_per_page) {
        return Err(key_error(
            "delivery.max_subscribers_per_page",
            "must be between 1 and 1000000",
        ));
    }
    if !(1..=d.max_subscribers_per_page).contains(&d.max_pending_per_page) {
        return Err(key_error(
            "delivery.max_pending_per_page",
            "must be between 1 and delivery.max_subscribers_per_page",
        ));
    }
    if !(1..=720).contains(&d.confirm_ttl_hours) {
        return Err(key_error(
            "delivery.confirm_ttl_hours",
            "must be between 1 and 720",
        ));
    }
    if d.subscribe_per_hour == 0 || d.subscribe_burst == 0 {
        return Err(key_error(
            "delivery.subscribe_per_hour",
            "and delivery.subscribe_burst must be at least 1",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn check(edit: impl FnOnce(&mut Config)) -> String {
        let mut c = Config::default();
        edit(&mut c);
        c.validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn bad_monitoring_values_name_their_key() {
        assert!(check(|_| {}).is_empty());
        assert!(check(|c| c.monitors.failure_threshold = 0).contains("monitors.failure_threshold"));
        assert!(check(|c| c.monitors.retention_days = 0).contains("monitors.retention_days"));
        assert!(check(|c| c.delivery.max_attempts = 0).contains("delivery.max_attempts"));
        assert!(check(|c| c.delivery.concurrency = 0).contains("delivery.concurrency"));
        assert!(check(|c| c.delivery.per_host_concurrency = 9)
            .contains("delivery.per_host_concurrency"));
        assert!(check(|c| c.delivery.max_pending_per_page = 20_000)
            .contains("delivery.max_pending_per_page"));
        assert!(check(|c| c.delivery.subscribe_burst = 0).contains("delivery.subscribe_per_hour"));
        let smtp = check(|c| {
            c.smtp.host = "relay.example.com".into();
            c.smtp.from = "not an address".into();
        });
        assert!(smtp.contains("smtp.from"), "{smtp}");
    }

    #[test]
    fn the_relay_password_does_not_print() {
        let mut c = Config::default();
        c.smtp.password = Some("relay-secret".into());
        assert!(!format!("{c:?}").contains("relay-secret"));
    }

    #[test]
    fn tls_modes_parse_from_toml() {
        let c = Config::parse_toml(
            "[smtp]\ntls = \"starttls\"\n",
            std::path::Path::new("c.toml"),
        );
        assert!(c.is_ok_and(|c| c.smtp.tls == super::SmtpTls::Starttls));
        let bad = Config::parse_toml("[smtp]\ntls = \"ssl\"\n", std::path::Path::new("c.toml"));
        assert!(bad.is_err());
    }
}
