//! Client ID Metadata Documents: a `client_id` that is an https URL names a JSON document the client
//! publishes. It is fetched with the same guard as visitor-supplied webhooks (https only, every
//! resolved address public, connect to the address checked), no redirects, a 5 s deadline and a 64 KiB
//! cap, then validated: its `client_id` must be the URL itself, it must list acceptable redirect URIs,
//! and it may not ask for a client secret. Results are cached per instance as `Cache-Control` says,
//! within a one-day cap; failures for five minutes, so a broken document is not refetched per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{redirect, AuthServer, OAuthError};
use crate::config::OAuthConfig;
use crate::domain::connector::{AuthMethod, Client, ClientKind};
use crate::outbound::parse_webhook_url;
use crate::ratelimit::RateLimiter;

const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: StdDuration = StdDuration::from_secs(5);
const DEFAULT_TTL: Duration = Duration::hours(1);
const MAX_TTL: Duration = Duration::days(1);
const FAILURE_TTL: Duration = Duration::minutes(5);
/// Even a document served `no-store` is kept this long: a consent page and its POST then share one
/// fetch, and a document that changes on every fetch costs one fetch per URL per minute at most.
const MIN_TTL: Duration = Duration::minutes(1);
/// The cache's bounds: entries, and bytes of the text they keep (a document is at most a few KiB once
/// validated, 10 redirect URIs of at most 2 KiB each).
const MAX_ENTRIES: usize = 256;
const MAX_CACHED_BYTES: usize = 2 * 1024 * 1024;
/// Fetches running at once, per instance; one more is refused at once (429) rather than queued, so
/// slow documents hold at most this many of the server's request slots.
pub const MAX_FETCHES_AT_ONCE: usize = 4;

/// A fetched document, or why it could not be used, and the instant that answer goes stale.
type Entry = (Result<Client, String>, OffsetDateTime);

/// Fetched documents by URL, never stored in the database: a document becomes a row only when a person
/// approves its client. A refetched document replaces its own entry and nothing else.
#[derive(Default)]
pub struct DocumentCache(Mutex<Documents>);

#[derive(Default)]
struct Documents {
    map: HashMap<String, Entry>,
    bytes: usize,
}

impl Documents {
    fn remove(&mut self, url: &str) {
        if let Some((value, _)) = self.map.remove(url) {
            self.bytes -= weight(url, &value);
        }
    }
}

/// Roughly what an entry keeps in memory: its text.
fn weight(url: &str, value: &Result<Client, String>) -> usize {
    url.len()
        + match value {
            Ok(c) => {
                c.id.len()
                    + c.name.len()
                    + c.client_uri.as_ref().map_or(0, String::len)
                    + c.logo_uri.as_ref().map_or(0, String::len)
                    + c.redirect_uris.iter().map(String::len).sum::<usize>()
            }
            Err(why) => why.len(),
        }
}

impl DocumentCache {
    fn get(&self, url: &str, now: OffsetDateTime) -> Option<Result<Client, String>> {
        let docs = self.0.lock().ok()?;
        docs.map
            .get(url)
            .filter(|(_, until)| *until > now)
            .map(|(c, _)| c.clone())
    }

    fn put(
        &self,
        url: &str,
        value: Result<Client, String>,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) {
        let Ok(mut docs) = self.0.lock() else {
            return;
        };
        let size = weight(url, &value);
        if size > MAX_CACHED_BYTES {
            return;
        }
        docs.remove(url);
        if docs.map.len() >= MAX_ENTRIES || docs.bytes + size > MAX_CACHED_BYTES {
            let stale: Vec<String> = docs
                .map
                .iter()
                .filter(|(_, (_, t))| *t <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                docs.remove(&k);
            }
        }
        // Still full: the entries that go stale first make room.
        while docs.map.len() >= MAX_ENTRIES || docs.bytes + size > MAX_CACHED_BYTES {
            let first = docs
                .map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone());
            match first {
                Some(k) => docs.remove(&k),
                None => break,
            }
        }
        docs.bytes += size;
        docs.map.insert(url.to_owned(), (value, until));
    }

    /// Entries and bytes kept (for tests and diagnostics).
    pub fn size(&self) -> (usize, usize) {
        self.0
            .lock()
            .map(|d| (d.map.len(), d.bytes))
            .unwrap_or_default()
    }
}

