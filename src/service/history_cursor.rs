//! Where the next page of a status page's public history starts: the resolution time and id of the
//! last incident already shown, with an HMAC under a key every instance derives from the sealing key.
//! Only cursors this server issued are taken, each in exactly the form it was issued, so the public
//! cache keeps at most one entry per resolved incident and a visitor cannot mint new keys by padding
//! the number, re-encoding it or inventing incidents.

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::{Result, ServiceError, Services};
use crate::domain::Incident;
use crate::ids::IncidentId;

const PURPOSE: &str = "statusgate history cursors v1";
/// Hex digits of the MAC kept in the cursor (128 bits).
const MAC_HEX: usize = 32;
/// Longer than any cursor issued (an i64, an incident id, the MAC and two dots): refused unread.
const MAX_CURSOR_LEN: usize = 128;

/// A cursor this server issued for one page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryCursor {
    at: OffsetDateTime,
    id: IncidentId,
    /// `{resolved_at unix ms}.{incident id}.{mac}`, as issued.
    text: String,
}

impl HistoryCursor {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn position(&self) -> (OffsetDateTime, &IncidentId) {
        (self.at, &self.id)
    }
}

fn mac(key: &[u8; 32], public_slug: &str, at_ms: i64, id: &IncidentId) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut m) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
        return String::new();
    };
    m.update(format!("{public_slug}\n{at_ms}\n{}", id.as_str()).as_bytes());
    crate::ids::hex(&m.finalize().into_bytes())
        .chars()
        .take(MAC_HEX)
        .collect()
}

impl Services {
    fn cursor_key(&self) -> Result<[u8; 32]> {
        self.shared_key(PURPOSE).ok_or_else(|| {
            ServiceError::Internal(crate::store::StoreError::Corrupt(
                "history cursors asked for before the keys were unlocked".into(),
            ))
        })
    }

    /// The cursor after `last` on the page `public_slug`; none for an unresolved incident.
    pub(crate) fn issue_cursor(
        &self,
        public_slug: &str,
        last: &Incident,
    ) -> Result<Option<HistoryCursor>> {
        let Some(at) = last.resolved_at else {
            return Ok(None);
        };
        let key = self.cursor_key()?;
        let at_ms = crate::clock::to_millis(at);
        let text = format!(
            "{at_ms}.{}.{}",
            last.id.as_str(),
            mac(&key, public_slug, at_ms, &last.id)
        );
        Ok(Some(HistoryCursor {
            at: crate::clock::from_millis(at_ms),
            id: last.id.clone(),
            text,
        }))
    }

    /// The cursor `text` if this server issued it for `public_slug`. Anything else (malformed,
    /// padded, re-encoded, for another page or made up) names no history page: 404.
    pub fn history_cursor(&self, public_slug: &str, text: &str) -> Result<HistoryCursor> {
        let refused = || ServiceError::NotFound("history page");
        if text.len() > MAX_CURSOR_LEN {
            return Err(refused());
        }
        let mut parts = text.split('.');
        let (Some(ms), Some(id), Some(given), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refused());
        };
        let at_ms: i64 = ms.parse().map_err(|_| refused())?;
        // One spelling per number: no leading zeros or sign, so the text is the key it was issued as.
        if at_ms.to_string() != ms {
            return Err(refused());
        }
        let id = IncidentId::parse(id).ok_or_else(refused)?;
        let expected = mac(&self.cursor_key()?, public_slug, at_ms, &id);
        if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err(refused());
        }
        // Re-serialised from what was parsed (the checks above make it the text given).
        let text = format!("{at_ms}.{}.{expected}", id.as_str());
        Ok(HistoryCursor {
            at: crate::clock::from_millis(at_ms),
            id,
            text,
        })
    }
}
