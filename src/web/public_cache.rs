//! What the public reads (status page, badge, feeds, Statuspage-style JSON) rendered once and served
//! from memory, so an outage's traffic costs a map lookup per request and writes nothing.
//!
//! An entry is used while two things hold: the read cache's generation is the one read before the entry
//! was built (every write that may change a page moves it, on every instance: see `store::cache`), and it
//! is younger than `public.max_age_secs` (uptime bars and maintenance windows move with time, not writes).
//! Responses carry a weak ETag over the body, so a CDN or browser revalidates with a 304, and come
//! compressed (brotli or gzip) from bytes compressed once per entry rather than once per request.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::{PublicError, WebError};
use crate::config::PublicConfig;
use crate::ids::PageId;
use crate::ratelimit::{ClientAddr, RateLimiter};
use crate::service::{Freshness, ServiceError, Services};

/// Entries kept before the map is emptied; bounds memory whatever the number of pages or history links.
const MAX_ENTRIES: usize = 4_096;
/// Renders of different keys proceed in parallel; renders of one key wait for the first.
const RENDER_STRIPES: usize = 64;

/// A representation as built, before caching.
pub struct Built {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// The page it shows (a view of it is counted when asked); `None` for the list of pages at `/`.
    pub page: Option<PageId>,
    /// A Content-Security-Policy of its own (the status page's, which allows its logo and accent colour).
    pub policy: Option<String>,
}

/// Which public representation of which page: the cache key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub slug: String,
    /// The representation and anything that selects it, e.g. `page`, `badge`, `history?before=…`.
    pub what: String,
}

impl Key {
    pub fn new(slug: &str, what: impl Into<String>) -> Self {
        Self {
            slug: slug.to_owned(),
            what: what.into(),
        }
    }
}

struct Entry {
    read_at: Freshness,
    made: Instant,
    page: Option<PageId>,
    content_type: HeaderValue,
    policy: Option<HeaderValue>,
    etag: HeaderValue,
    body: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

pub struct PublicCache {
    entries: RwLock<HashMap<Key, Arc<Entry>>>,
    rendering: Vec<tokio::sync::Mutex<()>>,
    /// Renders (database reads) one address may cause: hits cost nothing and are not limited, but
    /// made-up slugs, incident ids or history cursors all miss.
    misses: RateLimiter,
    ttl: Duration,
    /// How much longer than `ttl` an entry may be served while one request renders it again.
    stale_for: Duration,
    cache_control: HeaderValue,
}

enum Lookup {
    Fresh(Arc<Entry>),
    /// Older than `ttl` but the data has not changed since it was built.
    Aged(Arc<Entry>),
    Missing,
}

impl PublicCache {
    pub fn new(config: &PublicConfig) -> Self {
        let cache_control = format!(
            "public, max-age={}, stale-while-revalidate={}",
            config.max_age_secs, config.stale_while_revalidate_secs
        );
        Self {
            entries: RwLock::new(HashMap::new()),
            misses: RateLimiter::new(config.misses_per_minute, config.misses_burst),
            rendering: (0..RENDER_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            ttl: Duration::from_secs(u64::from(config.max_age_secs)),
            stale_for: Duration::from_secs(u64::from(config.stale_while_revalidate_secs)),
            cache_control: HeaderValue::from_str(&cache_control)
                .unwrap_or(HeaderValue::from_static("public, max-age=10")),
        }
    }

    fn lookup(&self, key: &Key, now: Freshness) -> Lookup {
        if !now.caching() {
            return Lookup::Missing;
        }
        let map = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            // Built from data that has since changed: never served again.
            Some(e) if e.read_at != now => Lookup::Missing,
            Some(e) if e.made.elapsed() < self.ttl => Lookup::Fresh(e.clone()),
            Some(e) if e.made.elapsed() < self.ttl + self.stale_for => Lookup::Aged(e.clone()),
            _ => Lookup::Missing,
        }
    }

