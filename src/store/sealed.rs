//! Signing keys encrypted at rest: XChaCha20-Poly1305 under a 32-byte key, a random 192-bit nonce per
//! row and the row's key id as associated data (so a sealed secret copied onto another key id does not
//! open). The key comes from `STATUSGATE_KEY_ENCRYPTION_KEY`; a single SQLite instance without it keeps
//! a generated one in a file beside the database.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::StoreError;
use crate::domain::secret::{EncryptionKey, KEY_ENV, OLD_KEY_ENV};

/// Marks a sealed secret. `:` is outside base64url, so no secret stored in clear starts this way.
const PREFIX: &str = "sealed1:";
const NONCE_LEN: usize = 24;

/// Where the current key came from, named in errors so the operator knows what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Env,
    /// A key file beside the SQLite database; `created` on the start that generated it.
    File {
        path: PathBuf,
        created: bool,
    },
    /// An in-memory SQLite database: the key lives as long as the data.
    Memory,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => f.write_str(KEY_ENV),
            Self::File { path, .. } => {
                write!(f, "the key file {} ({KEY_ENV} is not set)", path.display())
            }
            Self::Memory => f.write_str("the key of this in-memory database"),
        }
    }
}

/// Why the signing keys cannot be unlocked. Each is one line naming what to set.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{KEY_ENV} is not set: with PostgreSQL every instance must get the same key in it, the base64 of 32 random bytes (make one with `openssl rand -base64 32`)")]
    MissingForPostgres,
    #[error("the signing keys in the database are encrypted, but {KEY_ENV} is not set and {} does not exist: set {KEY_ENV} to the key they were encrypted with", .0.display())]
    MissingForSealed(PathBuf),
    #[error("signing key {kid} in the database does not decrypt with {from}{}: set {KEY_ENV} to the key it was encrypted with (to change keys, pass that one as {OLD_KEY_ENV})", if *.old { format!(" nor {OLD_KEY_ENV}") } else { String::new() })]
    WrongKey {
        kid: String,
        from: KeySource,
        old: bool,
    },
    #[error("signing key {0} is stored in clear; restart statusgate to encrypt it")]
    InClear(String),
    #[error("the key file {path}: {reason}", path = .0.display(), reason = .1)]
    KeyFile(PathBuf, String),
    #[error("the signing keys are locked: the store was not unlocked at start-up")]
    Locked,
    #[error("a signing key could not be encrypted")]
    Encrypt,
    #[error("the signing keys cannot be read: {0}")]
    Store(#[from] StoreError),
}

impl From<SealError> for StoreError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Store(e) => e,
            other => StoreError::Corrupt(other.to_string()),
        }
    }
}

/// How a stored secret opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// Sealed with the current key: nothing to do.
    Current(String),
    /// In clear (written before encryption) or under the old key: to be sealed again.
    Stale(String),
}

/// Seals and opens secrets under the current key; opens with the old one too while rotating.
pub struct Sealer {
    current: EncryptionKey,
    old: Option<EncryptionKey>,
    pub source: KeySource,
}

impl Sealer {
    pub fn new(current: EncryptionKey, old: Option<EncryptionKey>, source: KeySource) -> Self {
        let old = old.filter(|o| *o != current);
        Self {
            current,
            old,
            source,
        }
    }