/// What document fetches may cost: a bucket per client address, one for the whole instance, and a few
/// fetches at once. Only fetches count; an answer from the cache is free.
pub struct FetchBudget {
    per_address: RateLimiter,
    total: RateLimiter,
    at_once: Arc<Semaphore>,
}

impl FetchBudget {
    pub fn new(config: &OAuthConfig) -> Self {
        Self {
            per_address: RateLimiter::new(
                config.document_fetches_per_minute,
                config.document_fetch_burst,
            ),
            total: RateLimiter::new(
                config.document_fetches_total_per_minute,
                config.document_fetches_total_per_minute,
            ),
            at_once: Arc::new(Semaphore::new(MAX_FETCHES_AT_ONCE)),
        }
    }

    /// A permit for one fetch from `from`, or the seconds to wait.
    fn take(&self, from: &str) -> Result<OwnedSemaphorePermit, u64> {
        let permit = self.at_once.clone().try_acquire_owned().map_err(|_| 1u64)?;
        self.per_address.take(from)?;
        self.total.take("")?;
        Ok(permit)
    }
}

/// `max-age` from a `Cache-Control` header, within [`MIN_TTL`] and [`MAX_TTL`]; `no-store` and
/// `no-cache` get the floor.
fn freshness(cache_control: Option<&str>) -> Duration {
    let Some(cc) = cache_control else {
        return DEFAULT_TTL;
    };
    let cc = cc.to_ascii_lowercase();
    if cc.contains("no-store") || cc.contains("no-cache") {
        return MIN_TTL;
    }
    cc.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim().parse::<i64>().ok())
        .map_or(DEFAULT_TTL, |s| {
            Duration::seconds(s).clamp(MIN_TTL, MAX_TTL)
        })
}

