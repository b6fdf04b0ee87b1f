//! Counting calls per connection without a database write per request: calls are tallied in memory
//! and flushed in batches (the app flushes every few seconds and at shutdown). A crash loses at most
//! one batch of counts, never a revocation or a permission decision.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Services;
use crate::clock::to_millis;

#[derive(Clone, Default)]
pub struct UsageRecorder {
    pending: Arc<Mutex<HashMap<String, (i64, i64)>>>,
    /// API keys used since the last flush, with their latest use.
    keys: Arc<Mutex<HashMap<String, i64>>>,
}

impl std::fmt::Debug for UsageRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UsageRecorder")
    }
}

impl UsageRecorder {
    /// Notes one call through `grant_id` at `at_ms`.
    pub fn record(&self, grant_id: &str, at_ms: i64) {
        let mut map = match self.pending.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let entry = map.entry(grant_id.to_owned()).or_insert((0, at_ms));
        entry.0 += 1;
        entry.1 = entry.1.max(at_ms);
    }

    /// Notes one use of the API key `key_id` at `at_ms`.
    pub fn record_key(&self, key_id: &str, at_ms: i64) {
        let mut map = match self.keys.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let last = map.entry(key_id.to_owned()).or_insert(at_ms);
        *last = (*last).max(at_ms);
    }

    fn take_keys(&self) -> HashMap<String, i64> {
        let mut map = match self.keys.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        std::mem::take(&mut *map)
    }

    fn take(&self) -> HashMap<String, (i64, i64)> {
        let mut map = match self.pending.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        std::mem::take(&mut *map)
    }
}

impl Services {
    /// Notes one call through a connection, now.
    pub fn record_call(&self, grant_id: &str) {
        self.usage.record(grant_id, to_millis(self.clock.now()));
    }

    /// Writes the tallied calls; counts that fail to write are kept for the next flush.
    pub async fn flush_usage(&self) -> usize {
        let keys = self.usage.take_keys();
        let mut n = keys.len();
        for (key, last) in keys {
            if let Err(e) = self.store.touch_api_key(&key, last).await {
                tracing::warn!(error = %e, "recording key use failed; will retry");
                self.usage.record_key(&key, last);
            }
        }
        let batch = self.usage.take();
        n += batch.len();
        for (grant, (calls, last)) in batch {
            if let Err(e) = self.store.add_grant_usage(&grant, calls, last).await {
                tracing::warn!(error = %e, "recording connection usage failed; will retry");
                let mut map = match self.usage.pending.lock() {
                    Ok(m) => m,
                    Err(p) => p.into_inner(),
                };
                let entry = map.entry(grant).or_insert((0, last));
                entry.0 += calls;
                entry.1 = entry.1.max(last);
            }
        }
        n
    }
}
