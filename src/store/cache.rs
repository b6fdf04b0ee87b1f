//! The read cache: what every `/mcp` call and every refresh grant reads (grant liveness, roles,
//! memberships, pages, components, clients) kept in memory, so the hot paths make no database round
//! trip. See ARCHITECTURE.md, "The read cache".
//!
//! Invalidation is one generation counter. Every entry remembers the generation read *before* its row
//! was fetched and is used only while the counter still has that value, so a row read concurrently with
//! a write can never outlive the write. The counter moves:
//!
//! - when a write transaction that may touch cached tables commits (every transaction does, unless it
//!   was opened with [`Store::begin_untracked`](super::Store::begin_untracked) and nothing inside
//!   marked it), *before* `commit` returns, so the writer's next request already reads fresh rows;
//! - on PostgreSQL, when another instance's notification on [`CHANNEL`] arrives (sent inside the
//!   writing transaction, so delivered exactly when it commits);
//! - when the listener connection is lost: caching is then off (every read goes to the database)
//!   until a new listener is connected, and the counter moves again at that point.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The PostgreSQL notification channel every instance listens on.
pub const CHANNEL: &str = "statusgate_cache";

/// Where lookups and invalidations are counted. Storage knows nothing of how metrics are exported: the
/// application hands it the counters once at start ([`count_with`]); until then nothing is counted.
#[derive(Clone, Copy)]
pub struct Counters {
    pub lookup: fn(hit: bool),
    pub invalidated: fn(),
}

static COUNTERS: std::sync::OnceLock<Counters> = std::sync::OnceLock::new();

/// Counts every later lookup and invalidation with `counters` (the first call wins).
pub fn count_with(counters: Counters) {
    let _ = COUNTERS.set(counters);
}

/// Entries per map before it is emptied; bounds memory whatever the number of grants or pages.
const MAX_ENTRIES: usize = 20_000;

/// One cached map: values tagged with the generation they were read under.
pub struct Memo<K, V> {
    map: RwLock<HashMap<K, (u64, V)>>,
}

impl<K: Eq + Hash, V: Clone> Default for Memo<K, V> {
    fn default() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The value for `key` if it was read under generation `now`.
    pub fn get<Q>(&self, key: &Q, now: Generation) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let Generation(Some(g)) = now else {
            return None;
        };
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let found = map
            .get(key)
            .filter(|(at, _)| *at == g)
            .map(|(_, v)| v.clone());
        if let Some(c) = COUNTERS.get() {
            (c.lookup)(found.is_some());
        }
        found
    }

    /// Remembers `value`, read under `read_at`; dropped at once if the data has moved on since.
    pub fn put(&self, key: K, value: V, read_at: Generation, cache: &ReadCache) {
        let Generation(Some(g)) = read_at else {
            return;
        };
        if cache.generation() != read_at {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (g, value));
    }

    fn clear(&self) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// A snapshot of the counter; `None` while caching is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(Option<u64>);

impl Generation {
    /// Whether something read now may be kept (false while caching is off).
    pub fn caching(&self) -> bool {
        self.0.is_some()
    }

    /// Generation `n`, for other modules' unit tests.
    #[cfg(test)]
    pub(crate) fn at(n: u64) -> Self {
        Self(Some(n))
    }
}

/// The cached reads of one store (one instance).
pub struct ReadCache {
    generation: AtomicU64,
    /// False while the instance cannot learn of other instances' writes (PostgreSQL before the
    /// listener is connected, or after it was lost).
    enabled: AtomicBool,
    pub live_grants: Memo<String, Option<super::oauth::LiveGrantRow>>,
    pub roles: Memo<(String, String), Option<crate::domain::Role>>,
    pub memberships: Memo<String, Vec<crate::domain::Membership>>,
    pub pages_of_org: Memo<String, Vec<crate::domain::Page>>,
    pub pages: Memo<String, crate::domain::Page>,
    pub components: Memo<String, Vec<crate::domain::Component>>,
    pub clients: Memo<String, crate::domain::connector::Client>,
    pub org_settings: Memo<String, crate::domain::connector::OrgSettings>,
    /// API keys by the hash of their secret (only keys that exist: a made-up key is never kept).
    pub api_keys: Memo<String, crate::domain::ApiKeyRow>,
    /// The number of this instance's last notice.
    sent: AtomicU64,
    /// The other listening instances, each with the last of our notices it has acknowledged.
    peers: tokio::sync::watch::Sender<HashMap<String, u64>>,
}

