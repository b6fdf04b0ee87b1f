//! Monitor use cases: manage checks and groups, run one now, and the scheduler's step that runs every
//! due check once across all instances (a compare-and-set on `next_run_at`), recording events and
//! proposing actions after repeated failures or a recovery.

use serde_json::json;
use time::Duration;

use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::monitor::{
    proposal_after_run, ActionKind, ActionState, Monitor, MonitorEvent, MonitorGroup, MonitorInput,
    MonitorSpec, PendingAction, Trigger,
};
use crate::domain::{ComponentKind, DomainError, Name, Page, Permission};
use crate::ids::{ComponentId, MonitorEventId, MonitorGroupId, MonitorId, PageId, PendingActionId};
use crate::service::incidents::clamp_limit;
use crate::store::StoreError;

/// Most checks one instance starts per scheduler tick.
const DUE_BATCH: i64 = 32;

impl Services {
    pub async fn monitors(&self, who: &Principal, page: &PageId) -> Result<Vec<Monitor>> {
        self.page_for(who, page, Permission::MonitorRead).await?;
        Ok(self.store.monitors_of_page(page).await?)
    }

    /// A monitor and its latest events, newest first.
    pub async fn monitor(
        &self,
        who: &Principal,
        id: &MonitorId,
        limit: Option<i64>,
    ) -> Result<(Monitor, Vec<MonitorEvent>)> {
        let m = self.store.monitor(id).await.or_not_found("monitor")?;
        self.page_for(who, &m.page_id, Permission::MonitorRead)
            .await?;
        let events = self.store.monitor_events(id, clamp_limit(limit)).await?;
        Ok((m, events))
    }

    /// Failed runs across the page's monitors, newest first.
    pub async fn recent_failures(
        &self,
        who: &Principal,
        page: &PageId,
        limit: Option<i64>,
    ) -> Result<Vec<MonitorEvent>> {
        self.page_for(who, page, Permission::MonitorRead).await?;
        Ok(self.store.recent_failures(page, clamp_limit(limit)).await?)
    }

    pub async fn monitor_groups(
        &self,
        who: &Principal,
        page: &PageId,
    ) -> Result<Vec<MonitorGroup>> {
        self.page_for(who, page, Permission::MonitorRead).await?;
        Ok(self.store.monitor_groups(page).await?)
    }

