//! Connection usage: per-day call counts and last-used times, added in batches.

use super::{row, Result, Store};
use crate::clock::to_millis;

/// Milliseconds in a day: `day` columns hold the UTC day's start.
pub const DAY_MS: i64 = 86_400_000;

impl Store {
    /// Adds `calls` to the grant's count for the day of `last_used_ms` and moves its last-used time
    /// (and its connector key's) forward. Counts from several instances add up.
    pub async fn add_grant_usage(
        &self,
        grant_id: &str,
        calls: i64,
        last_used_ms: i64,
    ) -> Result<()> {
        const COUNT: &str = "insert into grant_usage (grant_id, day, calls, created_at, updated_at)
            values ($1, $2, $3, $4, $4)
            on conflict (grant_id, day) do update set calls = grant_usage.calls + excluded.calls,
            updated_at = excluded.updated_at";
        const GRANT: &str = "update oauth_grants set last_used_at = $1
            where grant_id = $2 and (last_used_at is null or last_used_at < $1)";
        const KEY: &str = "update api_keys set last_used_at = $1
            where grant_id = $2 and (last_used_at is null or last_used_at < $1)";
        let day = last_used_ms - last_used_ms.rem_euclid(DAY_MS);
        // Counts and last-used times are not cached: committing leaves the read cache alone.
        let mut tx = self.begin_untracked().await?;
        // A grant revoked and deleted since the call leaves nothing to count.
        let exists = sqlx::query("select count(*) as n from oauth_grants where grant_id = $1")
            .bind(grant_id)
            .fetch_one(&mut *tx)
            .await?;
        if row::int(&exists, "n")? > 0 {
            sqlx::query(COUNT)
                .bind(grant_id)
                .bind(day)
                .bind(calls)
                .bind(last_used_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query(GRANT)
                .bind(last_used_ms)
                .bind(grant_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(KEY)
                .bind(last_used_ms)
                .bind(grant_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Calls through the grant since `since`.
    pub async fn grant_calls_since(
        &self,
        grant_id: &str,
        since: time::OffsetDateTime,
    ) -> Result<i64> {
        const SQL: &str =
            "select cast(coalesce(sum(calls), 0) as bigint) as n from grant_usage where grant_id = $1 and day >= $2";
        let since = to_millis(since);
        let r = sqlx::query(SQL)
            .bind(grant_id)
            .bind(since - since.rem_euclid(DAY_MS))
            .fetch_one(&self.pool)
            .await?;
        row::int(&r, "n")
    }
}