impl ReadCache {
    pub fn new(enabled: bool) -> Arc<Self> {
        Arc::new(Self {
            generation: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled),
            live_grants: Memo::default(),
            roles: Memo::default(),
            memberships: Memo::default(),
            pages_of_org: Memo::default(),
            pages: Memo::default(),
            components: Memo::default(),
            clients: Memo::default(),
            org_settings: Memo::default(),
            api_keys: Memo::default(),
            sent: AtomicU64::new(0),
            peers: tokio::sync::watch::Sender::new(HashMap::new()),
        })
    }

    /// The payload of this instance's next write notice: `w:{instance}:{number}`.
    pub fn next_notice(&self, instance: &str) -> (String, u64) {
        let n = self.sent.fetch_add(1, Ordering::AcqRel) + 1;
        (format!("w:{instance}:{n}"), n)
    }

    /// Waits until every other listening instance has acknowledged notice `n`, that is, has already
    /// invalidated its cache: a writer that waits here before answering leaves no window in which a
    /// client, told the write is done, reaches an instance still serving the old rows. An instance
    /// silent for `ACK_WAIT` is taken to be gone and forgotten until it speaks again.
    pub async fn acknowledged(&self, n: u64) {
        let mut rx = self.peers.subscribe();
        let all = rx.wait_for(|peers| peers.values().all(|acked| *acked >= n));
        if tokio::time::timeout(ACK_WAIT, all).await.is_err() {
            self.peers
                .send_modify(|peers| peers.retain(|_, acked| *acked >= n));
        }
    }

    fn peer_acked(&self, peer: &str, n: u64) {
        self.peers.send_if_modified(|peers| {
            let acked = peers.entry(peer.to_owned()).or_insert(0);
            let newer = n > *acked;
            *acked = (*acked).max(n);
            newer
        });
    }

    /// Read this before fetching a row that will be cached.
    pub fn generation(&self) -> Generation {
        if self.enabled.load(Ordering::Acquire) {
            Generation(Some(self.generation.load(Ordering::Acquire)))
        } else {
            Generation(None)
        }
    }

    /// Something cached may have changed: every entry read before now is stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(c) = COUNTERS.get() {
            (c.invalidated)();
        }
    }

    /// Turns caching on or off; either way every entry is dropped.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Release);
        self.invalidate();
        if !on {
            // Free the memory too; nothing read now would be used.
            self.live_grants.clear();
            self.roles.clear();
            self.memberships.clear();
            self.pages_of_org.clear();
            self.pages.clear();
            self.components.clear();
            self.clients.clear();
            self.org_settings.clear();
            self.api_keys.clear();
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }
}

/// How long a writer waits for another instance's acknowledgement before forgetting it.
const ACK_WAIT: Duration = Duration::from_millis(500);

/// Listens for other instances' writes on PostgreSQL for as long as the process runs. Caching is on
/// only while the listener is connected; each reconnection starts from an empty cache.
///
/// Notices on [`CHANNEL`]: `w:{writer}:{n}` (a write committed: invalidate, then acknowledge),
/// `a:{writer}:{n}:{peer}` (peer has invalidated for the writer's notice n), `h:{instance}` (a listener
/// started: everyone answers `p:{instance}` so each knows the others).
pub async fn listen(url: String, cache: Arc<ReadCache>, instance: Arc<str>) {
    use sqlx::postgres::PgListener;
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cache listener cannot connect; caching is off");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cache listener cannot listen; caching is off");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        cache.set_enabled(true);
        let mut reply = Some(format!("h:{instance}"));
        loop {
            if let Some(payload) = reply.take() {
                let sent = sqlx::query("select pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(payload)
                    .execute(&mut listener)
                    .await;
                if sent.is_err() {
                    break;
                }
            }
            match listener.try_recv().await {
                Ok(Some(n)) => reply = on_notice(&cache, &instance, n.payload()),
                // The connection was lost: notifications may have been missed.
                Ok(None) | Err(_) => break,
            }
        }
        cache.set_enabled(false);
        tracing::warn!("cache listener lost its connection; caching is off until it is back");
    }
}

/// Acts on one notice; answers the notice to send back, if any.
fn on_notice(cache: &ReadCache, me: &str, payload: &str) -> Option<String> {
    let parts: Vec<&str> = payload.split(':').collect();
    match parts.as_slice() {
        ["w", writer, n] if *writer != me => {
            cache.invalidate();
            Some(format!("a:{writer}:{n}:{me}"))
        }
        ["a", writer, n, peer] if *writer == me => {
            cache.peer_acked(peer, n.parse().unwrap_or(0));
            None
        }
        ["h", peer] if *peer != me => {
            cache.peer_acked(peer, 0);
            Some(format!("p:{me}"))
        }
        ["p", peer] if *peer != me => {
            cache.peer_acked(peer, 0);
            None
        }
        // Our own notices, and anything unknown: an unknown notice may be a write, so drop the cache.
        ["w", ..] | ["a", ..] | ["h", _] | ["p", _] => None,
        _ => {
            cache.invalidate();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_read_before_a_write_is_never_served_after_it() {
        let cache = ReadCache::new(true);
        let memo: Memo<u8, u8> = Memo::default();
        let before = cache.generation();
        cache.invalidate(); // a write commits while the row is being read
        memo.put(1, 10, before, &cache);
        assert_eq!(memo.get(&1, cache.generation()), None);
        let now = cache.generation();
        memo.put(1, 11, now, &cache);
        assert_eq!(memo.get(&1, cache.generation()), Some(11));
        cache.invalidate();
        assert_eq!(memo.get(&1, cache.generation()), None);
    }

    #[test]
    fn nothing_is_cached_while_caching_is_off() {
        let cache = ReadCache::new(false);
        let memo: Memo<u8, u8> = Memo::default();
        memo.put(1, 10, cache.generation(), &cache);
        assert_eq!(memo.get(&1, cache.generation()), None);
        cache.set_enabled(true);
        memo.put(1, 10, cache.generation(), &cache);
        assert_eq!(memo.get(&1, cache.generation()), Some(10));
        cache.set_enabled(false);
        assert_eq!(memo.get(&1, cache.generation()), None);
    }
}
