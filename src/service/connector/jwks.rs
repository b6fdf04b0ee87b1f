//! Trusted issuers' signing keys: each JWKS is fetched through the outbound guard (https and public
//! addresses only unless `[oauth] jwks_allow_private_targets`, no redirects, 5 s, 64 KiB) and kept per
//! URL for ten minutes, in a cache bounded by entries. An unknown `kid` refetches, at most once per URL
//! every 30 s, so keys an identity provider rotated in are found without a restart while assertions
//! naming random key ids cannot make us fetch in a loop. A failed fetch is remembered as an empty set
//! for the same 30 s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use jsonwebtoken::jwk::JwkSet;
use time::{Duration, OffsetDateTime};

use super::AuthServer;

const MAX_BYTES: usize = 64 * 1024;
const TIMEOUT: StdDuration = StdDuration::from_secs(5);
const FRESH: Duration = Duration::minutes(10);
const REFETCH_AFTER: Duration = Duration::seconds(30);
const MAX_ENTRIES: usize = 64;

/// Key sets by JWKS URL, with when each was fetched.
#[derive(Default)]
pub struct JwksCache(Mutex<HashMap<String, (JwkSet, OffsetDateTime)>>);

impl JwksCache {
    fn get(&self, url: &str) -> Option<(JwkSet, OffsetDateTime)> {
        self.0.lock().ok()?.get(url).cloned()
    }

    /// Stores a set; at the bound, the entry fetched longest ago makes room.
    fn put(&self, url: &str, set: JwkSet, at: OffsetDateTime) {
        let Ok(mut map) = self.0.lock() else { return };
        if map.len() >= MAX_ENTRIES && !map.contains_key(url) {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(url.to_owned(), (set, at));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// The key a token header names: by `kid`, or the only key when the header names none.
fn pick(set: &JwkSet, kid: Option<&str>) -> Option<jsonwebtoken::jwk::Jwk> {
    match kid {
        Some(k) => set.find(k).cloned(),
        None if set.keys.len() == 1 => set.keys.first().cloned(),
        None => None,
    }
}

impl AuthServer {
    /// The issuer key for `kid` from `jwks_uri`, fetching when the cached set is stale or lacks it.
    pub(super) async fn issuer_key(
        &self,
        jwks_uri: &str,
        kid: Option<&str>,
    ) -> Result<jsonwebtoken::jwk::Jwk, String> {
        let now = self.services.clock.now();
        let cached = self.jwks.get(jwks_uri);
        if let Some((set, at)) = &cached {
            match pick(set, kid) {
                Some(key) if now - *at < FRESH => return Ok(key),
                found if now - *at < REFETCH_AFTER => {
                    return found
                        .ok_or_else(|| "the issuer's keys do not include that key id".into())
                }
                _ => {}
            }
        }
        match self.fetch_jwks(jwks_uri).await {
            Ok(set) => {
                let found = pick(&set, kid);
                self.jwks.put(jwks_uri, set, now);
                found.ok_or_else(|| "the issuer's keys do not include that key id".into())
            }
            Err(why) => {
                self.jwks.put(jwks_uri, JwkSet { keys: Vec::new() }, now);
                Err(format!("the issuer's keys could not be fetched: {why}"))
            }
        }
    }

    async fn fetch_jwks(&self, jwks_uri: &str) -> Result<JwkSet, String> {
        let allow_private = self.config.jwks_allow_private_targets;
        let url = crate::outbound::parse_webhook_url(jwks_uri, allow_private)
            .map_err(|e| e.to_string())?;
        let fetched =
            crate::outbound::fetch::get_json(url, allow_private, TIMEOUT, MAX_BYTES).await?;
        serde_json::from_slice(&fetched.body)
            .map_err(|_| "the JWKS is not a JSON key set".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_drops_the_oldest() {
        let cache = JwksCache::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        for n in 0..(MAX_ENTRIES + 10) {
            let at = t0 + Duration::seconds(n as i64);
            cache.put(
                &format!("https://idp{n}.example/jwks"),
                JwkSet { keys: Vec::new() },
                at,
            );
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        assert!(cache.get("https://idp0.example/jwks").is_none());
        assert!(cache
            .get(&format!("https://idp{}.example/jwks", MAX_ENTRIES + 9))
            .is_some());
    }
}
