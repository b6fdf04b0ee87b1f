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
