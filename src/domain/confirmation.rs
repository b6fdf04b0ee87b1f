//! The sealed `requestState` of a notify confirmation (MCP multi round-trip requests): what the person
//! is asked to confirm is bound to the credential, the tool, a digest of the exact arguments and an
//! expiry, under an HMAC key every instance derives from the sealing key. The client holds it between
//! the two rounds and can read it (nothing in it is secret) but not change it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a person has to answer.
pub const CONFIRMATION_TTL_MS: i64 = 5 * 60 * 1000;
const VERSION: &str = "c1";

/// What a confirmation stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Random; marked used in the database on the retry, so it works once.
    pub id: String,
    /// The grant (or API key) and user it was asked for.
    pub credential: String,
    pub user: String,
    pub tool: String,
    /// SHA-256 of the arguments in canonical form (see [`args_digest`]).
    pub args: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// Why a `requestState` is not honoured. Each is answered as invalid params; none publishes anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmationRefusal {
    #[error("the requestState is not one this server issued or was altered")]
    Tampered,
    #[error("the confirmation expired (it lasts 5 minutes)")]
    Expired,
    #[error("the confirmation was asked for another connection or person")]
    OtherCredential,
    #[error("the confirmation was asked for another tool or other arguments")]
    OtherCall,
    #[error("the confirmation was already answered once")]
    Used,
}

fn mac(key: &[u8; 32], payload: &[u8]) -> Option<[u8; 32]> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    m.update(VERSION.as_bytes());
    m.update(b"\n");
    m.update(payload);
    Some(m.finalize().into_bytes().into())
}

impl Confirmation {
    /// `c1.<payload>.<mac>`, both base64url.
    pub fn seal(&self, key: &[u8; 32]) -> Option<String> {
        let payload = serde_json::to_vec(self).ok()?;
        let tag = mac(key, &payload)?;
        Some(format!(
            "{VERSION}.{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// The confirmation `state` seals, if its tag is ours (compared in constant time). Expiry and
    /// bindings are the caller's to check, against the call in hand.
    pub fn open(key: &[u8; 32], state: &str) -> Result<Self, ConfirmationRefusal> {
        let mut parts = state.split('.');
        let (Some(VERSION), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ConfirmationRefusal::Tampered);
        };
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ConfirmationRefusal::Tampered)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| ConfirmationRefusal::Tampered)?;
        let expected = mac(key, &payload).ok_or(ConfirmationRefusal::Tampered)?;
        if !bool::from(expected.as_slice().ct_eq(&tag)) {
            return Err(ConfirmationRefusal::Tampered);
        }
        serde_json::from_slice(&payload).map_err(|_| ConfirmationRefusal::Tampered)
    }
}

/// SHA-256 (hex) of `args` with object keys sorted at every depth, so the same arguments sent in
/// another key order still match and any changed value does not.
pub fn args_digest(args: &serde_json::Map<String, Value>) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    if let Some(inner) = m.get(k) {
                        write(inner, out);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    write(&Value::Object(args.clone()), &mut text);
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Confirmation {
        Confirmation {
            id: "c".into(),
            credential: "g".into(),
            user: "u".into(),
            tool: "create_incident".into(),
            args: "d".into(),
            expires_at: 1,
        }
    }

    #[test]
    fn a_sealed_state_opens_only_unchanged_and_under_its_key() {
        let key = [7u8; 32];
        let state = sample().seal(&key).expect("seals");
        assert_eq!(Confirmation::open(&key, &state), Ok(sample()));
        assert_eq!(
            Confirmation::open(&[8u8; 32], &state),
            Err(ConfirmationRefusal::Tampered)
        );
        for bad in [
            format!("{state}-TAMPERED"),
            format!("{state}.x"),
            state.replacen("c1.", "c2.", 1),
            String::new(),
        ] {
            assert_eq!(
                Confirmation::open(&key, &bad),
                Err(ConfirmationRefusal::Tampered)
            );
        }
        // Another payload under the old tag.
        let (_, tag) = state.rsplit_once('.').expect("three parts");
        let mut other = sample();
        other.expires_at = i64::MAX;
        let forged = other.seal(&key).expect("seals");
        let (head, _) = forged.rsplit_once('.').expect("three parts");
        assert_eq!(
            Confirmation::open(&key, &format!("{head}.{tag}")),
            Err(ConfirmationRefusal::Tampered)
        );
    }

    #[test]
    fn the_digest_ignores_key_order_and_sees_every_value() {
        let a = json!({ "b": 1, "a": { "y": [1, 2], "x": "t" } });
        let b = json!({ "a": { "x": "t", "y": [1, 2] }, "b": 1 });
        let c = json!({ "a": { "x": "t", "y": [2, 1] }, "b": 1 });
        let d = |v: &serde_json::Value| args_digest(v.as_object().expect("object"));
        assert_eq!(d(&a), d(&b));
        assert_ne!(d(&a), d(&c));
    }
}
