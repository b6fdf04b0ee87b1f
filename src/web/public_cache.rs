//! What the public reads (status page, badge, feeds, Statuspage-style JSON) rendered once and served
//! from memory, so an outage's traffic costs a map lookup per request and writes nothing.
//!
//! An entry is used while two things hold: the read cache's generation is the one read before the entry
//! was built (every write that may change a page moves it, on every instance: see `store::cache`), and it
//! is younger than `public.max_age_secs` (uptime bars and maintenance windows move with time, not writes).
//! Responses carry a weak ETag over the body, so a CDN or browser revalidates with a 304, and come
//! compressed (brotli or gzip) from bytes compressed once per entry rather than once per request.
//!
//! What is held is bounded twice: by entries and by bytes (`public.cache_max_bytes`, counting keys,
//! bodies and the compressed copies as they are made); past either, the oldest entries go. Keys longer
//! than any real page's are refused outright.

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

/// Entries kept at most, whatever their size.
const MAX_ENTRIES: usize = 4_096;
/// The longest key served: a slug is at most 48 bytes and the longest representation (a history page
/// after a cursor) under 150, so anything longer names nothing and is answered 404 unrendered.
const MAX_KEY_BYTES: usize = 256;
/// What an entry costs beyond the bytes counted one by one: the map slot, the entry itself, its key's
/// and headers' allocations.
const ENTRY_OVERHEAD: usize = 256;
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

    fn len(&self) -> usize {
        self.slug.len() + self.what.len()
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

/// The entries and what they weigh; changed only under the cache's write lock, so `bytes` is always
/// the sum of [`Held::cost`] over the map.
#[derive(Default)]
struct Held {
    map: HashMap<Key, Arc<Entry>>,
    bytes: usize,
}

impl Held {
    fn cost(key: &Key, entry: &Entry) -> usize {
        key.len() + entry.held_bytes() + ENTRY_OVERHEAD
    }

    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(Self::cost(key, &old));
        }
    }

    /// Drops the oldest entries (never `spare`) until the map holds at most `bytes` and fewer than
    /// `entries` entries.
    fn shrink_to(&mut self, bytes: usize, entries: usize, spare: Option<&Key>) {
        if self.bytes <= bytes && self.map.len() < entries {
            return;
        }
        let mut by_age: Vec<(Instant, Key)> = self
            .map
            .iter()
            .filter(|(k, _)| Some(*k) != spare)
            .map(|(k, e)| (e.made, k.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(made, _)| *made);
        for (_, key) in by_age {
            if self.bytes <= bytes && self.map.len() < entries {
                break;
            }
            self.remove(&key);
        }
    }

    /// Keeps `entry` under `key` when it fits the bound at all, making room by dropping the oldest
    /// (down to three quarters of the bound, so a full cache does not sort on every insert).
    fn keep(&mut self, key: Key, entry: Arc<Entry>, max_bytes: usize) {
        self.remove(&key);
        let cost = Self::cost(&key, &entry);
        if key.len() > MAX_KEY_BYTES || cost > max_bytes {
            return;
        }
        if self.bytes + cost > max_bytes || self.map.len() >= MAX_ENTRIES {
            let room = (max_bytes / 4 * 3).min(max_bytes - cost);
            self.shrink_to(room, MAX_ENTRIES / 4 * 3, None);
        }
        self.bytes += cost;
        self.map.insert(key, entry);
    }

    /// Whether `extra` bytes more for `entry` (a compressed copy) may be kept: only while the map
    /// holds this very entry, making room among the others if needed.
    fn room_for(&mut self, key: &Key, entry: &Arc<Entry>, extra: usize, max_bytes: usize) -> bool {
        if !self.map.get(key).is_some_and(|e| Arc::ptr_eq(e, entry)) {
            return false;
        }
        if self.bytes + extra > max_bytes {
            self.shrink_to(max_bytes.saturating_sub(extra), MAX_ENTRIES, Some(key));
        }
        self.bytes + extra <= max_bytes
    }

    /// Keeps `copy` in `slot` of the held `entry` when it fits. Copies are set only here, under the
    /// write lock, so the byte count and the entries agree.
    fn attach(
        &mut self,
        key: &Key,
        entry: &Arc<Entry>,
        slot: &OnceLock<Bytes>,
        copy: Bytes,
        max_bytes: usize,
    ) {
        let len = copy.len();
        if slot.get().is_none()
            && self.room_for(key, entry, len, max_bytes)
            && slot.set(copy).is_ok()
        {
            self.bytes += len;
        }
    }
}

/// How much the public cache holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheUse {
    pub entries: usize,
    pub bytes: usize,
    pub max_bytes: usize,
}

pub struct PublicCache {
    held: RwLock<Held>,
    max_bytes: usize,
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
            held: RwLock::new(Held::default()),
            max_bytes: usize::try_from(config.cache_max_bytes).unwrap_or(usize::MAX),
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
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        match held.map.get(key) {
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
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        held.keep(key, entry, self.max_bytes);
    }

    /// Entries and bytes held now, and the bound on bytes.
    pub fn usage(&self) -> CacheUse {
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        CacheUse {
            entries: held.map.len(),
            bytes: held.bytes,
            max_bytes: self.max_bytes,
        }
    }

