//! The demo workspace: on a first start against an empty database, org `acme` with page `api`, a few
//! components, one resolved and one active incident, an upcoming maintenance, and the owner account.
//! A database that already has an organisation is left alone.

use time::{Duration, Time};

use super::maintenances::NewMaintenance;
use super::pages::NewComponent;
use super::{Principal, Result, ServiceError, Services};
use crate::domain::{
    ComponentStatus, IncidentStage, MaintenanceWindow, Message, NewIncidentUpdate, Role,
};

/// What a person needs to sign in to the demo. `generated_password` is set only when we made one up.
#[derive(Debug)]
pub struct DemoAccount {
    pub email: String,
    pub generated_password: Option<String>,
}

impl Services {
    pub async fn seed_demo(
        &self,
        admin_email: &str,
        admin_password: Option<&str>,
    ) -> Result<Option<DemoAccount>> {
        if self.store.count_orgs().await? > 0 {
            return Ok(None);
        }
        let org = match self.create_org("acme", "Acme Inc.").await {
            Ok(org) => org,
            // Another instance seeded it first.
            Err(ServiceError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let generated = admin_password.is_none().then(|| crate::ids::random_hex(12));
        let password = admin_password.or(generated.as_deref()).unwrap_or_default();
        let owner = self
            .create_user(admin_email, password, &org, Role::Owner)
            .await?;
        let me = Principal::user(owner.id.clone());

        let components = [
            NewComponent {
                name: "REST API",
                group: Some("API"),
            },
            NewComponent {
                name: "Webhooks",
                group: Some("API"),
            },
            NewComponent {
                name: "Dashboard",
                group: None,
            },
            NewComponent {
                name: "Authentication",
                group: None,
            },
        ];
        let page = self
            .create_page(&me, &org.id, "api", "api", "Acme API", &components)
            .await?;
        let all = self.store.components(&page.id).await?;
        let find = |name: &str| all.iter().find(|c| c.name == name).map(|c| c.id.clone());

        let msg = |s: &str| Message::parse("message", s);
        let auth = find("Authentication").into_iter().collect::<Vec<_>>();
        let (resolved, _) = self
            .create_incident(
                &me,
                &page.id,
                "Sign-in failures for some users",
                NewIncidentUpdate {
                    stage: IncidentStage::Investigating,
                    message: msg("Some users cannot sign in. We are investigating.")?,
                    affected: auth
                        .iter()
                        .map(|c| (c.clone(), ComponentStatus::PartialOutage))
                        .collect(),
                    notify: false,
                },
            )
            .await?;
        self.add_incident_update(
            &me,
            &resolved.id,
            NewIncidentUpdate {
                stage: IncidentStage::Resolved,
                message: msg(
                    "A faulty session-cache node was replaced. Sign-in works for everyone again.",
                )?,
                affected: Vec::new(),
                notify: false,
            },
        )
        .await?;

        let hooks = find("Webhooks").into_iter().collect::<Vec<_>>();
        let (active, _) = self
            .create_incident(
                &me,
                &page.id,
                "Delayed webhook deliveries",
                NewIncidentUpdate {
                    stage: IncidentStage::Investigating,
                    message: msg("Webhook deliveries are arriving several minutes late.")?,
                    affected: hooks
                        .iter()
                        .map(|c| (c.clone(), ComponentStatus::DegradedPerformance))
                        .collect(),
                    notify: false,
                },
            )
            .await?;
        self.add_incident_update(
            &me,
            &active.id,
            NewIncidentUpdate {
                stage: IncidentStage::Identified,
                message: msg("A queue consumer is falling behind; we are adding capacity.")?,
                affected: hooks
                    .iter()
                    .map(|c| (c.clone(), ComponentStatus::DegradedPerformance))
                    .collect(),
                notify: false,
            },
        )
        .await?;

        let now = self.clock.now();
        let start = (now + Duration::days(2))
            .replace_time(Time::from_hms(2, 0, 0).unwrap_or(Time::MIDNIGHT));
        let window = MaintenanceWindow::new(start, start + Duration::hours(1), now)?;
        self.schedule_maintenance(&me, &page.id, NewMaintenance {
            title: "Database upgrade",
            window,
            components: find("REST API").into_iter().collect(),
            message: msg("We will upgrade the primary database. The API may answer slowly for a few minutes.")?,
            notify: false,
        })
        .await?;

        Ok(Some(DemoAccount {
            email: owner.email,
            generated_password: generated,
        }))
    }
}

/// Demo monitor history: one check every this many hours over the last two weeks.
const HISTORY_STEP_HOURS: i64 = 6;
const HISTORY_DAYS: i64 = 14;

impl Services {
    /// Adds the demo's monitors to page `api`: two that check this instance's own health endpoint (they
    /// pass on a fresh machine), one that fails, two weeks of history and one pending action.
    pub async fn seed_demo_monitors(&self, health_url: &str) -> Result<()> {
        use crate::domain::monitor::{
            ActionKind, ActionState, MonitorEvent, MonitorGroup, MonitorInput, MonitorSpec,
            PendingAction, Trigger,
        };
        use crate::ids::{MonitorEventId, MonitorGroupId, MonitorId, PendingActionId};

        let page = self.store.page_by_public_slug("api").await?;
        let all = self.store.components(&page.id).await?;
        let find = |name: &str| all.iter().find(|c| c.name == name).map(|c| c.id.clone());
        let now = self.clock.now();
        let group = MonitorGroup {
            id: MonitorGroupId::generate(),
            page_id: page.id.clone(),
            name: "Public endpoints".into(),
        };
        let missing = health_url.replace("/mcp/health", "/mcp/health/export");
        let monitors = [
            ("Health endpoint", health_url, "REST API"),
            ("Dashboard health", health_url, "Dashboard"),
            ("Status export", missing.as_str(), "Webhooks"),
        ];
        let mut tx = self.store.begin().await?;
        self.store
            .insert_monitor_group(&mut tx, &group, now)
            .await?;
        let mut ids = Vec::new();
        for (name, url, component) in monitors {
            let spec = MonitorSpec::parse(
                MonitorInput {
                    name,
                    method: "GET",
                    url,
                    expect_min: 200,
                    expect_max: 299,
                    body_contains: None,
                    timeout_ms: 5_000,
                    interval_secs: 60,
                    enabled: true,
                    component_id: find(component),
                    group_id: Some(group.id.clone()),
                },
                1,
            )?;
            let id = MonitorId::generate();
            self.store
                .insert_monitor(&mut tx, &id, &page.id, &spec, now)
                .await?;
            ids.push(id);
        }
        // History: the healthy monitors mostly pass; the failing one has failed its last three checks.
        let steps = HISTORY_DAYS * 24 / HISTORY_STEP_HOURS;
        for (i, id) in ids.iter().enumerate() {
            for step in (1..=steps).rev() {
                let at = now - Duration::hours(step * HISTORY_STEP_HOURS);
                let ok = match i {
                    2 => step > 3,
                    _ => step != 30,
                };
                let event = MonitorEvent {
                    id: MonitorEventId::generate(),
                    monitor_id: id.clone(),
                    checked_at: at,
                    ok,
                    latency_ms: 40 + (step * 7) % 90,
                    status_code: Some(if ok { 200 } else { 503 }),
                    error: (!ok).then(|| "status 503, expected 200-299".to_owned()),
                    trigger: Trigger::Schedule,
                };
                self.store.record_monitor_event(&mut tx, &event).await?;
            }
        }
        if let (Some(failing), Some(component)) = (ids.get(2), find("Webhooks")) {
            let action = PendingAction {
                id: PendingActionId::generate(),
                page_id: page.id.clone(),
                monitor_id: Some(failing.clone()),
                component_id: component,
                kind: ActionKind::OpenIncident,
                status: ComponentStatus::MajorOutage,
                reason: "Status export failed 3 checks in a row: status 503, expected 200-299"
                    .into(),
                state: ActionState::Pending,
                decided_by: None,
                decision_note: None,
                created_at: now - Duration::hours(HISTORY_STEP_HOURS),
            };
            self.store.insert_pending_action(&mut tx, &action).await?;
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }
}
