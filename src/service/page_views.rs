//! Public page views counted in memory and written in batches, like connection usage: an anonymous
//! view never writes to the database itself, so an outage's traffic cannot load the database the team
//! needs for posting updates. A crash loses at most one batch of counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Services;
use crate::ids::PageId;

#[derive(Clone, Default)]
pub struct PageViewCounter {
    pending: Arc<Mutex<HashMap<PageId, i64>>>,
}

impl std::fmt::Debug for PageViewCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageViewCounter")
    }
}

impl PageViewCounter {
    fn add(&self, page: &PageId, n: i64) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(page) {
            Some(count) => *count += n,
            None => {
                map.insert(page.clone(), n);
            }
        }
    }

    fn take(&self) -> HashMap<PageId, i64> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Services {
    /// Counts one public view of `page`, in memory.
    pub fn count_page_view(&self, page: &PageId) {
        self.page_views.add(page, 1);
    }

    /// Writes the counted views, one upsert per page; counts that fail to write wait for the next flush.
    pub async fn flush_page_views(&self) -> usize {
        let batch = self.page_views.take();
        let now = self.clock.now();
        let n = batch.len();
        for (page, views) in batch {
            if let Err(e) = self.store.add_page_views(&page, views, now).await {
                tracing::warn!(error = %e, "recording page views failed; will retry");
                self.page_views.add(&page, views);
            }
        }
        n
    }
}
