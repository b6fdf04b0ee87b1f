//! The key that encrypts the token signing keys in the database. It comes from the environment only
//! (`STATUSGATE_KEY_ENCRYPTION_KEY`, and `…_OLD` while rotating): a secret never belongs in
//! config.toml, which is usually kept in version control.

pub use crate::domain::secret::{EncryptionKey, KEY_ENV, OLD_KEY_ENV};

use super::{key_error, ConfigError};

/// Reads one of the two variables; empty counts as unset (as `KEY=` in an env file leaves it).
pub(super) fn from_env(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
) -> Result<Option<EncryptionKey>, ConfigError> {
    match get(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => EncryptionKey::parse(&v).map(Some).ok_or_else(|| {
            key_error(
                var,
                "must be the base64 of 32 random bytes (make one with `openssl rand -base64 32`)",
            )
        }),
    }
}
