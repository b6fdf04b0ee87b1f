//! Configuration: `config.toml` (every key documented there), then `STATUSGATE_*` environment overrides,
//! then validation. A bad value stops start-up with one line naming the key.

use std::{fmt, net::SocketAddr, path::Path};

use serde::Deserialize;

mod encryption_key;
mod monitoring;
mod operations;
mod telemetry;
pub use encryption_key::{EncryptionKey, KEY_ENV, OLD_KEY_ENV};
pub use monitoring::{DeliveryConfig, MonitoringSettings, MonitorsConfig, SmtpConfig, SmtpTls};
pub use operations::{RetentionConfig, ServerConfig};
pub use telemetry::{LogFormat, MetricsConfig, TelemetryConfig};

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bind: String,
    pub public_url: String,
    pub database_url: String,
    pub demo: bool,
    pub log: String,
    pub log_format: LogFormat,
    pub metrics: MetricsConfig,
    pub telemetry: TelemetryConfig,
    pub admin: AdminConfig,
    pub database: DatabaseConfig,
    pub security: SecurityConfig,
    pub oauth: OAuthConfig,
    pub monitors: MonitorsConfig,
    pub delivery: DeliveryConfig,
    pub smtp: SmtpConfig,
    pub mcp: McpConfig,
    pub api: ApiConfig,
    pub public: PublicConfig,
    pub server: ServerConfig,
    pub retention: RetentionConfig,
}

/// The public status pages and what machines read from them (badge, feeds, Statuspage-style JSON).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicConfig {
    /// How long a browser or CDN may reuse a public representation without asking again, and how long
    /// this server serves one it rendered before rendering it again (a write that changes it is shown
    /// at once either way).
    pub max_age_secs: u32,
    /// How long a CDN may keep serving a stale copy while it revalidates in the background.
    pub stale_while_revalidate_secs: u32,
    /// Renders one client address may cause per minute (requests served from memory are not
    /// counted; made-up addresses of pages, incidents or history pages are), and at once.
    pub misses_per_minute: u32,
    pub misses_burst: u32,
    /// The most the rendered representations held in memory may weigh (keys, bodies and their
    /// compressed copies); past it the oldest go.
    pub cache_max_bytes: u64,
    /// The public address (after `/status/`) of the page `/` shows; unset, `/` shows the only
    /// published page, or a list of them.
    pub default_page: Option<String>,
}

/// The bounds of `public.cache_max_bytes`: 64 KiB (a few pages) to 64 GiB.
pub const PUBLIC_CACHE_BYTES: std::ops::RangeInclusive<u64> = (64 << 10)..=(64 << 30);

impl Default for PublicConfig {
    fn default() -> Self {
        Self {
            max_age_secs: 10,
            stale_while_revalidate_secs: 30,
            misses_per_minute: 300,
            misses_burst: 100,
            cache_max_bytes: 64 << 20,
            default_page: None,
        }
    }
}

/// The REST API under `/api/v1`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Requests per minute each key may make, refilled evenly (per instance).
    pub rate_per_minute: u32,
    /// Requests a key may make at once after being idle.
    pub burst: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_per_minute: 600,
            burst: 60,
        }
    }
}

/// The `/mcp` endpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Browser origins besides our own that may call `/mcp` (e.g. MCP Inspector's `http://localhost:6274`).
    pub allowed_origins: Vec<String>,
    /// Answer `tools/call` and `tools/list` of the initialize-based revisions without rmcp's per-request
    /// service (`mcp::direct`). Off sends every request through rmcp, at about half the throughput.
    pub direct_dispatch: bool,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            direct_dispatch: true,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub email: String,
    /// Prefer `STATUSGATE_ADMIN_PASSWORD`; when neither is set the demo prints a generated one once.
    pub password: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Sign-in attempts one (email, client address) pair may make per window.
    pub login_max_failures: u32,
    pub login_window_minutes: u32,
    /// Sign-in attempts per client address across all emails, refilled evenly (per instance).
    pub login_per_address_per_minute: u32,
    /// Sign-in attempts a client address may make at once after being idle.
    pub login_per_address_burst: u32,
    pub session_idle_minutes: u32,
    /// Reverse proxies in front of statusgate whose `X-Forwarded-For` entries are believed when working
    /// out a client's address for per-address limits; 0 uses the TCP peer.
    pub trusted_proxy_hops: u32,
}

