//! Client ID Metadata Documents: a `client_id` that is an https URL names a JSON document the client
//! publishes. It is fetched with the same guard as visitor-supplied webhooks (https only, every
//! resolved address public, connect to the address checked), no redirects, a 5 s deadline and a 64 KiB
//! cap, then validated: its `client_id` must be the URL itself, it must list acceptable redirect URIs,
//! and it may not ask for a client secret. Results are cached per instance as `Cache-Control` says,
//! within a one-day cap; failures for five minutes, so a broken document is not refetched per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{redirect, AuthServer, OAuthError};
use crate::domain::connector::{AuthMethod, Client, ClientKind};
use crate::outbound::{parse_webhook_url, resolve_checked};

const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: StdDuration = StdDuration::from_secs(5);
const DEFAULT_TTL: Duration = Duration::hours(1);
const MAX_TTL: Duration = Duration::days(1);
const FAILURE_TTL: Duration = Duration::minutes(5);

/// A fetched document, or why it could not be used, and the instant that answer goes stale.
type Entry = (Result<Client, String>, OffsetDateTime);

/// Fetched documents by URL.
#[derive(Default)]
pub struct DocumentCache(Mutex<HashMap<String, Entry>>);

impl DocumentCache {
    fn get(&self, url: &str, now: OffsetDateTime) -> Option<Result<Client, String>> {
        let map = self.0.lock().ok()?;
        map.get(url)
            .filter(|(_, until)| *until > now)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, url: &str, value: Result<Client, String>, until: OffsetDateTime) {
        if let Ok(mut map) = self.0.lock() {
            // Bounded: a flood of distinct URLs cannot grow the cache without limit.
            if map.len() >= 1_000 {
                map.retain(|_, (_, t)| *t > until - MAX_TTL);
                if map.len() >= 1_000 {
                    map.clear();
                }
            }
            map.insert(url.to_owned(), (value, until));
        }
    }
}

/// `max-age` from a `Cache-Control` header; `no-store`/`no-cache` mean do not keep it.
fn freshness(cache_control: Option<&str>) -> Duration {
    let Some(cc) = cache_control else {
        return DEFAULT_TTL;
    };
    let cc = cc.to_ascii_lowercase();
    if cc.contains("no-store") || cc.contains("no-cache") {
        return Duration::ZERO;
    }
    cc.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim().parse::<i64>().ok())
        .map_or(DEFAULT_TTL, |s| Duration::seconds(s.max(0)).min(MAX_TTL))
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
    /// The document at `url`, fetched or from the cache.
    pub async fn client_document(&self, url: &str) -> Result<Client, OAuthError> {
        let now = self.services.clock.now();
        let cached = self.documents.get(url, now);
        let result = match cached {
            Some(r) => r,
            None => {
                let (r, ttl) = match self.fetch_document(url, now).await {
                    Ok((client, ttl)) => (Ok(client), ttl),
                    Err(why) => (Err(why), FAILURE_TTL),
                };
                if ttl > Duration::ZERO {
                    self.documents.put(url, r.clone(), now + ttl);
                }
                r
            }
        };
        result.map_err(|why| OAuthError::InvalidClient(format!("client metadata document: {why}")))
    }

    async fn fetch_document(
        &self,
        url: &str,
        now: OffsetDateTime,
    ) -> Result<(Client, Duration), String> {
        let allow_private = self.config.cimd_allow_private_targets;
        let parsed = parse_webhook_url(url, allow_private).map_err(|e| e.to_string())?;
        if parsed.path() == "/" || parsed.fragment().is_some() {
            return Err("a URL client id needs a path and no fragment".into());
        }
        let addr = resolve_checked(&parsed, allow_private)
            .await
            .map_err(|e| e.to_string())?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .resolve(&host, addr)
            .build()
            .map_err(|e| format!("cannot build a client: {e}"))?;
        let mut resp = client
            .get(parsed)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("fetch failed: {e}"))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("fetch answered {}", resp.status()));
        }
        let ttl = freshness(
            resp.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("fetch failed: {e}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BYTES {
                return Err("the document is larger than 64 KiB".into());
            }
        }
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
        assert_eq!(freshness(Some("no-store")), Duration::ZERO);
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
