//! The notification outbox. Updates with `notify = true` enqueue one notification per confirmed
//! subscriber inside the update's own transaction; the delivery worker claims due ones with a lease,
//! sends them (SMTP or signed webhook) several at a time (`dispatch`), and retries with backoff until
//! delivered or dead-lettered.
//! Delivery is at least once; the notification id is the idempotency key receivers dedupe on.

use std::time::Duration as StdDuration;

use serde_json::{json, Value};
use time::Duration;

use super::dispatch::Dispatcher;
use super::{Result, Services};
use crate::domain::subscriber::{
    backoff_secs, DeliveryState, Notification, Subscriber, SubscriberKind,
};
use crate::ids::PageId;
use crate::outbound::{smtp, webhook, OutboundError};
use crate::store::Tx;
use crate::telemetry::metrics;

impl Services {
    /// Notifications waiting to be delivered, up to `cap` (for `/metrics`).
    pub async fn outbox_backlog(&self, cap: i64) -> Result<i64> {
        Ok(self.store.outbox_backlog(cap).await?)
    }

    /// The database pool's size, idle connections and ceiling (for `/metrics`).
    pub fn pool_stats(&self) -> crate::store::PoolStats {
        self.store.pool_stats()
    }

    /// Queues `event` for every confirmed subscriber of the page, in the caller's transaction.
    /// `source_id` (the update id) makes a repeat a no-op.
    pub(crate) async fn enqueue_notifications(
        &self,
        tx: &mut Tx,
        page_id: &PageId,
        source_id: &str,
        mut event: Value,
    ) -> Result<usize> {
        let page = self.store.page(page_id).await?;
        if let Some(obj) = event.as_object_mut() {
            obj.insert("page".into(), json!(page.name));
            let url = format!("{}/status/{}", self.monitoring.public_url, page.public_slug);
            obj.insert("page_url".into(), json!(url));
        }
        let payload = event.to_string();
        let now = self.clock.now();
        let subscribers = self.store.confirmed_subscribers(tx, page_id).await?;
        for s in &subscribers {
            let n = Notification::pending(
                page_id.clone(),
                s.clone(),
                source_id.to_owned(),
                payload.clone(),
                now,
            );
            self.store.enqueue_notification(tx, &n).await?;
        }
        Ok(subscribers.len())
    }

    /// One worker step on its own: starts what is due (see [`Dispatcher`]) and waits for it. Returns
    /// how many deliveries it attempted. The server's worker keeps one dispatcher across ticks instead.
    pub async fn deliver_due(&self) -> Result<usize> {
        let mut d = Dispatcher::new(self.clone());
        let started = d.dispatch().await;
        d.drain().await;
        started
    }

    /// Sends one claimed notification and records the outcome: delivered, retry later, or dead.
    pub(super) async fn deliver_one(&self, n: &Notification, sub: &Subscriber) -> Result<()> {
        let sent = self.send(n, sub).await;
        let now = self.clock.now();
        let d = &self.monitoring.delivery;
        match sent {
            Ok(()) => {
                metrics::delivery(metrics::Delivery::Delivered);
                self.store
                    .finish_attempt(&n.id, DeliveryState::Delivered, None, now, now)
                    .await?
            }
            Err(e) => {
                let attempts = n.attempts + 1;
                let give_up = attempts >= d.max_attempts || matches!(e, OutboundError::Refused(_));
                let state = if give_up {
                    metrics::delivery(metrics::Delivery::Dead);
                    DeliveryState::Dead
                } else {
                    metrics::delivery(metrics::Delivery::Retry);
                    DeliveryState::Pending
                };
                let next = now + Duration::seconds(backoff_secs(d.backoff_secs, n.attempts));
                tracing::info!(notification = %n.id, attempts, error = %e, "delivery failed");
                self.store
                    .finish_attempt(&n.id, state, Some(&e.to_string()), next, now)
                    .await?
            }
        }
        Ok(())
    }

    async fn send(&self, n: &Notification, sub: &Subscriber) -> Result<(), OutboundError> {
        let event: Value = serde_json::from_str(&n.payload)
            .map_err(|_| OutboundError::Refused("stored payload is not JSON".into()))?;
        let unsubscribe = format!(
            "{}/unsubscribe/{}",
            self.monitoring.public_url, sub.unsubscribe_token
        );
        match sub.kind {
            SubscriberKind::Email => {
                let (subject, body) = render_email(&event, &unsubscribe);
                let mail = smtp::Email {
                    to: &sub.target,
                    subject: &subject,
                    body: &body,
                    message_id: n.id.as_str(),
                    date: self.clock.now(),
                };
                if !self.monitoring.smtp.enabled() {
                    return Err(OutboundError::Failed("no SMTP relay is configured".into()));
                }
                smtp::send(&self.monitoring.smtp, &mail).await
            }
            SubscriberKind::Webhook => {
                let mut event = event;
                if let Some(obj) = event.as_object_mut() {
                    obj.insert("id".into(), json!(n.id.as_str()));
                    obj.insert("unsubscribe_url".into(), json!(unsubscribe));
                }
                let body = event.to_string();
                let secret = sub.webhook_secret.as_deref().unwrap_or_default();
                let post = webhook::SignedPost {
                    url: &sub.target,
                    secret,
                    body: &body,
                    idempotency_key: n.id.as_str(),
                    timestamp: self.clock.now().unix_timestamp(),
                };
                let timeout = StdDuration::from_millis(self.monitoring.delivery.timeout_ms);
                webhook::post(
                    &post,
                    self.monitoring.delivery.allow_private_targets,
                    timeout,
                )
                .await
            }
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Subject and plain-text body for an email subscriber.
pub(super) fn render_email(event: &Value, unsubscribe: &str) -> (String, String) {
    let page = text(event, "page");
    if text(event, "type") == "subscription.confirm" {
        let subject = format!("Confirm your subscription to {page}");
        let body = format!(
            "Someone, hopefully you, asked for status updates from {page}.\n\n\
             Confirm here: {}\n\nIf it was not you, ignore this message and nothing more will arrive.\n",
            text(event, "confirm_url")
        );
        return (subject, body);
    }
    let subject = format!(
        "[{page}] {}: {}",
        text(event, "title"),
        text(event, "stage")
    );
    let body = format!(
        "{}\n\n{}\n\nCurrent status: {}\n\nUnsubscribe: {unsubscribe}\n",
        text(event, "title"),
        text(event, "message"),
        text(event, "page_url"),
    );
    (subject, body)
}