/// Checks a fetched document against the URL it came from.
pub fn validate(
    url: &str,
    doc: &Value,
    private_allowlist: &[String],
    now: OffsetDateTime,
) -> Result<Client, String> {
    if doc["client_id"].as_str() != Some(url) {
        return Err("the document's client_id is not its own URL".into());
    }
    match doc["token_endpoint_auth_method"].as_str() {
        None | Some("none") => {}
        Some(other) => {
            return Err(format!(
                "token_endpoint_auth_method {other} is not supported for URL client ids"
            ))
        }
    }
    let uris: Vec<String> = doc["redirect_uris"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    // Capped like a registration: a document cannot make its stored row large.
    let accepted: Vec<String> = uris
        .into_iter()
        .filter(|u| redirect::check(u, private_allowlist).is_ok())
        .take(redirect::MAX_URIS)
        .collect();
    if accepted.is_empty() {
        return Err("the document lists no acceptable redirect_uris".into());
    }
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let text = |k: &str, max: usize| {
        doc[k]
            .as_str()
            .filter(|s| !s.trim().is_empty() && s.len() <= max)
            .map(str::to_owned)
    };
    Ok(Client {
        id: url.to_owned(),
        kind: ClientKind::Document,
        name: text("client_name", 100).unwrap_or(host),
        client_uri: text("client_uri", 2_000).filter(|u| u.starts_with("https://")),
        logo_uri: text("logo_uri", 2_000).filter(|u| u.starts_with("https://")),
        redirect_uris: accepted,
        auth_method: AuthMethod::None,
        secret_hash: None,
        created_at: now,
        owner: None,
        approved: false,
    })
}

impl AuthServer {
    /// The document at `url`, from the cache or fetched within the budgets of `from` (the client
    /// address's bucket key); over budget is `TooManyRequests`, and nothing is fetched.
    pub async fn client_document(&self, url: &str, from: &str) -> Result<Client, OAuthError> {
        let now = self.services.clock.now();
        let result = match self.documents.get(url, now) {
            Some(r) => r,
            None => {
                let parsed = self.document_url(url)?;
                let permit = self
                    .document_fetches
                    .take(from)
                    .map_err(OAuthError::TooManyRequests)?;
                let (r, ttl) = match self.fetch_document(url, parsed, now).await {
                    Ok((client, ttl)) => (Ok(client), ttl),
                    Err(why) => (Err(why), FAILURE_TTL),
                };
                drop(permit);
                self.documents.put(url, r.clone(), now + ttl, now);
                r
            }
        };
        result.map_err(|why| OAuthError::InvalidClient(format!("client metadata document: {why}")))
    }

    /// A client id URL the guard lets through: checked before any budget is spent on it.
    fn document_url(&self, url: &str) -> Result<reqwest::Url, OAuthError> {
        let refuse =
            |why: String| OAuthError::InvalidClient(format!("client metadata document: {why}"));
        let parsed = parse_webhook_url(url, self.config.cimd_allow_private_targets)
            .map_err(|e| refuse(e.to_string()))?;
        if parsed.path() == "/" || parsed.fragment().is_some() {
            return Err(refuse(
                "a URL client id needs a path and no fragment".into(),
            ));
        }
        Ok(parsed)
    }

    async fn fetch_document(
        &self,
        url: &str,
        parsed: reqwest::Url,
        now: OffsetDateTime,
    ) -> Result<(Client, Duration), String> {
        let fetched = crate::outbound::fetch::get_json(
            parsed,
            self.config.cimd_allow_private_targets,
            TIMEOUT,
            MAX_BYTES,
        )
        .await?;
        let ttl = freshness(fetched.cache_control.as_deref());
        let body = fetched.body;
        let doc: Value =
            serde_json::from_slice(&body).map_err(|_| "the document is not JSON".to_owned())?;
        let client = validate(url, &doc, &self.config.private_use_redirect_uris, now)?;
        Ok((client, ttl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cache_lifetimes_follow_cache_control_within_a_cap() {
        assert_eq!(freshness(None), DEFAULT_TTL);
        assert_eq!(
            freshness(Some("public, max-age=120")),
            Duration::seconds(120)
        );
        assert_eq!(freshness(Some("max-age=999999999")), MAX_TTL);
        assert_eq!(freshness(Some("no-store")), MIN_TTL);
        assert_eq!(freshness(Some("max-age=0")), MIN_TTL);
    }

    #[test]
    fn the_cache_is_bounded_by_entries_and_bytes_and_keeps_the_freshest() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let doc = |url: &str, uri_len: usize| {
            let uris: Vec<String> = (0..10)
                .map(|i| format!("https://a{i}.example/{}", "x".repeat(uri_len)))
                .collect();
            validate(
                url,
                &json!({ "client_id": url, "redirect_uris": uris }),
                &[],
                now,
            )
        };
        let cache = DocumentCache::default();
        for n in 0..(MAX_ENTRIES * 3) {
            let url = format!("https://a.example/{n}");
            cache.put(
                &url,
                doc(&url, 10),
                now + Duration::seconds(n as i64 + 1),
                now,
            );
        }
        let (entries, bytes) = cache.size();
        assert_eq!(entries, MAX_ENTRIES);
        assert!(bytes < MAX_CACHED_BYTES);
        // The ones that stay fresh longest are kept.
        let last = format!("https://a.example/{}", MAX_ENTRIES * 3 - 1);
        assert!(cache.get(&last, now).is_some());
        assert!(cache.get("https://a.example/0", now).is_none());

        let big = DocumentCache::default();
        for n in 0..200 {
            let url = format!("https://b.example/{n}");
            big.put(&url, doc(&url, 2_000), now + Duration::hours(1), now);
        }
        let (entries, bytes) = big.size();
        assert!(
            bytes <= MAX_CACHED_BYTES && entries < 200,
            "{entries} entries, {bytes} bytes"
        );
        // A refetch replaces its own entry only.
        let url = "https://b.example/199";
        big.put(url, doc(url, 5), now + Duration::hours(2), now);
        assert_eq!(big.size().0, entries);
    }

    #[test]
    fn documents_must_name_themselves_and_list_usable_redirects() {
        let url = "https://app.example.com/oauth/client.json";
        let now = OffsetDateTime::UNIX_EPOCH;
        let good = json!({ "client_id": url, "client_name": "App", "redirect_uris": ["https://app.example.com/cb", "javascript:x"] });
        let c = validate(url, &good, &[], now);
        assert!(c.as_ref().is_ok_and(|c| c.name == "App" && c.redirect_uris == ["https://app.example.com/cb"]), "{c:?}");
        let other = json!({ "client_id": "https://evil.example/x", "redirect_uris": ["https://app.example.com/cb"] });
        assert!(validate(url, &other, &[], now).is_err());
        let secret = json!({ "client_id": url, "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic" });
        assert!(validate(url, &secret, &[], now).is_err());
        let none = json!({ "client_id": url, "redirect_uris": ["http://evil.example/cb"] });
        assert!(validate(url, &none, &[], now).is_err());
    }
}
