//! Subscribing from the public page. Every request spends a token of its client address's bucket first,
//! then the page's caps are checked in the transaction that adds the subscriber. An email subscriber
//! waits for its confirmation link; a webhook is stored pending, must echo a signed challenge within the
//! delivery timeout, and is deleted again when it does not. Pending subscribers never get notifications.
//!
//! Subscribers are in no cache (the public pages never show them), so these anonymous writes use
//! untracked transactions: a stranger's subscribe must not empty the read cache and the public cache
//! on every instance.

use std::time::Duration as StdDuration;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::subscribers::{token_hash, Subscribed};
use super::{Result, ServiceError, Services};
use crate::domain::subscriber::{Notification, Subscriber, SubscriberKind};
use crate::domain::{DomainError, Email, Page};
use crate::ids::{random_hex, SubscriberId};
use crate::outbound::{parse_webhook_url, resolve_checked, webhook, OutboundError};
use crate::ratelimit::ClientAddr;
use crate::store::{StoreError, Tx};

impl Services {
    #[tracing::instrument(skip(self, target))]
    pub async fn subscribe(
        &self,
        from: &ClientAddr,
        public_slug: &str,
        kind: SubscriberKind,
        target: &str,
    ) -> Result<Subscribed> {
        self.subscribe_limiter
            .take(&from.key())
            .map_err(|retry_after_secs| ServiceError::TooManyAttempts { retry_after_secs })?;
        let page = self.published_page(public_slug).await?;
        match kind {
            SubscriberKind::Email => self.subscribe_email(&page, target).await,
            SubscriberKind::Webhook => self.subscribe_webhook(&page, target).await,
        }
    }

    /// Expires what is stale, then refuses when the page is full. Runs in the adding transaction.
    async fn check_room(&self, tx: &mut Tx, page: &Page) -> Result<()> {
        let d = &self.monitoring.delivery;
        let now = self.clock.now();
        let email_before = now - Duration::hours(d.confirm_ttl_hours);
        self.store
            .purge_unconfirmed(tx, &page.id, email_before, self.stale_webhook_before(now))
            .await?;
        let counts = self.store.subscriber_totals(tx, &page.id).await?;
        if counts.total >= d.max_subscribers_per_page {
            return Err(ServiceError::Conflict(format!(
                "this page has reached its limit of {} subscribers",
                d.max_subscribers_per_page
            )));
        }
        if counts.pending >= d.max_pending_per_page {
            return Err(ServiceError::Conflict(
                "this page has too many subscriptions awaiting confirmation; try again later"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A webhook still pending since before this was left by a request that died mid-challenge: the
    /// challenge itself never outlasts the timeout.
    fn stale_webhook_before(&self, now: OffsetDateTime) -> OffsetDateTime {
        let timeout = i64::try_from(self.monitoring.delivery.timeout_ms).unwrap_or(120_000);
        now - Duration::milliseconds(2 * timeout) - Duration::seconds(10)
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
        let sub = new_subscriber(page, SubscriberKind::Email, email.as_str(), None, now);
        let mut tx = self.store.begin_untracked().await?;
        self.check_room(&mut tx, page).await?;
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
        let n = Notification::pending(
            page.id.clone(),
            sub.id.clone(),
            "confirm".into(),
            payload.to_string(),
            now,
        );
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
        let now = self.clock.now();
        let sub = new_subscriber(
            page,
            SubscriberKind::Webhook,
            url.as_str(),
            Some(secret.clone()),
            now,
        );
        // Stored pending first: the row counts against the pending cap while the challenge is out. A
        // URL subscribed already gets a subscription of its own, like any other: telling the visitor
        // "already subscribed" would tell anyone who subscribes to this page's updates.
        let mut tx = self.store.begin_untracked().await?;
        self.check_room(&mut tx, page).await?;
        self.store.insert_subscriber(&mut tx, &sub, None).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if let Err(e) = self.challenge(&sub, &secret).await {
            self.drop_pending(&sub.id).await;
            return Err(ServiceError::Invalid(DomainError::invalid(
                "url",
                format!(
                    "the webhook was not subscribed: it must answer the signed verification POST \
                     with a 2xx status and the body {{\"challenge\":\"<the challenge>\"}} (or the bare \
                     challenge) within {} ms ({e})",
                    self.monitoring.delivery.timeout_ms
                ),
            )));
        }
        if !self
            .store
            .activate_subscriber(&sub.id, self.clock.now())
            .await?
        {
            return Err(ServiceError::Conflict(
                "the subscription was removed while it was being verified".into(),
            ));
        }
        Ok(Subscribed::Webhook { secret })
    }

    /// Sends the signed challenge and checks the echo, bounded by the delivery timeout.
    async fn challenge(&self, sub: &Subscriber, secret: &str) -> Result<(), OutboundError> {
        let challenge = random_hex(16);
        let body = webhook::challenge_body(&challenge);
        let post = webhook::SignedPost {
            url: &sub.target,
            secret,
            body: &body,
            idempotency_key: sub.id.as_str(),
            timestamp: self.clock.now().unix_timestamp(),
        };
        let d = &self.monitoring.delivery;
        let timeout = StdDuration::from_millis(d.timeout_ms);
        webhook::verify(&post, &challenge, d.allow_private_targets, timeout).await
    }

    /// Removes a webhook that failed its challenge. Should this fail too, the row is purged as stale
    /// by a later subscribe to the page.
    async fn drop_pending(&self, id: &SubscriberId) {
        let gone = async {
            let mut tx = self.store.begin_untracked().await?;
            self.store.delete_subscriber(&mut tx, id).await?;
            tx.commit().await.map_err(StoreError::from)
        };
        if let Err(e) = gone.await {
            tracing::warn!(subscriber = %id, error = %e, "removing an unverified webhook failed");
        }
    }
}

fn new_subscriber(
    page: &Page,
    kind: SubscriberKind,
    target: &str,
    webhook_secret: Option<String>,
    now: OffsetDateTime,
) -> Subscriber {
    Subscriber {
        id: SubscriberId::generate(),
        page_id: page.id.clone(),
        kind,
        target: target.to_owned(),
        confirmed: false,
        unsubscribe_token: random_hex(16),
        webhook_secret,
        created_at: now,
    }
}
