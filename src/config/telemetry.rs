//! Configuration for what statusgate tells its operators: the log line format (`log_format`), the
//! access log (`[telemetry]`) and the Prometheus endpoint (`[metrics]`).

use std::fmt;

use serde::Deserialize;

use super::{key_error, ConfigError};

/// How each log line is written to standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    pub fn parse(v: &str) -> Result<Self, ConfigError> {
        match v.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(key_error("STATUSGATE_LOG_FORMAT", "expected text or json")),
        }
    }
}

/// `[telemetry]`: what is logged besides warnings and errors.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// One `info` line per request answered (method, route, status, duration, request id).
    pub access_log: bool,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { access_log: true }
    }
}

/// `/metrics`: off (404) unless a token is set; scrapers then send it as a bearer token.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Prefer `STATUSGATE_METRICS_TOKEN`, which keeps the token out of the file.
    pub token: Option<String>,
}

/// The token never reaches a log line.
impl fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl MetricsConfig {
    /// An empty token would let anyone scrape, so it means "off"; a short one is refused.
    pub(super) fn validate(&mut self) -> Result<(), ConfigError> {
        if self.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.token = None;
        }
        if let Some(t) = &self.token {
            if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(key_error(
                    "metrics.token",
                    "must be at least 16 visible ASCII characters",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_keys_parse() {
        let path = std::path::Path::new("config.toml");
        let shipped =
            super::super::Config::parse_toml(include_str!("../../config.toml"), path).unwrap();
        assert_eq!(shipped.log_format, LogFormat::Text);
        assert!(shipped.metrics.token.is_none());
        let c = super::super::Config::parse_toml(
            "log_format = \"json\"\n[metrics]\ntoken = \"0123456789abcdef\"\n",
            path,
        )
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.metrics.token.as_deref(), Some("0123456789abcdef"));
        assert!(super::super::Config::parse_toml("log_format = \"xml\"\n", path).is_err());
    }

    #[test]
    fn formats_and_tokens_are_checked() {
        assert_eq!(LogFormat::parse(" JSON ").unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::parse("text").unwrap(), LogFormat::Text);
        assert!(LogFormat::parse("xml").is_err());
        let mut m = MetricsConfig {
            token: Some("  ".into()),
        };
        m.validate().unwrap();
        assert!(m.token.is_none(), "an empty token turns metrics off");
        for bad in ["short", "has a space in it somewhere"] {
            let mut m = MetricsConfig {
                token: Some(bad.into()),
            };
            assert!(m.validate().is_err(), "{bad}");
        }
        let mut m = MetricsConfig {
            token: Some("0123456789abcdef".into()),
        };
        m.validate().unwrap();
        assert!(!format!("{m:?}").contains("0123456789abcdef"));
    }
}
