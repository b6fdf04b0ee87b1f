//! Subscriber bookkeeping the subscribe path needs: how many a page has, expiring unconfirmed ones, and
//! activating a webhook once it has answered its challenge.

use time::OffsetDateTime;

use super::{row, Result, Store, Tx};
use crate::clock::to_millis;
use crate::ids::{PageId, SubscriberId};

/// A page's subscribers, counted inside the transaction that may add one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscriberCounts {
    pub total: i64,
    /// Not confirmed yet: an email awaiting its link or a webhook awaiting its challenge.
    pub pending: i64,
}

impl Store {
    pub async fn subscriber_totals(&self, tx: &mut Tx, page: &PageId) -> Result<SubscriberCounts> {
        const TOTAL: &str = "select count(*) as n from subscribers where page_id = $1";
        const PENDING: &str =
            "select count(*) as n from subscribers where page_id = $1 and confirmed = 0";
        let total = sqlx::query(TOTAL)
            .bind(page.as_str())
            .fetch_one(&mut **tx)
            .await?;
        let pending = sqlx::query(PENDING)
            .bind(page.as_str())
            .fetch_one(&mut **tx)
            .await?;
        Ok(SubscriberCounts {
            total: row::int(&total, "n")?,
            pending: row::int(&pending, "n")?,
        })
    }

    /// Deletes a page's unconfirmed email subscriptions made before `email_before` and webhooks still
    /// unverified since before `webhook_before` (their verifying request died with its instance).
    pub async fn purge_unconfirmed(
        &self,
        tx: &mut Tx,
        page: &PageId,
        email_before: OffsetDateTime,
        webhook_before: OffsetDateTime,
    ) -> Result<u64> {
        const SQL: &str = "delete from subscribers where page_id = $1 and confirmed = 0
            and ((kind = 'email' and created_at < $2) or (kind = 'webhook' and created_at < $3))";
        let done = sqlx::query(SQL)
            .bind(page.as_str())
            .bind(to_millis(email_before))
            .bind(to_millis(webhook_before))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// Marks a subscriber confirmed (a webhook that echoed its challenge). False when it is gone.
    pub async fn activate_subscriber(
        &self,
        id: &SubscriberId,
        now: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str =
            "update subscribers set confirmed = 1, updated_at = $1 where subscriber_id = $2";
        let done = sqlx::query(SQL)
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
