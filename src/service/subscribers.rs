//! Subscribers: visitors subscribe on the public page (email with double opt-in, or a webhook URL),
//! confirm, and unsubscribe with the link every message carries; admins list and remove them.

use serde_json::json;

use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::subscriber::{Notification, Subscriber, SubscriberKind};
use crate::domain::{DomainError, Email, Page, Permission};
use crate::ids::{random_hex, NotificationId, PageId, SubscriberId};
use crate::outbound::{parse_webhook_url, resolve_checked, OutboundError};
use crate::service::incidents::clamp_limit;
use crate::store::StoreError;

/// What the visitor is told after subscribing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscribed {
    /// A confirmation email is on its way (also said when the address was already subscribed, so the
    /// form does not reveal who subscribes).
    ConfirmationSent,
    /// The webhook is active; the secret signs every delivery and is shown only now.
    Webhook { secret: String },
}

pub fn token_hash(token: &str) -> String {
    crate::ids::sha256_hex(token)
}

impl Services {
    #[tracing::instrument(skip(self, target))]
    pub async fn subscribe(
        &self,
        public_slug: &str,
        kind: SubscriberKind,
        target: &str,
    ) -> Result<Subscribed> {
        let page = self
            .store
            .page_by_public_slug(public_slug)
            .await
            .or_not_found("page")?;
        match kind {
            SubscriberKind::Email => self.subscribe_email(&page, target).await,
            SubscriberKind::Webhook => self.subscribe_webhook(&page, target).await,
        }
    }

    async fn subscribe_email(&self, page: &Page, target: &str) -> Result<Subscribed> {
        if !self.monitoring.smtp.enabled() {
            return Err(DomainError::invalid(
                "email",
                "email updates are not offered on this server",
            )
            .into());
        }
        let email = Email::parse(target)?;
        let token = random_hex(16);
        let now = self.clock.now();
        let sub = Subscriber {
            id: SubscriberId::generate(),
            page_id: page.id.clone(),
            kind: SubscriberKind::Email,
            target: email.as_str().to_owned(),
            confirmed: false,
            unsubscribe_token: random_hex(16),
            webhook_secret: None,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        match self
            .store
            .insert_subscriber(&mut tx, &sub, Some(&token_hash(&token)))
            .await
        {
            Err(StoreError::Conflict) => return Ok(Subscribed::ConfirmationSent),
            other => other?,
        }
        // The confirmation goes through the outbox too, so a relay outage delays it but loses nothing.
        let base = &self.monitoring.public_url;
        let payload = json!({
            "type": "subscription.confirm",
            "page": page.name,
            "confirm_url": format!("{base}/status/{}/confirm/{token}", page.public_slug),
        });
        let n = Notification {
            id: NotificationId::generate(),
            page_id: page.id.clone(),
            subscriber_id: sub.id.clone(),
            source_id: "confirm".into(),
            payload: payload.to_string(),
            state: crate::domain::subscriber::DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            delivered_at: None,
            created_at: now,
        };
        self.store.enqueue_notification(&mut tx, &n).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Subscribed::ConfirmationSent)
    }

    async fn subscribe_webhook(&self, page: &Page, target: &str) -> Result<Subscribed> {
        let allow = self.monitoring.delivery.allow_private_targets;
        let refuse =
            |e: OutboundError| ServiceError::Invalid(DomainError::invalid("url", e.to_string()));
        let url = parse_webhook_url(target, allow).map_err(refuse)?;
        resolve_checked(&url, allow).await.map_err(refuse)?;
        let secret = format!("whsec_{}", random_hex(24));
        let sub = Subscriber {
            id: SubscriberId::generate(),
            page_id: page.id.clone(),
            kind: SubscriberKind::Webhook,
            target: url.to_string(),
            confirmed: true,
            unsubscribe_token: random_hex(16),
            webhook_secret: Some(secret.clone()),
            created_at: self.clock.now(),
        };
        let mut tx = self.store.begin().await?;
        match self.store.insert_subscriber(&mut tx, &sub, None).await {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(
                    "this webhook URL is already subscribed".into(),
                ))
            }
            other => other?,
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Subscribed::Webhook { secret })
    }

    /// Confirms an email subscription from the link in the confirmation message.
    pub async fn confirm_subscription(&self, token: &str) -> Result<Subscriber> {
        self.store
            .confirm_subscriber(&token_hash(token.trim()), self.clock.now())
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
        let mut tx = self.store.begin().await?;
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