    /// The entry's body in `encoding`, compressed now if it was not yet and kept with the entry when
    /// the entry is still held and the bytes fit (otherwise this response alone uses it).
    fn encoded(&self, key: &Key, entry: &Arc<Entry>, encoding: &Encoding) -> Bytes {
        let (slot, compress): (_, fn(&[u8]) -> Bytes) = match encoding {
            Encoding::Identity => return entry.body.clone(),
            Encoding::Gzip => (&entry.gzip, gzip),
            Encoding::Brotli => (&entry.brotli, brotli),
        };
        if let Some(b) = slot.get() {
            return b.clone();
        }
        let made = compress(&entry.body);
        let mut held = self.held.write().unwrap_or_else(|p| p.into_inner());
        held.attach(key, entry, slot, made.clone(), self.max_bytes);
        made
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
        if key.len() > MAX_KEY_BYTES {
            return Err(ServiceError::NotFound("status page").into());
        }
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
                Some(Ok(_rendering)) => self.render(services, key.clone(), build).await?,
                _ => e,
            },
            Lookup::Missing => self.build(services, key.clone(), from, build).await?,
        };
        if let (true, Some(page)) = (count_view, &entry.page) {
            services.count_page_view(page);
        }
        Ok(self.respond(&key, &entry, headers))
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

    fn respond(&self, key: &Key, entry: &Arc<Entry>, headers: &HeaderMap) -> Response {
        let mut resp = if matches_etag(headers, entry.etag.as_bytes()) {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let preferred = preferred_encoding(headers);
            let encoding = match preferred {
                Encoding::Brotli => Some("br"),
                Encoding::Gzip => Some("gzip"),
                Encoding::Identity => None,
            };
            let body = self.encoded(key, entry, &preferred);
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

    /// What this entry holds: the body, its compressed copies made so far and its own headers.
    fn held_bytes(&self) -> usize {
        self.body.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.brotli.get().map_or(0, Bytes::len)
            + self.etag.len()
            + self.policy.as_ref().map_or(0, HeaderValue::len)
    }
}

fn gzip(body: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match enc.write_all(body).and_then(|()| enc.finish()) {
        Ok(v) => Bytes::from(v),
        // Writing to a Vec cannot fail; if it somehow did, an empty body would be wrong.
        Err(_) => Bytes::new(),
    }
}

fn brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() / 4);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 6,
        ..Default::default()
    };
    let mut input = body;
    match brotli::BrotliCompress(&mut input, &mut out, &params) {
        Ok(_) => Bytes::from(out),
        Err(_) => Bytes::new(),
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

    fn entry(body_len: usize) -> Arc<Entry> {
        let body = (0..body_len).map(|i| (i * 7 % 251) as u8).collect();
        Arc::new(Entry::new(
            Freshness::at(1),
            Built {
                content_type: "text/html; charset=utf-8",
                body,
                page: Some(PageId::generate()),
                policy: Some("default-src 'none'".into()),
            },
        ))
    }

    fn check_sum(held: &Held, max: usize) {
        let sum: usize = held.map.iter().map(|(k, e)| Held::cost(k, e)).sum();
        assert_eq!(held.bytes, sum, "the count is what the entries weigh");
        assert!(held.bytes <= max, "{} over {max}", held.bytes);
    }

    #[test]
    fn held_bytes_stay_under_the_bound_as_the_cache_fills() {
        let max = 200_000;
        let mut held = Held::default();
        for n in 0..2_000 {
            let key = Key::new("acme", format!("history?after={n}"));
            let e = entry(1_000 + (n * 37) % 9_000);
            held.keep(key.clone(), e.clone(), max);
            held.attach(&key, &e, &e.gzip, gzip(&e.body), max);
            held.attach(&key, &e, &e.brotli, brotli(&e.body), max);
            check_sum(&held, max);
        }
        assert!(
            held.map.len() > 10,
            "it holds what fits: {}",
            held.map.len()
        );
        // The newest stays; the oldest went.
        assert!(held
            .map
            .contains_key(&Key::new("acme", "history?after=1999")));
        assert!(!held.map.contains_key(&Key::new("acme", "history?after=0")));

        // Too big alone, or under a key no page has: not kept, and nothing else lost for it.
        let before = held.map.len();
        held.keep(Key::new("acme", "big"), entry(max), max);
        held.keep(Key::new("acme", "x".repeat(MAX_KEY_BYTES)), entry(10), max);
        assert_eq!(held.map.len(), before);
        check_sum(&held, max);

        // A copy of an entry no longer held is not counted (nor kept).
        let gone = entry(5_000);
        held.attach(
            &Key::new("acme", "gone"),
            &gone,
            &gone.gzip,
            gzip(&gone.body),
            max,
        );
        assert!(gone.gzip.get().is_none());
        check_sum(&held, max);
    }

    #[test]
    fn entries_are_bounded_by_count_too() {
        let mut held = Held::default();
        for n in 0..(MAX_ENTRIES + 10) {
            held.keep(
                Key::new("a", format!("incident/{n}")),
                entry(1),
                usize::MAX / 2,
            );
        }
        assert!(held.map.len() <= MAX_ENTRIES);
        check_sum(&held, usize::MAX / 2);
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