    /// A key for `purpose` derived from the current key (HMAC-SHA256 as a PRF), so every instance
    /// sharing the key agrees on it without storing another secret.
    pub fn derive(&self, purpose: &str) -> Option<[u8; 32]> {
        use hmac::{Hmac, Mac};
        // HMAC takes keys of any length, so this never fails.
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.current.bytes()).ok()?;
        mac.update(purpose.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    pub fn seal(&self, kid: &str, secret: &str) -> Result<String, SealError> {
        use rand::RngCore;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: kid.as_bytes(),
        };
        let sealed = cipher(&self.current)
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealError::Encrypt)?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
        ))
    }

    /// Opens a stored secret: sealed under the current or the old key, or still in clear.
    pub fn open(&self, kid: &str, stored: &str) -> Result<Opened, SealError> {
        let Some(text) = stored.strip_prefix(PREFIX) else {
            return Ok(Opened::Stale(stored.to_owned()));
        };
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap_or_default();
        if let Some(s) = unseal(&self.current, kid, &body) {
            return Ok(Opened::Current(s));
        }
        self.old
            .as_ref()
            .and_then(|old| unseal(old, kid, &body))
            .map(Opened::Stale)
            .ok_or_else(|| SealError::WrongKey {
                kid: kid.to_owned(),
                from: self.source.clone(),
                old: self.old.is_some(),
            })
    }

    /// Opens a secret read at run time: a row in clear is refused (only start-up migrates those),
    /// so a key planted in the table by someone without the encryption key never signs or verifies.
    pub fn open_sealed(&self, kid: &str, stored: &str) -> Result<String, SealError> {
        if !is_sealed(stored) {
            return Err(SealError::InClear(kid.to_owned()));
        }
        match self.open(kid, stored)? {
            Opened::Current(s) | Opened::Stale(s) => Ok(s),
        }
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

fn cipher(key: &EncryptionKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(Key::from_slice(key.bytes()))
}

fn unseal(key: &EncryptionKey, kid: &str, body: &[u8]) -> Option<String> {
    if body.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    let payload = Payload {
        msg: sealed,
        aad: kid.as_bytes(),
    };
    let plain = cipher(key)
        .decrypt(XNonce::from_slice(nonce), payload)
        .ok()?;
    String::from_utf8(plain).ok()
}

/// The key file for a SQLite database: `data/statusgate.db` keeps its key in `data/statusgate.key`.
pub fn key_file_for(db: &Path) -> PathBuf {
    let path = db.with_extension("key");
    if path == db {
        PathBuf::from(format!("{}.key", db.display()))
    } else {
        path
    }
}

/// Reads a key file written by [`create_key_file`] (or by hand: base64 of 32 bytes).
pub fn read_key_file(path: &Path) -> Result<Option<EncryptionKey>, SealError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SealError::KeyFile(path.into(), e.to_string())),
    };
    warn_if_readable_by_others(path);
    EncryptionKey::parse(&text).map(Some).ok_or_else(|| {
        SealError::KeyFile(path.into(), "does not hold the base64 of 32 bytes".into())
    })
}

/// Writes a new key to `path`, readable by its owner only. Two processes starting together on one
/// file both end up with the key of whichever linked its file first: the file appears complete or not
/// at all, because it is written under a temporary name and hard-linked into place.
pub fn create_key_file(path: &Path) -> Result<EncryptionKey, SealError> {
    let key = EncryptionKey::generate();
    let fail = |e: std::io::Error| SealError::KeyFile(path.into(), e.to_string());
    let tmp = PathBuf::from(format!(
        "{}.{}.tmp",
        path.display(),
        crate::ids::random_hex(4)
    ));
    let written = write_private(&tmp, &format!("{}\n", key.to_base64()))
        .and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key_file(path)?.ok_or_else(|| fail(e))
        }
        Err(e) => Err(fail(e)),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = super::files::create_private(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "the signing-key encryption key file is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(old: Option<EncryptionKey>) -> (Sealer, EncryptionKey) {
        let k = EncryptionKey::generate();
        (Sealer::new(k.clone(), old, KeySource::Env), k)
    }

    #[test]
    fn a_sealed_secret_opens_only_under_its_key_and_its_kid() {
        let (s, _) = sealer(None);
        let sealed = s.seal("kid_1", "the secret").unwrap_or_default();
        assert!(is_sealed(&sealed) && !sealed.contains("the secret"));
        assert_ne!(sealed, s.seal("kid_1", "the secret").unwrap_or_default());
        assert_eq!(
            s.open("kid_1", &sealed).ok(),
            Some(Opened::Current("the secret".into()))
        );
        assert!(matches!(
            s.open("kid_2", &sealed),
            Err(SealError::WrongKey { .. })
        ));
        let (other, _) = sealer(None);
        let e = other.open("kid_1", &sealed).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains(KEY_ENV) && e.contains("kid_1")));
    }

    #[test]
    fn the_old_key_and_clear_text_open_as_stale() {
        let (before, old) = sealer(None);
        let sealed = before.seal("kid_1", "s").unwrap_or_default();
        let (after, _) = sealer(Some(old));
        assert_eq!(
            after.open("kid_1", &sealed).ok(),
            Some(Opened::Stale("s".into()))
        );
        assert_eq!(
            after.open("kid_1", "plain").ok(),
            Some(Opened::Stale("plain".into()))
        );
        assert!(matches!(
            after.open_sealed("kid_1", "plain"),
            Err(SealError::InClear(_))
        ));
    }

    #[test]
    fn a_key_file_is_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file_for(&dir.path().join("statusgate.db"));
        assert_eq!(path, dir.path().join("statusgate.key"));
        assert!(read_key_file(&path).is_ok_and(|k| k.is_none()));
        let made = create_key_file(&path).unwrap();
        assert_eq!(read_key_file(&path).unwrap(), Some(made.clone()));
        // A second start racing the first gets the same key.
        assert_eq!(create_key_file(&path).unwrap(), made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }
}
