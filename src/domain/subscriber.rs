//! Subscribers of a status page and the notifications queued for them.

use time::OffsetDateTime;

use super::DomainError;
use crate::ids::{NotificationId, PageId, SubscriberId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriberKind {
    Email,
    Webhook,
}

impl SubscriberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "email" => Ok(Self::Email),
            "webhook" => Ok(Self::Webhook),
            _ => Err(DomainError::invalid("kind", "must be email or webhook")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriber {
    pub id: SubscriberId,
    pub page_id: PageId,
    pub kind: SubscriberKind,
    pub target: String,
    pub confirmed: bool,
    pub unsubscribe_token: String,
    pub webhook_secret: Option<String>,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Gave up after the configured number of attempts.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            _ => Err(DomainError::invalid("state", "unknown delivery state")),
        }
    }
}

/// One queued message to one subscriber. `payload` is the event as JSON text; the id is the
/// idempotency key the receiver sees on every attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub page_id: PageId,
    pub subscriber_id: SubscriberId,
    pub source_id: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub delivered_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Notification {
    /// A notification queued now, due at once.
    pub fn pending(
        page_id: PageId,
        subscriber_id: SubscriberId,
        source_id: String,
        payload: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: NotificationId::generate(),
            page_id,
            subscriber_id,
            source_id,
            payload,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            delivered_at: None,
            created_at: now,
        }
    }
}

/// Wait before attempt `attempts + 1`: `base` doubled per attempt already made, capped at a day.
pub fn backoff_secs(base_secs: i64, attempts: i64) -> i64 {
    let shift = attempts.clamp(0, 20) as u32;
    base_secs.saturating_mul(1_i64 << shift).min(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_secs(30, 0), 30);
        assert_eq!(backoff_secs(30, 3), 240);
        assert_eq!(backoff_secs(30, 40), 86_400);
    }
}
