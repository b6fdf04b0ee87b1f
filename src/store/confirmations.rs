//! Notify confirmations: the ids of the sealed states already used (single use on every instance),
//! and the per-channel subscriber counts a confirmation shows.

use time::OffsetDateTime;

use super::{row, Result, Store};
use crate::clock::to_millis;
use crate::ids::PageId;

impl Store {
    /// Marks confirmation `id` used; `false` when it already was (a replay, here or on another
    /// instance). Outside any transaction and on an uncached table, so it moves no cache generation.
    pub async fn use_confirmation(&self, id: &str, expires_at: OffsetDateTime) -> Result<bool> {
        const SQL: &str = "insert into used_confirmations (confirmation_id, expires_at)
            values ($1, $2) on conflict (confirmation_id) do nothing";
        let done = sqlx::query(SQL)
            .bind(id)
            .bind(to_millis(expires_at))
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Confirmed subscribers of a page by channel (`email`, `webhook`), the ones an update with
    /// `notify` would reach now.
    pub async fn confirmed_subscribers_by_kind(&self, page: &PageId) -> Result<Vec<(String, i64)>> {
        const SQL: &str = "select kind, count(*) as n from subscribers
            where page_id = $1 and confirmed = 1 group by kind";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((row::text(r, "kind")?, row::int(r, "n")?)))
            .collect()
    }
}