    pub async fn create_monitor_group(
        &self,
        who: &Principal,
        page_id: &PageId,
        name: &str,
    ) -> Result<MonitorGroup> {
        let page = self
            .page_for(who, page_id, Permission::MonitorManage)
            .await?;
        let g = MonitorGroup {
            id: MonitorGroupId::generate(),
            page_id: page.id.clone(),
            name: Name::parse("name", name)?.into_inner(),
        };
        let mut tx = self.store.begin().await?;
        match self
            .store
            .insert_monitor_group(&mut tx, &g, self.clock.now())
            .await
        {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(format!(
                    "a group named {} exists",
                    g.name
                )))
            }
            other => other?,
        }
        let detail = json!({ "name": g.name });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "monitor_group.created",
            ("monitor_group", g.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(g)
    }

    #[tracing::instrument(skip(self, input), fields(page = %page_id))]
    pub async fn create_monitor(
        &self,
        who: &Principal,
        page_id: &PageId,
        input: MonitorInput<'_>,
    ) -> Result<Monitor> {
        let page = self
            .page_for(who, page_id, Permission::MonitorManage)
            .await?;
        let spec = self.checked_spec(&page, input).await?;
        let id = MonitorId::generate();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.store
            .insert_monitor(&mut tx, &id, &page.id, &spec, now)
            .await?;
        let detail =
            json!({ "name": spec.name, "url": spec.url, "interval_secs": spec.interval_secs });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "monitor.created",
            ("monitor", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.store.monitor(&id).await?)
    }

    pub async fn update_monitor(
        &self,
        who: &Principal,
        id: &MonitorId,
        input: MonitorInput<'_>,
    ) -> Result<Monitor> {
        let m = self.store.monitor(id).await.or_not_found("monitor")?;
        let page = self
            .page_for(who, &m.page_id, Permission::MonitorManage)
            .await?;
        let spec = self.checked_spec(&page, input).await?;
        let mut tx = self.store.begin().await?;
        self.store
            .update_monitor(&mut tx, id, &spec, self.clock.now())
            .await?;
        let detail = json!({ "name": spec.name, "url": spec.url, "enabled": spec.enabled });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "monitor.updated",
            ("monitor", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.store.monitor(id).await?)
    }

    /// Pauses or resumes a monitor; a resumed monitor is due at once.
    pub async fn set_monitor_enabled(
        &self,
        who: &Principal,
        id: &MonitorId,
        enabled: bool,
    ) -> Result<Monitor> {
        let m = self.store.monitor(id).await.or_not_found("monitor")?;
        let page = self
            .page_for(who, &m.page_id, Permission::MonitorManage)
            .await?;
        let spec = MonitorSpec { enabled, ..m.spec };
        let mut tx = self.store.begin().await?;
        self.store
            .update_monitor(&mut tx, id, &spec, self.clock.now())
            .await?;
        let action = if enabled {
            "monitor.resumed"
        } else {
            "monitor.paused"
        };
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            action,
            ("monitor", id.as_str()),
            json!({}),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.store.monitor(id).await?)
    }

    pub async fn delete_monitor(&self, who: &Principal, id: &MonitorId) -> Result<()> {
        let m = self.store.monitor(id).await.or_not_found("monitor")?;
        let page = self
            .page_for(who, &m.page_id, Permission::MonitorManage)
            .await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_monitor(&mut tx, id).await?;
        let detail = json!({ "name": m.spec.name });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "monitor.deleted",
            ("monitor", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Parses the input against the configured interval floor, refuses a literal address monitors may
    /// not reach, and checks the component and group belong to this page.
    async fn checked_spec(&self, page: &Page, input: MonitorInput<'_>) -> Result<MonitorSpec> {
        let spec = MonitorSpec::parse(input, self.monitoring.monitors.min_interval_secs)?;
        // Names are judged again at every connection; a literal address can be refused now.
        self.prober
            .admit(&spec.url)
            .map_err(|e| DomainError::invalid("url", e.to_string()))?;
        if let Some(c) = &spec.component_id {
            let known = self.store.components(&page.id).await?;
            if !known
                .iter()
                .any(|k| k.id == *c && k.kind == ComponentKind::Component)
            {
                return Err(
                    DomainError::invalid("component", "is not a component of this page").into(),
                );
            }
        }
        if let Some(g) = &spec.group_id {
            if !self
                .store
                .monitor_groups(&page.id)
                .await?
                .iter()
                .any(|k| k.id == *g)
            {
                return Err(
                    DomainError::invalid("group", "is not a monitor group of this page").into(),
                );
            }
        }
        Ok(spec)
    }

    /// Runs the check at once, outside the schedule, and records the event.
    #[tracing::instrument(skip(self), fields(monitor = %id))]
    pub async fn run_monitor_now(&self, who: &Principal, id: &MonitorId) -> Result<MonitorEvent> {
        let m = self.store.monitor(id).await.or_not_found("monitor")?;
        self.page_for(who, &m.page_id, Permission::MonitorManage)
            .await?;
        self.execute_check(&m, Trigger::Manual).await
    }

    /// One scheduler step: claims due checks (each exactly once across instances) and runs them
    /// concurrently. Returns how many this instance ran.
    pub async fn run_due_monitors(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut runs = tokio::task::JoinSet::new();
        for m in self.store.due_monitors(now, DUE_BATCH).await? {
            let next = now + Duration::seconds(m.spec.interval_secs);
            if !self
                .store
                .claim_monitor_run(&m.id, m.next_run_at, next)
                .await?
            {
                continue; // Another instance took this interval.
            }
            let me = self.clone();
            runs.spawn(async move { me.execute_check(&m, Trigger::Schedule).await });
        }
        let mut ran = 0;
        while let Some(done) = runs.join_next().await {
            match done {
                Ok(Ok(_)) => ran += 1,
                Ok(Err(e)) => tracing::warn!(error = %e, "recording a monitor run failed"),
                Err(e) => tracing::warn!(error = %e, "a monitor run stopped unexpectedly"),
            }
        }
        Ok(ran)
    }

    /// The page's published, unresolved incidents whose updates name `component`.
    pub(crate) async fn open_incidents_naming(
        &self,
        page: &PageId,
        component: &ComponentId,
    ) -> Result<Vec<crate::domain::Incident>> {
        let mut out = Vec::new();
        for i in self.store.active_incidents(page).await? {
            if self
                .store
                .incident_components(&i.id)
                .await?
                .contains(component)
            {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Deletes events older than the retention period.
    pub async fn prune_monitor_events(&self) -> Result<u64> {
        let days = self.monitoring.monitors.retention_days;
        let cutoff = self.clock.now() - Duration::days(days);
        Ok(self.store.prune_monitor_events(cutoff).await?)
    }

    /// Runs the check, then in one transaction records the event, moves the failure streak and, when the
    /// streak crosses the threshold or recovers, proposes an action for a person to decide.
    async fn execute_check(&self, m: &Monitor, trigger: Trigger) -> Result<MonitorEvent> {
        let outcome = self.prober.run(&m.spec).await;
        crate::telemetry::metrics::monitor_run(outcome.ok, outcome.latency_ms);
        let event = MonitorEvent {
            id: MonitorEventId::generate(),
            monitor_id: m.id.clone(),
            checked_at: self.clock.now(),
            ok: outcome.ok,
            latency_ms: outcome.latency_ms,
            status_code: outcome.status_code,
            error: outcome.error,
            trigger,
        };
        let mut tx = self.store.begin().await?;
        let before = self.store.record_monitor_event(&mut tx, &event).await?;
        if let Some(component_id) = &m.spec.component_id {
            let components = self.store.components(&m.page_id).await?;
            let current = components
                .iter()
                .find(|c| c.id == *component_id)
                .map(|c| c.status);
            let threshold = self.monitoring.monitors.failure_threshold;
            let mut proposal =
                current.and_then(|s| proposal_after_run(event.ok, before, threshold, s));
            // A recovery while an incident names the component proposes resolving it, not only the status.
            if let Some((ActionKind::SetStatus, status)) = proposal {
                if !self
                    .open_incidents_naming(&m.page_id, component_id)
                    .await?
                    .is_empty()
                {
                    proposal = Some((ActionKind::ResolveIncident, status));
                }
            }
            if let Some((kind, status)) = proposal {
                let reason = if event.ok {
                    format!("{} passes again after {before} failed checks.", m.spec.name)
                } else {
                    format!(
                        "{} failed {threshold} checks in a row: {}",
                        m.spec.name,
                        event.error.as_deref().unwrap_or("failed")
                    )
                };
                let action = PendingAction {
                    id: PendingActionId::generate(),
                    page_id: m.page_id.clone(),
                    monitor_id: Some(m.id.clone()),
                    component_id: component_id.clone(),
                    kind,
                    status,
                    reason,
                    state: ActionState::Pending,
                    decided_by: None,
                    decision_note: None,
                    created_at: event.checked_at,
                };
                self.store.insert_pending_action(&mut tx, &action).await?;
                let page = self.store.page(&m.page_id).await?;
                let detail = json!({ "kind": kind.as_str(), "status": status.as_str(), "monitor": m.id.as_str() });
                self.audit_system(
                    &mut tx,
                    &page.org_id,
                    "monitor_action.proposed",
                    ("pending_action", action.id.as_str()),
                    detail,
                )
                .await?;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(event)
    }
}
