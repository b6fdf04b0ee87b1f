//! Configuration for running statusgate in production: `[server]` (load and stopping) and `[retention]` (how long
//! finished rows are kept before the upkeep task deletes them).

use serde::Deserialize;

use super::{key_error, ConfigError};

/// The process itself.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// After SIGTERM or SIGINT, how long requests already being served may take to finish before the
    /// process stops anyway.
    pub shutdown_grace_secs: u64,
    /// Requests worked on at once. Further requests wait, before their body is read, for one to finish:
    /// past what the cores and the database pool can serve, more at once only costs memory.
    pub max_concurrent_requests: u32,
    /// Requests that may wait for a turn; one more is answered 503 with `Retry-After` at once.
    pub request_queue: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            shutdown_grace_secs: 10,
            max_concurrent_requests: 128,
            request_queue: 16_384,
        }
    }
}

/// Days each kind of finished row is kept. The clock for each starts when the row stopped being useful:
/// a notification when it was delivered or given up on, a code or token when it expired (or its
/// connection was revoked), a session when it expired, an invitation when it was accepted, withdrawn or
/// expired.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Daily view counts of public pages (the admin's traffic chart reads the last 30 days).
    pub page_view_days: u32,
    /// Delivered and dead-lettered notifications (the outbox).
    pub notification_days: u32,
    /// Expired authorization codes.
    pub oauth_code_days: u32,
    /// Refresh tokens, counted from their expiry or from the revocation of their connection; a token
    /// past either can never be exchanged again.
    pub refresh_token_days: u32,
    /// Expired web sessions.
    pub session_days: u32,
    /// Accepted, withdrawn and expired invitations.
    pub invitation_days: u32,
    /// The audit log; absent keeps it forever.
    pub audit_days: Option<u32>,
    /// Rows deleted per statement, so no delete holds the database for long.
    pub batch_size: u32,
    /// Rows deleted per kind per upkeep run (every ten minutes); the rest waits for the next run.
    pub max_per_run: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            page_view_days: 400,
            notification_days: 30,
            oauth_code_days: 1,
            refresh_token_days: 7,
            session_days: 1,
            invitation_days: 30,
            audit_days: None,
            batch_size: 500,
            max_per_run: 20_000,
        }
    }
}

impl RetentionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, days) in [
            ("retention.page_view_days", self.page_view_days),
            ("retention.notification_days", self.notification_days),
            ("retention.oauth_code_days", self.oauth_code_days),
            ("retention.refresh_token_days", self.refresh_token_days),
            ("retention.session_days", self.session_days),
            ("retention.invitation_days", self.invitation_days),
            ("retention.audit_days", self.audit_days.unwrap_or(1)),
        ] {
            if !(1..=36_500).contains(&days) {
                return Err(key_error(key, "must be between 1 and 36500 days"));
            }
        }
        if !(1..=10_000).contains(&self.batch_size) {
            return Err(key_error(
                "retention.batch_size",
                "must be between 1 and 10000",
            ));
        }
        if self.max_per_run < self.batch_size {
            return Err(key_error(
                "retention.max_per_run",
                "must be at least retention.batch_size",
            ));
        }
        Ok(())
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let limits = [
            (
                "server.shutdown_grace_secs",
                self.shutdown_grace_secs,
                0..=3_600,
            ),
            (
                "server.max_concurrent_requests",
                u64::from(self.max_concurrent_requests),
                1..=100_000,
            ),
            (
                "server.request_queue",
                u64::from(self.request_queue),
                0..=1_000_000,
            ),
        ];
        for (key, value, range) in limits {
            if !range.contains(&value) {
                let (low, high) = range.into_inner();
                return Err(key_error(key, format!("must be between {low} and {high}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_the_audit_log_forever_and_validate() {
        let r = RetentionConfig::default();
        assert!(r.audit_days.is_none() && r.validate().is_ok());
        assert!(ServerConfig::default().validate().is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        let r = RetentionConfig {
            audit_days: Some(0),
            ..RetentionConfig::default()
        };
        let e = r.validate().err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`retention.audit_days`")));
        let r = RetentionConfig {
            max_per_run: 10,
            ..RetentionConfig::default()
        };
        let e = r.validate().err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`retention.max_per_run`")));
        let s = ServerConfig {
            max_concurrent_requests: 0,
            ..ServerConfig::default()
        };
        let e = s.validate().err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`server.max_concurrent_requests`")));
    }
}
