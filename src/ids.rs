//! Newtype ids. Every id is random (96 bits, hex) with a short prefix naming its kind, generated in Rust so
//! that SQLite and PostgreSQL store the same text.

use std::fmt;

use rand::RngCore;

/// Longest id we accept from outside: prefix + 24 hex digits, with room to spare.
const MAX_ID_LEN: usize = 40;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, random_hex(12)))
            }

            /// Accepts only the shape we generate, so a stray value never reaches a query.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?;
                let ok = s.len() <= MAX_ID_LEN
                    && !rest.is_empty()
                    && rest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
                ok.then(|| Self(s.to_owned()))
            }

            /// Wraps a value read back from our own database.
            #[allow(dead_code)] // Not every kind of id is read back.
            pub(crate) fn from_db(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(OrgId, "org_");
id_type!(UserId, "usr_");
id_type!(PageId, "pg_");
id_type!(ComponentId, "cmp_");
id_type!(IncidentId, "inc_");
id_type!(IncidentUpdateId, "iup_");
id_type!(MaintenanceId, "mnt_");
id_type!(MaintenanceUpdateId, "mup_");
id_type!(AuditId, "aud_");
id_type!(ClientId, "cli_");
id_type!(GrantId, "gr_");
id_type!(ApiKeyId, "key_");
id_type!(KeyId, "kid_");
id_type!(MonitorId, "mon_");
id_type!(MonitorGroupId, "mgr_");
id_type!(MonitorEventId, "mev_");
id_type!(PendingActionId, "act_");
id_type!(SubscriberId, "sub_");
id_type!(NotificationId, "ntf_");
id_type!(InvitationId, "inv_");

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The SHA-256 of `secret` as lowercase hex: how tokens, keys and codes are kept at rest.
pub fn sha256_hex(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sha256_match_the_reference_values() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(random_hex(12).len(), 24);
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = PageId::generate();
        assert_eq!(PageId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn foreign_shapes_are_refused() {
        assert!(PageId::parse("inc_00ff").is_none());
        assert!(PageId::parse("pg_").is_none());
        assert!(PageId::parse("pg_XYZ").is_none());
        assert!(PageId::parse("pg_00ff'; drop table pages").is_none());
        assert!(PageId::parse(&format!("pg_{}", "a".repeat(60))).is_none());
    }
}
