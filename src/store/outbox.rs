//! Subscribers and the notification outbox. Delivery claims are compare-and-set leases, so several
//! instances share the queue without sending one notification twice at the same time.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, StoreError, Tx};
use crate::clock::to_millis;
use crate::domain::subscriber::{DeliveryState, Notification, Subscriber, SubscriberKind};
use crate::ids::{NotificationId, PageId, SubscriberId};

const SUB_COLS: &str =
    "subscriber_id, page_id, kind, target, confirmed, unsubscribe_token, webhook_secret, created_at";
const NTF_COLS: &str =
    "notification_id, page_id, subscriber_id, source_id, payload, state, attempts,
    next_attempt_at, last_error, delivered_at, created_at";

fn subscriber_from(r: &AnyRow) -> Result<Subscriber> {
    subscriber_with(r, "created_at")
}

/// A subscriber whose creation instant is in column `created` (renamed where a join has two).
fn subscriber_with(r: &AnyRow, created: &str) -> Result<Subscriber> {
    Ok(Subscriber {
        id: SubscriberId::from_db(row::text(r, "subscriber_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        kind: row::parsed(r, "kind", SubscriberKind::parse)?,
        target: row::text(r, "target")?,
        confirmed: row::flag(r, "confirmed")?,
        unsubscribe_token: row::text(r, "unsubscribe_token")?,
        webhook_secret: row::opt_text(r, "webhook_secret")?,
        created_at: row::instant(r, created)?,
    })
}

fn notification_from(r: &AnyRow) -> Result<Notification> {
    Ok(Notification {
        id: NotificationId::from_db(row::text(r, "notification_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        subscriber_id: SubscriberId::from_db(row::text(r, "subscriber_id")?),
        source_id: row::text(r, "source_id")?,
        payload: row::text(r, "payload")?,
        state: row::parsed(r, "state", DeliveryState::parse)?,
        attempts: row::int(r, "attempts")?,
        next_attempt_at: row::instant(r, "next_attempt_at")?,
        last_error: row::opt_text(r, "last_error")?,
        delivered_at: row::opt_instant(r, "delivered_at")?,
        created_at: row::instant(r, "created_at")?,
    })
}

impl Store {
    pub async fn insert_subscriber(
        &self,
        tx: &mut Tx,
        s: &Subscriber,
        confirm_token_hash: Option<&str>,
    ) -> Result<()> {
        const SQL: &str =
            "insert into subscribers (subscriber_id, page_id, kind, target, confirmed,
            confirm_token_hash, unsubscribe_token, webhook_secret, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
        sqlx::query(SQL)
            .bind(s.id.as_str())
            .bind(s.page_id.as_str())
            .bind(s.kind.as_str())
            .bind(&s.target)
            .bind(i64::from(s.confirmed))
            .bind(confirm_token_hash.map(str::to_owned))
            .bind(&s.unsubscribe_token)
            .bind(s.webhook_secret.clone())
            .bind(to_millis(s.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn subscriber(&self, id: &SubscriberId) -> Result<Subscriber> {
        let sql = format!("select {SUB_COLS} from subscribers where subscriber_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        subscriber_from(&r)
    }

    pub async fn subscribers(&self, page: &PageId, limit: i64) -> Result<Vec<Subscriber>> {
        let sql = format!(
            "select {SUB_COLS} from subscribers where page_id = $1 order by created_at desc, subscriber_id limit $2"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(subscriber_from).collect()
    }

    /// Confirms the subscriber holding this token; the token is single-use and dies with a subscription
    /// made before `created_after`.
    pub async fn confirm_subscriber(
        &self,
        token_hash: &str,
        created_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Subscriber> {
        const SQL: &str =
            "update subscribers set confirmed = 1, confirm_token_hash = null, updated_at = $1
            where subscriber_id = $2 and confirm_token_hash = $3";
        let sql = format!(
            "select {SUB_COLS} from subscribers where confirm_token_hash = $1 and created_at >= $2"
        );
        let r = sqlx::query(&sql)
            .bind(token_hash)
            .bind(to_millis(created_after))
            .fetch_one(&self.pool)
            .await?;
        let mut s = subscriber_from(&r)?;
        let done = sqlx::query(SQL)
            .bind(to_millis(now))
            .bind(s.id.as_str())
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        s.confirmed = true;
        Ok(s)
    }

    pub async fn subscriber_by_unsubscribe_token(&self, token: &str) -> Result<Subscriber> {
        let sql = format!("select {SUB_COLS} from subscribers where unsubscribe_token = $1");
        let r = sqlx::query(&sql).bind(token).fetch_one(&self.pool).await?;
        subscriber_from(&r)
    }

    pub async fn delete_subscriber(&self, tx: &mut Tx, id: &SubscriberId) -> Result<()> {
        sqlx::query("delete from subscribers where subscriber_id = $1")
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Confirmed subscribers of a page, read inside the transaction that enqueues for them.
    pub async fn confirmed_subscribers(
        &self,
        tx: &mut Tx,
        page: &PageId,
    ) -> Result<Vec<SubscriberId>> {
        const SQL: &str =
            "select subscriber_id from subscribers where page_id = $1 and confirmed = 1 order by subscriber_id";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .fetch_all(&mut **tx)
            .await?;
        rows.iter()
            .map(|r| Ok(SubscriberId::from_db(row::text(r, "subscriber_id")?)))
            .collect()
    }

    /// Queues one notification. A second one for the same subscriber and source is a no-op.
    /// How many notifications an update queued (one per subscriber), for telling the caller.
    pub async fn count_notifications_for(&self, source_id: &str) -> Result<i64> {
        const SQL: &str = "select count(*) as n from notifications where source_id = $1";
        let r = sqlx::query(SQL)
            .bind(source_id)
            .fetch_one(&self.pool)
            .await?;
        row::int(&r, "n")
    }

    pub async fn enqueue_notification(&self, tx: &mut Tx, n: &Notification) -> Result<()> {
        const SQL: &str =
            "insert into notifications (notification_id, page_id, subscriber_id, source_id,
            payload, state, attempts, next_attempt_at, lease_until, created_at, updated_at)
            values ($1, $2, $3, $4, $5, 'pending', 0, $6, 0, $6, $6)
            on conflict (subscriber_id, source_id) do nothing";
        sqlx::query(SQL)
            .bind(n.id.as_str())
            .bind(n.page_id.as_str())
            .bind(n.subscriber_id.as_str())
            .bind(&n.source_id)
            .bind(&n.payload)
            .bind(to_millis(n.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Pending notifications due now whose lease has run out, each with its subscriber (a notification
    /// goes when its subscriber is deleted).
    pub async fn due_notifications(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<(Notification, Subscriber)>> {
        const SQL: &str = "select n.notification_id, n.page_id, n.subscriber_id, n.source_id,
            n.payload, n.state, n.attempts, n.next_attempt_at, n.last_error, n.delivered_at,
            n.created_at, s.kind, s.target, s.confirmed, s.unsubscribe_token, s.webhook_secret,
            s.created_at as subscribed_at
            from notifications n join subscribers s on s.subscriber_id = n.subscriber_id
            where n.state = 'pending' and n.next_attempt_at <= $1 and n.lease_until <= $1
            order by n.next_attempt_at, n.notification_id limit $2";
        let rows = sqlx::query(SQL)
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        // Both tables' page_id and subscriber_id agree (the join is on the subscriber).
        rows.iter()
            .map(|r| Ok((notification_from(r)?, subscriber_with(r, "subscribed_at")?)))
            .collect()
    }

    /// Takes the delivery lease until `until`; false when another worker holds it or it is done.
    pub async fn claim_notification(
        &self,
        id: &NotificationId,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "update notifications set lease_until = $1 where notification_id = $2
            and state = 'pending' and lease_until <= $3";
        let done = sqlx::query(SQL)
            .bind(to_millis(until))
            .bind(id.as_str())
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an attempt: delivered, retry at `next`, or dead.
    pub async fn finish_attempt(
        &self,
        id: &NotificationId,
        state: DeliveryState,
        error: Option<&str>,
        next: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "update notifications set state = $1, attempts = attempts + 1, last_error = $2,
            next_attempt_at = $3, lease_until = 0, delivered_at = $4, updated_at = $5
            where notification_id = $6";
        let delivered = (state == DeliveryState::Delivered).then(|| to_millis(now));
        sqlx::query(SQL)
            .bind(state.as_str())
            .bind(error.map(str::to_owned))
            .bind(to_millis(next))
            .bind(delivered)
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn notifications(&self, page: &PageId, limit: i64) -> Result<Vec<Notification>> {
        let sql = format!(
            "select {NTF_COLS} from notifications where page_id = $1
             order by created_at desc, notification_id limit $2"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(notification_from).collect()
    }

    pub async fn notification(&self, id: &NotificationId) -> Result<Notification> {
        let sql = format!("select {NTF_COLS} from notifications where notification_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        notification_from(&r)
    }

    /// Puts a dead-lettered notification back in the queue, due now, keeping its id (the webhook
    /// idempotency key) so a receiver that did get an earlier attempt can drop the repeat.
    /// False when it is not dead (delivered, still pending, or already requeued by someone else).
    pub async fn requeue_dead(
        &self,
        tx: &mut Tx,
        id: &NotificationId,
        now: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "update notifications set state = 'pending', next_attempt_at = $1, lease_until = 0, updated_at = $1
            where notification_id = $2 and state = 'dead'";
        let done = sqlx::query(SQL)
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn count_notifications(&self, page: &PageId) -> Result<i64> {
        let r = sqlx::query("select count(*) as n from notifications where page_id = $1")
            .bind(page.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?;
        row::int(&r, "n")
    }

    /// Notifications still to deliver, counted up to `cap` so a scrape stays cheap on a long queue.
    pub async fn outbox_backlog(&self, cap: i64) -> Result<i64> {
        const SQL: &str = "select count(*) as n from (select 1 as one from notifications
            where state = 'pending' limit $1) as due";
        let r = sqlx::query(SQL).bind(cap).fetch_one(&self.pool).await?;
        row::int(&r, "n")
    }
}