    fn stripe(&self, key: &Key) -> Option<&tokio::sync::Mutex<()>> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        self.rendering
            .get((h.finish() % RENDER_STRIPES as u64) as usize)
    }

    fn keep(&self, key: Key, entry: Arc<Entry>) {
        let mut map = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, entry);
    }

    /// Answers `headers` with the cached representation for `key`, building it with `build` when there
    /// is none that is fresh. Errors (an unknown page) are not cached.
    pub async fn serve<F, Fut>(
        &self,
        services: &Services,
        request: (&HeaderMap, &ClientAddr),
        key: Key,
        count_view: bool,
        build: F,
    ) -> Result<Response, WebError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Built, WebError>>,
    {
        let (headers, from) = request;
        let found = self.lookup(&key, services.freshness());
        crate::telemetry::metrics::cache_lookup(
            crate::telemetry::metrics::Cache::Public,
            !matches!(found, Lookup::Missing),
        );
        let entry = match found {
            Lookup::Fresh(e) => e,
            // Only time has passed, not a write: one request renders again while the others keep
            // getting the aged copy, so nobody waits on a render.
            Lookup::Aged(e) => match self.stripe(&key).map(|m| m.try_lock()) {
                Some(Ok(_rendering)) => self.render(services, key, build).await?,
                _ => e,
            },
            Lookup::Missing => self.build(services, key, from, build).await?,
        };
        if let (true, Some(page)) = (count_view, &entry.page) {
            services.count_page_view(page);
        }
        Ok(self.respond(&entry, headers))
    }

    /// Renders what nobody has (or what a write has changed). Many visitors arriving at once wait for
    /// one render instead of each rendering, and only the one that renders spends its address's budget.
    async fn build<F, Fut>(
        &self,
        services: &Services,
        key: Key,
        from: &ClientAddr,
        build: F,
    ) -> Result<Arc<Entry>, WebError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Built, WebError>>,
    {
        let _one_at_a_time = match self.stripe(&key) {
            Some(m) => Some(m.lock().await),
            None => None,
        };
        if let Lookup::Fresh(e) = self.lookup(&key, services.freshness()) {
            return Ok(e);
        }
        self.misses
            .take(&from.key())
            .map_err(|retry_after_secs| ServiceError::TooManyAttempts { retry_after_secs })?;
        self.render(services, key, build).await
    }

    async fn render<F, Fut>(
        &self,
        services: &Services,
        key: Key,
        build: F,
    ) -> Result<Arc<Entry>, WebError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Built, WebError>>,
    {
        let read_at = services.freshness();
        let built = build().await?;
        let entry = Arc::new(Entry::new(read_at, built));
        if read_at.caching() {
            self.keep(key, entry.clone());
        }
        Ok(entry)
    }

    fn respond(&self, entry: &Entry, headers: &HeaderMap) -> Response {
        let mut resp = if matches_etag(headers, entry.etag.as_bytes()) {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let (encoding, body) = match preferred_encoding(headers) {
                Encoding::Brotli => (Some("br"), entry.brotli()),
                Encoding::Gzip => (Some("gzip"), entry.gzip()),
                Encoding::Identity => (None, entry.body.clone()),
            };
            let mut r = Response::new(Body::from(body));
            if let Some(enc) = encoding {
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
            }
            r.headers_mut()
                .insert(header::CONTENT_TYPE, entry.content_type.clone());
            r
        };
        let h = resp.headers_mut();
        h.insert(header::ETAG, entry.etag.clone());
        h.insert(header::CACHE_CONTROL, self.cache_control.clone());
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        if let Some(p) = &entry.policy {
            h.insert(header::CONTENT_SECURITY_POLICY, p.clone());
        }
        resp
    }
}

/// What a public handler needs: the services, the cache, and the request's headers and address.
pub struct PublicRequest {
    pub services: Services,
    cache: Arc<PublicCache>,
    headers: HeaderMap,
    from: ClientAddr,
}

