//! Cross-site posting refused on the forms anyone may fill in (subscribe, unsubscribe, sign-in, forgot
//! and reset password) without a server session, so showing such a form writes nothing. The form's
//! page puts a random nonce in a `SameSite=Strict`, `HttpOnly` cookie and, in the form, an expiring
//! HMAC over the form's purpose, the nonce and the expiry, under a key every instance derives from the
//! sealing key. A post must bring both, agreeing and unexpired: another site can make a browser post
//! the form but cannot read or set the cookie, and a token lifted from one visitor's form is useless
//! without that visitor's cookie.

use axum::http::{header, HeaderMap, HeaderValue};
use subtle::ConstantTimeEq;

use super::WebError;
use crate::service::Services;

const COOKIE: &str = "statusgate_form";
/// How long a form may sit open before it must be reloaded.
const LIFETIME_SECS: i64 = 3600;
const PURPOSE: &str = "statusgate public form tokens v1";

/// A token for the form's hidden `form_token` field and the cookie to set with the page.
pub struct FormGuard {
    pub token: String,
    pub set_cookie: Option<HeaderValue>,
}

impl FormGuard {
    /// `resp` with the form cookie, when the visitor has none yet.
    pub fn set_on(self, mut resp: axum::response::Response) -> axum::response::Response {
        if let Some(c) = self.set_cookie {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        resp
    }
}

fn key(services: &Services) -> Result<[u8; 32], WebError> {
    services.shared_key(PURPOSE).ok_or_else(|| {
        WebError::Internal("form tokens asked for before the keys were unlocked".into())
    })
}

fn mac(key: &[u8; 32], purpose: &str, nonce: &str, expires: i64) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut m) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
        return String::new();
    };
    m.update(format!("{purpose}\n{nonce}\n{expires}").as_bytes());
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The visitor's nonce, when the request carries a well-formed one.
fn nonce_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A token for a form serving `purpose` (e.g. `subscribe:{slug}`), reusing the visitor's nonce so two
/// open tabs both work.
pub fn issue(
    services: &Services,
    headers: &HeaderMap,
    purpose: &str,
    secure: bool,
) -> Result<FormGuard, WebError> {
    let key = key(services)?;
    let (nonce, set_cookie) = match nonce_of(headers) {
        Some(n) => (n, None),
        None => {
            let n = crate::ids::random_hex(16);
            let cookie = format!(
                "{COOKIE}={n}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{}",
                if secure { "; Secure" } else { "" }
            );
            (n, HeaderValue::from_str(&cookie).ok())
        }
    };
    let expires = services.clock.now().unix_timestamp() + LIFETIME_SECS;
    Ok(FormGuard {
        token: format!("{expires}.{}", mac(&key, purpose, &nonce, expires)),
        set_cookie,
    })
}

/// Accepts a post for `purpose` only with the visitor's cookie and an unexpired token made for it.
pub fn check(
    services: &Services,
    headers: &HeaderMap,
    purpose: &str,
    submitted: Option<&str>,
) -> Result<(), WebError> {
    let key = key(services)?;
    let nonce = nonce_of(headers).ok_or(WebError::Csrf)?;
    let (expires, given) = submitted
        .and_then(|t| t.split_once('.'))
        .ok_or(WebError::Csrf)?;
    let expires: i64 = expires.parse().map_err(|_| WebError::Csrf)?;
    if expires < services.clock.now().unix_timestamp() {
        return Err(WebError::Csrf);
    }
    let expected = mac(&key, purpose, &nonce, expires);
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        return Err(WebError::Csrf);
    }
    Ok(())
}
