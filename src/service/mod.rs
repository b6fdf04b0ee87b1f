//! Use cases. Every public function takes the acting `Principal` and checks the domain's permission rules
//! before it touches storage, so the web pages, the REST API and MCP get one answer to "may they?".

pub mod accounts;
pub mod actions;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod confirmations;
pub mod connector;
pub mod demo;
pub mod dispatch;
pub mod drafts;
pub mod edits;
mod history;
pub mod history_cursor;
pub mod incidents;
mod invitations;
pub mod maintenance_edits;
pub mod maintenances;
pub mod members;
pub mod monitors;
mod operator;
mod orgs;
pub mod outbox;
pub mod page_admin;
pub mod page_views;
pub mod pages;
pub mod password_reset;
mod principal;
pub mod public_feed;
pub mod public_pages;
mod retention;
pub mod setup;
mod subscribe;
pub mod subscribers;
pub mod usage;

use std::sync::Arc;

/// A point in the data's history: see [`Services::freshness`].
pub use crate::store::cache::Generation as Freshness;
pub use principal::{Actor, Principal};

use crate::clock::Clock;
use crate::domain::{DomainError, Permission};
use crate::ids::OrgId;
use crate::store::{AuditRecord, Store, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("wrong email or password")]
    BadCredentials,
    #[error("internal error")]
    Internal(#[from] StoreError),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Maps "no such row" to a named not-found; everything else stays a storage error.
pub(crate) trait NotFoundAs<T> {
    fn or_not_found(self, what: &'static str) -> Result<T>;
}

impl<T> NotFoundAs<T> for Result<T, StoreError> {
    fn or_not_found(self, what: &'static str) -> Result<T> {
        self.map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound(what),
            other => ServiceError::Internal(other),
        })
    }
}

fn subscribe_limiter(d: &crate::config::DeliveryConfig) -> crate::ratelimit::RateLimiter {
    crate::ratelimit::RateLimiter::per_hour(d.subscribe_per_hour, d.subscribe_burst)
}

/// The services facade: storage and the clock. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    store: Store,
    pub clock: Arc<dyn Clock>,
    pub security: crate::config::SecurityConfig,
    /// Monitor, delivery and SMTP settings; defaults until [`Services::with_monitoring`] sets them.
    pub monitoring: Arc<crate::config::MonitoringSettings>,
    /// Runs monitor checks where they may go (one pooled client across runs).
    pub prober: crate::outbound::check::Prober,
    /// Calls per connection, tallied in memory and flushed in batches.
    pub usage: usage::UsageRecorder,
    /// Public page views, counted in memory and flushed with the usage tallies.
    pub page_views: page_views::PageViewCounter,
    /// Sign-in attempts per client address, across all emails (this instance's memory).
    pub login_limiter: crate::ratelimit::RateLimiter,
    /// Subscribe requests per client address (`[delivery]` subscribe_per_hour / subscribe_burst).
    pub subscribe_limiter: crate::ratelimit::RateLimiter,
    /// "Forgot your password?" requests per client address (this instance's memory).
    pub reset_limiter: crate::ratelimit::RateLimiter,
}

