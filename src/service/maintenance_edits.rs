//! Correcting a maintenance: its title, its window while scheduled, its components until it is
//! finished. Checked here for the REST API, the page MCP server and the admin form alike; the change
//! and its audit row commit together, and subscribers hear of it only when asked.

use serde_json::json;
use time::OffsetDateTime;

use super::{Principal, Result, Services};
use crate::domain::{
    ComponentStatus, DomainError, Maintenance, MaintenanceState, MaintenanceUpdate,
    MaintenanceWindow, Name, Page,
};
use crate::ids::{ComponentId, MaintenanceId, MaintenanceUpdateId};
use crate::store::{StoreError, Tx};

/// A correction to a maintenance; `None` keeps the current value.
#[derive(Default)]
pub struct MaintenanceEdit {
    pub title: Option<String>,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub component_ids: Option<Vec<String>>,
    /// Whether subscribers hear of the change; false tells nobody.
    pub notify: bool,
}

/// A maintenance edit once checked: what the maintenance will be.
struct MaintenancePlan {
    title: String,
    window: MaintenanceWindow,
    components: Vec<ComponentId>,
    notify: bool,
}

impl MaintenancePlan {
    fn changes(&self, m: &Maintenance) -> bool {
        self.title != m.title
            || self.window.starts_at != m.starts_at
            || self.window.ends_at != m.ends_at
            || self.components != m.components
    }
}

impl Services {
    /// Corrects a maintenance: its title at any time, its window while scheduled, its components
    /// until it is finished (work in progress puts added components under maintenance and returns
    /// removed ones to operational). With `notify` an update at its current state tells subscribers
    /// what it now is; without, nobody hears. One audit row names the whole change; an edit that
    /// changes nothing writes nothing and tells nobody.
    #[tracing::instrument(skip(self, edit), fields(maintenance = %id))]
    pub async fn edit_maintenance(
        &self,
        who: &Principal,
        id: &MaintenanceId,
        edit: MaintenanceEdit,
    ) -> Result<Maintenance> {
        let (m, page) = self.managed_maintenance(who, id).await?;
        let plan = self.plan_maintenance_edit(&m, &page, edit).await?;
        if !plan.changes(&m) {
            return Ok(m);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let window = (plan.window.starts_at, plan.window.ends_at);
        self.store
            .edit_maintenance(&mut tx, id, &plan.title, window, now)
            .await?;
        if plan.components != m.components {
            self.store
                .set_maintenance_components(&mut tx, id, &plan.components)
                .await?;
            if m.state == MaintenanceState::InProgress && m.draft.is_none() {
                self.move_maintained(&mut tx, &m.components, &plan.components, now)
                    .await?;
            }
        }
        let edited = Maintenance {
            title: plan.title.clone(),
            starts_at: plan.window.starts_at,
            ends_at: plan.window.ends_at,
            components: plan.components.clone(),
            ..m.clone()
        };
        let update = if plan.notify {
            Some(self.announce_edit(&mut tx, who, &edited, now).await?)
        } else {
            None
        };
        let detail = json!({
            "title": edited.title,
            "previous_title": m.title,
            "starts_at": crate::clock::rfc3339(edited.starts_at),
            "ends_at": crate::clock::rfc3339(edited.ends_at),
            "component_ids": edited.components.iter().map(ComponentId::as_str).collect::<Vec<_>>(),
            "update": update.as_ref().map(|u| u.id.as_str()),
            "notify": plan.notify,
        });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "maintenance.edited",
            ("maintenance", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.store.maintenance(id).await?)
    }

    /// Checks a maintenance edit against the maintenance as it is; `None` fields keep their value.
    async fn plan_maintenance_edit(
        &self,
        m: &Maintenance,
        page: &Page,
        edit: MaintenanceEdit,
    ) -> Result<MaintenancePlan> {
        if edit.title.is_none()
            && edit.starts_at.is_none()
            && edit.ends_at.is_none()
            && edit.component_ids.is_none()
        {
            return Err(DomainError::invalid(
                "title",
                "nothing to change: give a title, a window or the components",
            )
            .into());
        }
        let title = match &edit.title {
            Some(t) => Name::parse("title", t)?.into_inner(),
            None => m.title.clone(),
        };
        let starts_at = edit.starts_at.unwrap_or(m.starts_at);
        let ends_at = edit.ends_at.unwrap_or(m.ends_at);
        let moved = starts_at != m.starts_at || ends_at != m.ends_at;
        if moved && m.state != MaintenanceState::Scheduled {
            return Err(DomainError::Transition(
                "only a scheduled maintenance can be moved".into(),
            )
            .into());
        }
        let window = if moved {
            MaintenanceWindow::new(starts_at, ends_at, self.clock.now())?
        } else {
            MaintenanceWindow { starts_at, ends_at }
        };
        let mut components = match &edit.component_ids {
            Some(ids) => ids
                .iter()
                .map(|c| {
                    ComponentId::parse(c).ok_or_else(|| {
                        DomainError::invalid("component_ids", format!("{c} is not a component id"))
                    })
                })
                .collect::<std::result::Result<Vec<_>, _>>()?,
            None => m.components.clone(),
        };
        self.check_maintenance_components(page, &components).await?;
        // Stored in id order, so compare (and keep) them that way.
        components.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        if components != m.components && !m.state.is_open() {
            return Err(DomainError::Transition(format!(
                "the maintenance is {}; its components can no longer change",
                m.state.as_str()
            ))
            .into());
        }
        if edit.notify && m.draft.is_some() {
            return Err(DomainError::invalid(
                "notify",
                "a draft notifies nobody: whoever publishes it chooses whether to notify subscribers",
            )
            .into());
        }
        Ok(MaintenancePlan {
            title,
            window,
            components,
            notify: edit.notify,
        })
    }

    /// Work in progress: added components go under maintenance, removed ones back to operational.
    async fn move_maintained(
        &self,
        tx: &mut Tx,
        before: &[ComponentId],
        after: &[ComponentId],
        now: OffsetDateTime,
    ) -> Result<()> {
        for c in after.iter().filter(|c| !before.contains(c)) {
            self.store
                .set_component_status(tx, c, ComponentStatus::UnderMaintenance, now)
                .await?;
        }
        for c in before.iter().filter(|c| !after.contains(c)) {
            self.store
                .set_component_status(tx, c, ComponentStatus::Operational, now)
                .await?;
        }
        Ok(())
    }

    /// Tells subscribers what the maintenance now is, as an update at its current state.
    async fn announce_edit(
        &self,
        tx: &mut Tx,
        who: &Principal,
        m: &Maintenance,
        now: OffsetDateTime,
    ) -> Result<MaintenanceUpdate> {
        let update = MaintenanceUpdate {
            id: MaintenanceUpdateId::generate(),
            maintenance_id: m.id.clone(),
            state: m.state,
            message: format!(
                "Updated: {}, from {} to {}.",
                m.title,
                crate::clock::rfc3339(m.starts_at),
                crate::clock::rfc3339(m.ends_at)
            ),
            notify: true,
            created_at: now,
        };
        self.store
            .insert_maintenance_update(tx, &update, Some(&who.user_id))
            .await?;
        self.notify_maintenance_update(tx, m, &update).await?;
        Ok(update)
    }
}
