//! The key that encrypts the token signing keys at rest: 32 random bytes that never print. Where it
//! comes from is the configuration's business (`config::encryption_key`); storage seals with it.

use std::fmt;

use base64::Engine;

/// The variable holding the current key.
pub const KEY_ENV: &str = "STATUSGATE_KEY_ENCRYPTION_KEY";
/// The variable holding the previous key while rotating: rows it opens are re-encrypted at start-up.
pub const OLD_KEY_ENV: &str = "STATUSGATE_KEY_ENCRYPTION_KEY_OLD";

/// 32 random bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    /// Base64 of exactly 32 bytes, standard or URL-safe, padded or not (`openssl rand -base64 32`).
    pub fn parse(text: &str) -> Option<Self> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(Self)
    }

    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Standard padded base64, the form `parse` reads back and `openssl rand -base64 32` prints.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_every_base64_alphabet_and_only_at_32_bytes() {
        let k = EncryptionKey::generate();
        let b = k.bytes();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        assert_eq!(EncryptionKey::parse(&k.to_base64()), Some(k.clone()));
        assert_eq!(EncryptionKey::parse(&format!(" {url}\n")), Some(k));
        assert_eq!(EncryptionKey::parse("c2hvcnQ="), None);
        assert_eq!(EncryptionKey::parse("not base64 at all"), None);
    }

    #[test]
    fn a_key_never_prints() {
        let k = EncryptionKey::generate();
        assert!(!format!("{k:?}").contains(&k.to_base64()));
    }
}
