//! The delivery dispatcher: sends due notifications with bounded concurrency and a per-host budget.
//! Each scan claims a notification only when a slot is free and its webhook host has fewer than
//! `per_host_concurrency` deliveries in flight, and starts it without waiting for it; so a receiver that
//! never answers holds one slot (and one of its host's) for one timeout while every other host is
//! served. Claims are the outbox's database leases, shared by all instances; the slots and host budgets
//! are this instance's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::{Result, Services};
use crate::domain::subscriber::{Subscriber, SubscriberKind};

/// Due rows read per scan. Rows of a busy host are passed over and read again on the next tick.
const SCAN_ROWS: i64 = 500;

type HostCounts = Arc<Mutex<HashMap<String, usize>>>;

pub struct Dispatcher {
    services: Services,
    slots: Arc<Semaphore>,
    hosts: HostCounts,
    tasks: JoinSet<()>,
}

/// One delivery's share of its host's budget, given back when the delivery ends or is aborted.
struct HostSlot {
    hosts: HostCounts,
    host: String,
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut map = lock(&self.hosts);
        if let Some(n) = map.get_mut(&self.host) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.host);
            }
        }
    }
}

fn lock(hosts: &HostCounts) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    match hosts.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    }
}

/// The budget a subscriber's deliveries count against: its webhook's host. Email all goes through the
/// one configured relay and is bounded by the slots alone.
fn host_of(sub: &Subscriber) -> Option<String> {
    match sub.kind {
        SubscriberKind::Email => None,
        SubscriberKind::Webhook => reqwest::Url::parse(&sub.target)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase)),
    }
}

impl Dispatcher {
    pub fn new(services: Services) -> Self {
        let slots = Arc::new(Semaphore::new(services.monitoring.delivery.concurrency));
        Self {
            services,
            slots,
            hosts: HostCounts::default(),
            tasks: JoinSet::new(),
        }
    }

    /// Starts deliveries for due notifications while slots and host budgets allow; returns how many it
    /// started. It does not wait for them.
    pub async fn dispatch(&mut self) -> Result<usize> {
        while self.tasks.try_join_next().is_some() {}
        if self.slots.available_permits() == 0 {
            return Ok(0);
        }
        let s = &self.services;
        let now = s.clock.now();
        // The lease outlasts one attempt, so a live worker is never overtaken; a dead one's claim lapses.
        let lease_ms = 2 * s
            .monitoring
            .delivery
            .timeout_ms
            .max(s.monitoring.smtp.timeout_ms);
        let until = now + Duration::milliseconds(i64::try_from(lease_ms).unwrap_or(600_000));
        let mut started = 0;
        for (n, sub) in s.store.due_notifications(now, SCAN_ROWS).await? {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            let Some(host) = self.take_host(&sub) else {
                continue;
            };
            if !s.store.claim_notification(&n.id, now, until).await? {
                continue;
            }
            started += 1;
            let services = s.clone();
            self.tasks.spawn(async move {
                let _held: (OwnedSemaphorePermit, Option<HostSlot>) = (slot, host);
                if let Err(e) = services.deliver_one(&n, &sub).await {
                    tracing::warn!(notification = %n.id, error = %e, "recording a delivery failed");
                }
            });
        }
        Ok(started)
    }

    /// A share of the subscriber's host budget: `Some(None)` when it has no host, `None` when the host
    /// is at its budget.
    fn take_host(&self, sub: &Subscriber) -> Option<Option<HostSlot>> {
        let Some(host) = host_of(sub) else {
            return Some(None);
        };
        let budget = self.services.monitoring.delivery.per_host_concurrency;
        let mut map = lock(&self.hosts);
        let n = map.entry(host.clone()).or_insert(0);
        if *n >= budget {
            return None;
        }
        *n += 1;
        Some(Some(HostSlot {
            hosts: self.hosts.clone(),
            host,
        }))
    }

    /// Waits for every started delivery to finish.
    pub async fn drain(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{PageId, SubscriberId};

    fn sub(kind: SubscriberKind, target: &str) -> Subscriber {
        Subscriber {
            id: SubscriberId::generate(),
            page_id: PageId::generate(),
            kind,
            target: target.into(),
            confirmed: true,
            unsubscribe_token: String::new(),
            webhook_secret: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn webhooks_share_a_budget_per_host_and_email_has_none() {
        let a = sub(
            SubscriberKind::Webhook,
            "https://Hooks.Example.com:8443/a?x=1",
        );
        let b = sub(SubscriberKind::Webhook, "https://hooks.example.com/b");
        assert_eq!(host_of(&a), host_of(&b));
        assert_eq!(host_of(&a).as_deref(), Some("hooks.example.com"));
        assert_eq!(host_of(&sub(SubscriberKind::Email, "a@example.com")), None);
    }
}