/// The Hosted MCP authorization server. Lifetimes are in seconds unless the name says otherwise.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    pub code_ttl_secs: u64,
    /// A repeated refresh inside this window gets the same successor instead of counting as theft.
    pub refresh_retry_window_secs: u64,
    /// A new signing key is made when the newest is older than this.
    pub key_rotation_days: u64,
    /// Self-registered clients that never reach consent are deleted after this.
    pub registration_reap_hours: u64,
    /// Registrations with identical metadata, not yet approved by anyone, accepted per minute (across
    /// all addresses). Identical registrations of a public client reuse one client and are not counted.
    pub identical_registrations_per_minute: u32,
    /// Registrations that store a new client, per client address and minute (a token bucket)...
    pub registrations_per_minute: u32,
    /// ...and how many of them one address may make at once.
    pub registration_burst: u32,
    /// Metadata-document fetches (URL client ids not in this instance's cache), per client address and
    /// minute (a token bucket)...
    pub document_fetches_per_minute: u32,
    /// ...how many of them one address may make at once...
    pub document_fetch_burst: u32,
    /// ...and per minute for the whole instance, all addresses together.
    pub document_fetches_total_per_minute: u32,
    /// Dynamic client registration at `/mcp/oauth/register`.
    pub dcr_enabled: bool,
    /// URL client ids (Client ID Metadata Documents).
    pub cimd_enabled: bool,
    /// Fetch metadata documents from loopback/private addresses and over http (tests only).
    pub cimd_allow_private_targets: bool,
    /// Fetch trusted issuers' JWKS from loopback/private addresses and over http (tests only).
    pub jwks_allow_private_targets: bool,
    /// Private-use-scheme redirect URIs accepted, by exact match.
    pub private_use_redirect_uris: Vec<String>,
    /// Encrypts the signing keys in the database; from `STATUSGATE_KEY_ENCRYPTION_KEY` only (a
    /// `key_encryption_key` in the file is refused as an unknown key).
    #[serde(skip)]
    pub key_encryption_key: Option<EncryptionKey>,
    /// The previous key while rotating, from `STATUSGATE_KEY_ENCRYPTION_KEY_OLD` only.
    #[serde(skip)]
    pub key_encryption_key_old: Option<EncryptionKey>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3_600,
            refresh_token_ttl_days: 30,
            code_ttl_secs: 600,
            refresh_retry_window_secs: 60,
            key_rotation_days: 30,
            registration_reap_hours: 24,
            identical_registrations_per_minute: 20,
            registrations_per_minute: 60,
            registration_burst: 120,
            document_fetches_per_minute: 10,
            document_fetch_burst: 20,
            document_fetches_total_per_minute: 120,
            dcr_enabled: true,
            cimd_enabled: true,
            cimd_allow_private_targets: false,
            jwks_allow_private_targets: false,
            private_use_redirect_uris: vec!["cursor://anysphere.cursor-mcp/oauth/callback".into()],
            key_encryption_key: None,
            key_encryption_key_old: None,
        }
    }
}

impl OAuthConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(60..=86_400).contains(&self.access_token_ttl_secs) {
            return Err(key_error(
                "oauth.access_token_ttl_secs",
                "must be between 60 and 86400 (24 hours)",
            ));
        }
        if !(1..=365).contains(&self.refresh_token_ttl_days) {
            return Err(key_error(
                "oauth.refresh_token_ttl_days",
                "must be between 1 and 365",
            ));
        }
        if !(30..=600).contains(&self.code_ttl_secs) {
            return Err(key_error(
                "oauth.code_ttl_secs",
                "must be between 30 and 600",
            ));
        }
        if self.refresh_retry_window_secs > 300 {
            return Err(key_error(
                "oauth.refresh_retry_window_secs",
                "must be at most 300",
            ));
        }
        if self.key_rotation_days == 0 {
            return Err(key_error("oauth.key_rotation_days", "must be at least 1"));
        }
        if self.registration_reap_hours == 0 {
            return Err(key_error(
                "oauth.registration_reap_hours",
                "must be at least 1",
            ));
        }
        for (key, value) in [
            (
                "oauth.identical_registrations_per_minute",
                self.identical_registrations_per_minute,
            ),
            (
                "oauth.registrations_per_minute",
                self.registrations_per_minute,
            ),
            ("oauth.registration_burst", self.registration_burst),
            (
                "oauth.document_fetches_per_minute",
                self.document_fetches_per_minute,
            ),
            ("oauth.document_fetch_burst", self.document_fetch_burst),
            (
                "oauth.document_fetches_total_per_minute",
                self.document_fetches_total_per_minute,
            ),
        ] {
            if value == 0 {
                return Err(key_error(key, "must be at least 1"));
            }
        }
        for uri in &self.private_use_redirect_uris {
            let scheme_ok = uri.split_once(':').is_some_and(|(s, _)| {
                !s.is_empty() && !matches!(s, "http" | "https" | "javascript" | "data")
            });
            if !scheme_ok || uri.contains('#') {
                return Err(key_error(
                    "oauth.private_use_redirect_uris",
                    format!("`{uri}` is not a private-use-scheme URI without a fragment"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            database_url: "sqlite://data/statusgate.db".into(),
            demo: false,
            log: "info".into(),
            log_format: LogFormat::Text,
            metrics: MetricsConfig::default(),
            telemetry: TelemetryConfig::default(),
            admin: AdminConfig::default(),
            database: DatabaseConfig::default(),
            security: SecurityConfig::default(),
            oauth: OAuthConfig::default(),
            monitors: MonitorsConfig::default(),
            delivery: DeliveryConfig::default(),
            smtp: SmtpConfig::default(),
            mcp: McpConfig::default(),
            api: ApiConfig::default(),
            public: PublicConfig::default(),
            server: ServerConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            email: "admin@example.com".into(),
            password: None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
            busy_timeout_ms: 5_000,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            login_max_failures: 5,
            login_window_minutes: 15,
            login_per_address_per_minute: 10,
            login_per_address_burst: 20,
            session_idle_minutes: 720,
            trusted_proxy_hops: 0,
        }
    }
}

/// The admin password never reaches a log line.
impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminConfig")
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("database_url", &redact_url(&self.database_url))
            .field("demo", &self.demo)
            .field("admin", &self.admin)
            .field("database", &self.database)
            .field("security", &self.security)
            .field("oauth", &self.oauth)
            .field("monitors", &self.monitors)
            .field("delivery", &self.delivery)
            .field("smtp", &self.smtp)
            .field("server", &self.server)
            .field("retention", &self.retention)
            .field("metrics", &self.metrics)
            .field("telemetry", &self.telemetry)
            .finish()
    }
}

