//! Subscribers: visitors subscribe on the public page (email with double opt-in, or a webhook URL that
//! echoes a challenge; see `subscribe`), confirm, and unsubscribe with the link every message carries;
//! admins list and remove them.

use serde_json::json;

use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::subscriber::{Notification, Subscriber};
use crate::domain::Permission;
use crate::ids::{NotificationId, PageId, SubscriberId};
use crate::service::incidents::clamp_limit;
use crate::store::StoreError;

/// What the visitor is told after subscribing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscribed {
    /// A confirmation email is on its way (also said when the address was already subscribed, so the
    /// form does not reveal who subscribes).
    ConfirmationSent,
    /// The webhook echoed its challenge and is active; the secret signs every delivery and is shown
    /// only now.
    Webhook { secret: String },
}

pub fn token_hash(token: &str) -> String {
    crate::ids::sha256_hex(token)
}

impl Services {
    /// Confirms an email subscription from the link in the confirmation message.
    pub async fn confirm_subscription(&self, token: &str) -> Result<Subscriber> {
        let now = self.clock.now();
        let oldest = now - time::Duration::hours(self.monitoring.delivery.confirm_ttl_hours);
        self.store
            .confirm_subscriber(&token_hash(token.trim()), oldest, now)
            .await
            .or_not_found("subscription")
    }

    /// The subscription an unsubscribe link names.
    pub async fn subscription_by_token(&self, token: &str) -> Result<Subscriber> {
        self.store
            .subscriber_by_unsubscribe_token(token.trim())
            .await
            .or_not_found("subscription")
    }

    pub async fn unsubscribe(&self, token: &str) -> Result<()> {
        let sub = self.subscription_by_token(token).await?;
        // Subscribers are cached nowhere: leaving touches no cache.
        let mut tx = self.store.begin_untracked().await?;
        self.store.delete_subscriber(&mut tx, &sub.id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    pub async fn subscribers(
        &self,
        who: &Principal,
        page: &PageId,
        limit: Option<i64>,
    ) -> Result<Vec<Subscriber>> {
        self.page_for(who, page, Permission::SubscriberManage)
            .await?;
        Ok(self.store.subscribers(page, clamp_limit(limit)).await?)
    }

    /// The page a subscriber belongs to, for someone who may manage its subscribers.
    pub async fn subscriber_page(&self, who: &Principal, id: &SubscriberId) -> Result<PageId> {
        let sub = self.store.subscriber(id).await.or_not_found("subscriber")?;
        self.page_for(who, &sub.page_id, Permission::SubscriberManage)
            .await?;
        Ok(sub.page_id)
    }

    pub async fn remove_subscriber(&self, who: &Principal, id: &SubscriberId) -> Result<()> {
        let sub = self.store.subscriber(id).await.or_not_found("subscriber")?;
        let page = self
            .page_for(who, &sub.page_id, Permission::SubscriberManage)
            .await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_subscriber(&mut tx, id).await?;
        let detail = json!({ "kind": sub.kind.as_str() });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "subscriber.removed",
            ("subscriber", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Sends a dead-lettered notification once more, now (after the receiver is fixed, say); if that
    /// attempt fails too it is dead again. Returns its page.
    pub async fn retry_delivery(&self, who: &Principal, id: &NotificationId) -> Result<PageId> {
        let note = self.store.notification(id).await.or_not_found("delivery")?;
        let page = self
            .page_for(who, &note.page_id, Permission::SubscriberManage)
            .await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .requeue_dead(&mut tx, id, self.clock.now())
            .await?
        {
            return Err(ServiceError::Conflict(
                "only a delivery that gave up (dead) can be retried".into(),
            ));
        }
        let detail = json!({ "attempts": note.attempts });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "notification.retried",
            ("notification", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(page.id)
    }

    /// Notifications of a page with their delivery state, newest first.
    pub async fn deliveries(
        &self,
        who: &Principal,
        page: &PageId,
        limit: Option<i64>,
    ) -> Result<Vec<Notification>> {
        self.page_for(who, page, Permission::SubscriberManage)
            .await?;
        Ok(self.store.notifications(page, clamp_limit(limit)).await?)
    }
}