impl<S> FromRequestParts<S> for PublicRequest
where
    S: Send + Sync,
    Services: FromRef<S>,
    Arc<PublicCache>: FromRef<S>,
{
    type Rejection = PublicError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let from = ClientAddr::from_request_parts(parts, state)
            .await
            .map_err(|e| WebError::Internal(format!("client address: {e:?}")))?;
        Ok(Self {
            services: Services::from_ref(state),
            cache: Arc::<PublicCache>::from_ref(state),
            headers: parts.headers.clone(),
            from,
        })
    }
}

impl PublicRequest {
    /// The representation `key` from the cache, built by `build` when none is fresh; a view of the
    /// page is counted when `count_view`.
    pub async fn serve<F, Fut>(
        &self,
        key: Key,
        count_view: bool,
        build: F,
    ) -> Result<Response, PublicError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Built, WebError>>,
    {
        Ok(self
            .cache
            .serve(
                &self.services,
                (&self.headers, &self.from),
                key,
                count_view,
                build,
            )
            .await?)
    }
}

impl Entry {
    fn new(read_at: Freshness, built: Built) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&built.body);
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        // Weak: the same entity is served identity, gzip or brotli encoded under one tag.
        let etag = HeaderValue::from_str(&format!("W/\"{hex}\""))
            .unwrap_or(HeaderValue::from_static("W/\"0\""));
        Self {
            read_at,
            made: Instant::now(),
            page: built.page,
            content_type: HeaderValue::from_static(built.content_type),
            policy: built.policy.and_then(|p| HeaderValue::from_str(&p).ok()),
            etag,
            body: Bytes::from(built.body),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                match enc.write_all(&self.body).and_then(|()| enc.finish()) {
                    Ok(v) => Bytes::from(v),
                    // Writing to a Vec cannot fail; if it somehow did, an empty body would be wrong.
                    Err(_) => Bytes::new(),
                }
            })
            .clone()
    }

    fn brotli(&self) -> Bytes {
        self.brotli
            .get_or_init(|| {
                let mut out = Vec::with_capacity(self.body.len() / 4);
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 6,
                    ..Default::default()
                };
                let mut input = &self.body[..];
                match brotli::BrotliCompress(&mut input, &mut out, &params) {
                    Ok(_) => Bytes::from(out),
                    Err(_) => Bytes::new(),
                }
            })
            .clone()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// Brotli when accepted, else gzip, else none; `q=0` refuses a coding.
fn preferred_encoding(headers: &HeaderMap) -> Encoding {
    let mut br = false;
    let mut gz = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = value.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match coding.as_str() {
                "br" => br = true,
                "gzip" | "x-gzip" => gz = true,
                _ => {}
            }
        }
    }
    if br {
        Encoding::Brotli
    } else if gz {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

/// `If-None-Match` against our tag with the weak comparison RFC 9110 asks for (`W/` ignored), or `*`.
fn matches_etag(headers: &HeaderMap, ours: &[u8]) -> bool {
    let ours = ours.strip_prefix(b"W/").unwrap_or(ours);
    headers.get_all(header::IF_NONE_MATCH).iter().any(|v| {
        v.as_bytes().split(|b| *b == b',').any(|tag| {
            let tag = tag.trim_ascii();
            tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == ours
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn encodings_follow_accept_encoding() {
        let pick = |v: &str| preferred_encoding(&headers(&[("accept-encoding", v)]));
        assert_eq!(pick("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(pick("gzip"), Encoding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(pick("identity"), Encoding::Identity);
        assert_eq!(pick("gzip;q=0"), Encoding::Identity);
        assert_eq!(preferred_encoding(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let ours = b"W/\"abc\"";
        let m = |v: &str| matches_etag(&headers(&[("if-none-match", v)]), ours);
        assert!(m("W/\"abc\""));
        assert!(m("\"abc\""));
        assert!(m("\"x\", W/\"abc\""));
        assert!(m("*"));
        assert!(!m("\"abd\""));
        assert!(!m("abc"));
        assert!(!matches_etag(&HeaderMap::new(), ours));
    }
}