/// Hides a password in `scheme://user:password@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:[redacted]{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn key_error(key: &str, reason: impl fmt::Display) -> ConfigError {
    ConfigError(format!("configuration key `{key}`: {reason}"))
}

impl Config {
    /// Reads `path` (a missing default file means defaults; a missing named file is an error), applies
    /// the environment, validates.
    pub fn load(path: &Path, must_exist: bool) -> Result<Self, ConfigError> {
        let mut cfg = match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_toml(&text, path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Self::default(),
            Err(e) => return Err(ConfigError(format!("cannot read {}: {e}", path.display()))),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn parse_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let mut msg = e.message().replace('\n', " ");
            if msg.contains("`key_encryption_key") {
                msg = format!("secrets are not read from the file; set {KEY_ENV} instead ({msg})");
            }
            match line {
                Some(l) => ConfigError(format!("{} line {l}: {msg}", path.display())),
                None => ConfigError(format!("{}: {msg}", path.display())),
            }
        })
    }

    /// `STATUSGATE_*` variables override the file.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("STATUSGATE_BIND") {
            self.bind = v;
        }
        if let Some(v) = get("STATUSGATE_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("STATUSGATE_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("STATUSGATE_ADMIN_EMAIL") {
            self.admin.email = v;
        }
        if let Some(v) = get("STATUSGATE_ADMIN_PASSWORD") {
            self.admin.password = Some(v);
        }
        if let Some(v) = get("STATUSGATE_DEMO") {
            self.demo = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(key_error("STATUSGATE_DEMO", "expected true or false")),
            };
        }
        if let Some(v) = get("STATUSGATE_LOG") {
            self.log = v;
        }
        if let Some(v) = get("STATUSGATE_LOG_FORMAT") {
            self.log_format = LogFormat::parse(&v)?;
        }
        if let Some(v) = get("STATUSGATE_METRICS_TOKEN") {
            self.metrics.token = Some(v);
        }
        if let Some(v) = get("STATUSGATE_SMTP_PASSWORD") {
            self.smtp.password = Some(v);
        }
        if let Some(k) = encryption_key::from_env(&get, KEY_ENV)? {
            self.oauth.key_encryption_key = Some(k);
        }
        if let Some(k) = encryption_key::from_env(&get, OLD_KEY_ENV)? {
            self.oauth.key_encryption_key_old = Some(k);
        }
        Ok(())
    }

    pub fn validate(&mut self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        self.metrics.validate()?;
        let url = self.public_url.trim().trim_end_matches('/').to_owned();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| key_error("public_url", "must start with http:// or https://"))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(key_error(
                "public_url",
                "must be a scheme and host (and port), with no path",
            ));
        }
        self.public_url = url;
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(key_error(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        crate::domain::Email::parse(&self.admin.email)
            .map_err(|_| key_error("admin.email", "is not a valid email address"))?;
        if let Some(p) = &self.admin.password {
            if p.chars().count() < 8 {
                return Err(key_error("admin.password", "must be at least 8 characters"));
            }
        }
        if !(1..=512).contains(&self.database.max_connections) {
            return Err(key_error(
                "database.max_connections",
                "must be between 1 and 512",
            ));
        }
        if !(1..=3600).contains(&self.public.max_age_secs) {
            return Err(key_error(
                "public.max_age_secs",
                "must be between 1 and 3600",
            ));
        }
        if self.public.misses_per_minute == 0 || self.public.misses_burst == 0 {
            return Err(key_error(
                "public.misses_per_minute",
                "and public.misses_burst must be at least 1",
            ));
        }
        if !PUBLIC_CACHE_BYTES.contains(&self.public.cache_max_bytes) {
            return Err(key_error(
                "public.cache_max_bytes",
                format!(
                    "must be between {} (64 KiB) and {} (64 GiB)",
                    PUBLIC_CACHE_BYTES.start(),
                    PUBLIC_CACHE_BYTES.end()
                ),
            ));
        }
        if let Some(slug) = &mut self.public.default_page {
            *slug = crate::domain::Slug::parse("public.default_page", slug)
                .map_err(|_| {
                    key_error(
                        "public.default_page",
                        "must be a page's public address: 2 to 48 lowercase letters, digits or single dashes",
                    )
                })?
                .as_str()
                .to_owned();
        }
        if self.public.stale_while_revalidate_secs > 86_400 {
            return Err(key_error(
                "public.stale_while_revalidate_secs",
                "must be at most 86400",
            ));
        }
        if self.api.rate_per_minute == 0 || self.api.burst == 0 {
            return Err(key_error(
                "api.rate_per_minute",
                "and api.burst must be at least 1",
            ));
        }
        if self.security.login_max_failures == 0 {
            return Err(key_error(
                "security.login_max_failures",
                "must be at least 1",
            ));
        }
        if self.security.login_window_minutes == 0 {
            return Err(key_error(
                "security.login_window_minutes",
                "must be at least 1",
            ));
        }
        if self.security.login_per_address_per_minute == 0
            || self.security.login_per_address_burst == 0
        {
            return Err(key_error(
                "security.login_per_address_per_minute",
                "and security.login_per_address_burst must be at least 1",
            ));
        }
        if self.security.session_idle_minutes == 0 {
            return Err(key_error(
                "security.session_idle_minutes",
                "must be at least 1",
            ));
        }
        monitoring::validate(&self.monitors, &self.delivery, &self.smtp)?;
        for o in &self.mcp.allowed_origins {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(['/', '?', '#', ' '])) {
                return Err(key_error(
                    "mcp.allowed_origins",
                    format!("`{o}` must be an origin like http://localhost:6274"),
                ));
            }
        }
        self.server.validate()?;
        self.retention.validate()?;
        self.oauth.validate()
    }

    /// The settings the monitoring and delivery services read.
    pub fn monitoring(&self) -> MonitoringSettings {
        MonitoringSettings {
            monitors: self.monitors.clone(),
            delivery: self.delivery.clone(),
            smtp: self.smtp.clone(),
            public_url: self.public_url.clone(),
            own_origin: None,
        }
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.trim().parse().map_err(|_| {
            key_error(
                "bind",
                format!("`{}` is not an address like 127.0.0.1:8080", self.bind),
            )
        })
    }

    /// A warning when `bind`'s port is not `public_url`'s and no proxy is said to stand between
    /// them: the set-up link, invitations and the OAuth issuer are all built from `public_url`, so
    /// they would point at a port nobody answers on. Port 0 (pick any, as tests do) is never warned
    /// about: the public URL then follows the port picked (see `App::build`).
    pub fn public_url_mismatch(&self) -> Option<String> {
        let bind = self.bind_addr().ok()?.port();
        if bind == 0 || self.security.trusted_proxy_hops > 0 {
            return None;
        }
        let public = url::Url::parse(&self.public_url)
            .ok()?
            .port_or_known_default()?;
        (bind != public).then(|| {
            format!(
                "`bind` listens on port {bind} but `public_url` ({}) names port {public}; the set-up \
                 link, invitations and the OAuth issuer use public_url: set it to the address people \
                 reach (public_url / STATUSGATE_PUBLIC_URL), or set [security] trusted_proxy_hops when \
                 a proxy forwards that address here",
                self.public_url
            )
        })
    }

    /// Cookies get `Secure` only when the public URL is https.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.apply_env(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_are_valid() {
        assert!(from_env(&[]).is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = from_env(&[("STATUSGATE_BIND", "nowhere")])
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`bind`")));
        let e = from_env(&[("STATUSGATE_PUBLIC_URL", "ftp://x")])
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`public_url`")));
        let e = from_env(&[("STATUSGATE_DEMO", "maybe")])
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("STATUSGATE_DEMO")));
    }

    #[test]
    fn oauth_limits_name_their_key() {
        let mut c = Config::default();
        c.oauth.access_token_ttl_secs = 90_000;
        let e = c.validate().err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`oauth.access_token_ttl_secs`")));
        let mut c = Config::default();
        c.oauth.private_use_redirect_uris = vec!["https://x.example/cb".into()];
        let e = c.validate().err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`oauth.private_use_redirect_uris`")));
    }

    #[test]
    fn the_public_cache_bound_is_checked() {
        for bad in [0, 1024, (64 << 30) + 1] {
            let mut c = Config::default();
            c.public.cache_max_bytes = bad;
            let e = c.validate().err().map(|e| e.to_string());
            assert!(
                e.is_some_and(|e| e.contains("`public.cache_max_bytes`")),
                "{bad}"
            );
        }
        let mut c = Config::default();
        c.public.cache_max_bytes = 64 << 10;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn a_bind_port_other_than_the_public_urls_is_warned_about_unless_a_proxy_is_set() {
        let warned = |pairs: &[(&str, &str)], hops: u32| {
            let mut c = from_env(pairs).unwrap();
            c.security.trusted_proxy_hops = hops;
            c.public_url_mismatch()
        };
        assert!(warned(&[], 0).is_none(), "the defaults agree");
        let w = warned(&[("STATUSGATE_BIND", "127.0.0.1:8081")], 0);
        assert!(
            w.as_deref().is_some_and(|w| w.contains("port 8081")
                && w.contains("port 8080")
                && w.contains("STATUSGATE_PUBLIC_URL")),
            "{w:?}"
        );
        assert!(warned(&[("STATUSGATE_BIND", "127.0.0.1:8081")], 1).is_none());
        assert!(warned(&[("STATUSGATE_BIND", "127.0.0.1:0")], 0).is_none());
        let https = [
            ("STATUSGATE_BIND", "0.0.0.0:443"),
            ("STATUSGATE_PUBLIC_URL", "https://status.example.com"),
        ];
        assert!(warned(&https, 0).is_none(), "443 is https's port");
        let proxied = [
            ("STATUSGATE_BIND", "127.0.0.1:8080"),
            ("STATUSGATE_PUBLIC_URL", "https://status.example.com"),
        ];
        assert!(warned(&proxied, 0).is_some());
    }

    #[test]
    fn a_default_page_must_be_a_slug() {
        let mut c = Config::default();
        c.public.default_page = Some("Not a slug".into());
        let e = c.validate().err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`public.default_page`")));
        c.public.default_page = Some("api".into());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let c = from_env(&[("STATUSGATE_PUBLIC_URL", "https://status.example.com/")]);
        assert!(c.is_ok_and(|c| c.public_url == "https://status.example.com" && c.is_https()));
    }

    #[test]
    fn unknown_keys_are_refused_with_a_line_number() {
        let e = Config::parse_toml("bind = \"127.0.0.1:1\"\nbnid = 3\n", Path::new("c.toml"));
        assert!(e.err().is_some_and(|e| e.to_string().contains("line 2")));
    }

    #[test]
    fn secrets_do_not_print() {
        let mut c = Config::default();
        c.admin.password = Some("hunter2hunter2".into());
        c.database_url = "postgres://sg:pw123@db/sg".into();
        let key = EncryptionKey::generate();
        c.oauth.key_encryption_key = Some(key.clone());
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("pw123"));
        assert!(!shown.contains(&key.to_base64()));
    }

    #[test]
    fn the_key_encryption_key_comes_from_the_environment_only() {
        let key = EncryptionKey::generate();
        let c = from_env(&[(KEY_ENV, &key.to_base64()), (OLD_KEY_ENV, "")]);
        assert!(c
            .is_ok_and(|c| c.oauth.key_encryption_key == Some(key)
                && c.oauth.key_encryption_key_old.is_none()));
        let e = from_env(&[(OLD_KEY_ENV, "c2hvcnQ=")])
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains(OLD_KEY_ENV)));
        let text = "[oauth]\nkey_encryption_key = \"AAAA\"\n";
        let e = Config::parse_toml(text, Path::new("c.toml"))
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("line 2") && e.contains(KEY_ENV)),
            "{e:?}"
        );
    }
}