impl Services {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        security: crate::config::SecurityConfig,
    ) -> Self {
        Self {
            store,
            clock,
            monitoring: Arc::new(crate::config::MonitoringSettings::default()),
            prober: crate::outbound::check::Prober::default(),
            usage: usage::UsageRecorder::default(),
            page_views: page_views::PageViewCounter::default(),
            login_limiter: crate::ratelimit::RateLimiter::new(
                security.login_per_address_per_minute,
                security.login_per_address_burst,
            ),
            security,
            subscribe_limiter: subscribe_limiter(&crate::config::DeliveryConfig::default()),
            reset_limiter: password_reset::request_limiter(),
        }
    }

    /// Where the data stands now: something built from reads made after this may be served until it
    /// changes (see `store::cache`).
    pub fn freshness(&self) -> Freshness {
        self.store.cache.generation()
    }

    /// A secret for `purpose` every instance agrees on; `None` before the keys are unlocked.
    pub fn shared_key(&self, purpose: &str) -> Option<[u8; 32]> {
        self.store.derived_key(purpose)
    }

    pub fn with_monitoring(mut self, settings: crate::config::MonitoringSettings) -> Self {
        self.prober = crate::outbound::check::Prober::new(
            settings.monitors.allow_private_targets,
            settings.own_origin.as_deref(),
        );
        self.subscribe_limiter = subscribe_limiter(&settings.delivery);
        self.monitoring = Arc::new(settings);
        self
    }

    /// Writes an audit row for something statusgate itself did (a monitor proposing an action).
    pub(crate) async fn audit_system(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        action: &str,
        target: (&str, &str),
        detail: serde_json::Value,
    ) -> Result<()> {
        let rec = AuditRecord {
            org_id: org,
            actor_type: crate::domain::ActorType::System,
            actor_id: "statusgate",
            user_id: None,
            action,
            target_type: target.0,
            target_id: target.1,
            detail: detail.to_string(),
        };
        self.store.insert_audit(tx, &rec, self.clock.now()).await?;
        Ok(())
    }

    /// Checks that `who` may do `what` in `org` as a whole, by their current role and, for keys and
    /// connectors, by what the credential itself allows. Someone outside the org is told the thing does
    /// not exist. A key limited to one page may read here but change nothing (creating a page, say):
    /// its changes go through [`Services::require_page`].
    pub async fn require(
        &self,
        who: &Principal,
        org: &OrgId,
        what: Permission,
        thing: &'static str,
    ) -> Result<()> {
        self.require_role(who, org, what, thing).await?;
        if !what.is_read() && who.actor.limited_to_page() {
            return Err(ServiceError::Forbidden(
                "this key is limited to one page; this needs a key for the whole organisation"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The role and credential half of [`Services::require`], for callers that check the page too.
    async fn require_role(
        &self,
        who: &Principal,
        org: &OrgId,
        what: Permission,
        thing: &'static str,
    ) -> Result<()> {
        if !who.actor.reaches_org(org) {
            return Err(ServiceError::NotFound(thing));
        }
        let role = self.store.role_of(org, &who.user_id).await?;
        let Some(role) = role else {
            return Err(ServiceError::NotFound(thing));
        };
        if !role.allows(what) {
            return Err(ServiceError::Forbidden(principal::role_refusal(role, what)));
        }
        if !who.actor.allows(what) {
            return Err(ServiceError::Forbidden(who.actor.refusal(what)));
        }
        Ok(())
    }

    /// [`Services::require`] for something on one page: a page-scoped key is refused every other page.
    pub async fn require_page(
        &self,
        who: &Principal,
        org: &OrgId,
        page: &crate::ids::PageId,
        what: Permission,
        thing: &'static str,
    ) -> Result<()> {
        self.require_role(who, org, what, thing).await?;
        if !who.actor.reaches_page(page) {
            return Err(ServiceError::Forbidden(
                "this key is limited to another page".into(),
            ));
        }
        Ok(())
    }

    /// Whether `who` may do `what` in `org`, for showing or hiding controls. A refusal is `false`; a
    /// storage failure is still an error, not a silent "no".
    pub async fn can(&self, who: &Principal, org: &OrgId, what: Permission) -> Result<bool> {
        match self.require(who, org, what, "organisation").await {
            Ok(()) => Ok(true),
            Err(ServiceError::NotFound(_) | ServiceError::Forbidden(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes the audit row for a change, inside the change's own transaction.
    pub(crate) async fn audit(
        &self,
        tx: &mut Tx,
        who: &Principal,
        org: &OrgId,
        action: &str,
        target: (&str, &str),
        detail: serde_json::Value,
    ) -> Result<()> {
        let mut detail = detail;
        who.actor.describe(&mut detail);
        let rec = AuditRecord {
            org_id: org,
            actor_type: who.actor.actor_type(),
            actor_id: &who.actor_id(),
            user_id: Some(&who.user_id),
            action,
            target_type: target.0,
            target_id: target.1,
            detail: detail.to_string(),
        };
        self.store.insert_audit(tx, &rec, self.clock.now()).await?;
        Ok(())
    }
}
