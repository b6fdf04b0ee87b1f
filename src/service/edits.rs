//! Edits beyond posting updates: correcting an incident (title, affected components) or a maintenance
//! (title, window, components), deleting either; and the paged listings the REST API serves. Each change commits with its audit row.

use serde_json::json;
use time::OffsetDateTime;

use super::drafts::refuse_if_draft;
use super::{NotFoundAs, Principal, Result, Services};
use crate::domain::incident::parse_affected;
use crate::domain::{
    ComponentStatus, DomainError, Incident, IncidentUpdate, Maintenance, MaintenanceState,
    MaintenanceUpdate, MaintenanceWindow, Message, Name, NewIncidentUpdate, Page, Permission,
};
use crate::ids::{ComponentId, IncidentId, MaintenanceId, MaintenanceUpdateId, PageId};
use crate::store::{MaintenanceFilter, StoreError, Tx};

/// Which incidents a listing wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentFilter {
    Active,
    Resolved,
    All,
}

/// A correction to an incident as every front end receives it (REST, the page MCP server, the admin
/// form): raw values checked in one place, so all three refuse the same input under the same field.
#[derive(Default)]
pub struct IncidentEdit {
    pub title: Option<String>,
    /// `(component id, status)` pairs, posted as an update at the incident's current stage.
    pub affected: Option<Vec<(String, String)>>,
    /// The update's message (default "Impact updated.").
    pub message: Option<String>,
    /// Whether subscribers hear of the update; false tells nobody.
    pub notify: bool,
}

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

fn affected_json(affected: &[(ComponentId, ComponentStatus)]) -> serde_json::Value {
    affected
        .iter()
        .map(|(c, s)| json!({ "component_id": c.as_str(), "status": s.as_str() }))
        .collect()
}

impl Services {
    /// Incidents of a page from `offset` on, newest first, at most `limit + 1` (so callers see
    /// whether more follow). Active ones come before resolved ones.
    pub async fn incident_listing(
        &self,
        who: &Principal,
        page: &PageId,
        filter: IncidentFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Incident>> {
        self.page_for(who, page, Permission::IncidentRead).await?;
        let want = offset + limit + 1;
        let mut list = Vec::new();
        if filter != IncidentFilter::Resolved {
            list.extend(self.store.active_incidents(page).await?);
        }
        if filter != IncidentFilter::Active {
            list.extend(self.store.resolved_incidents(page, want).await?);
        }
        Ok(list.into_iter().skip(offset as usize).collect())
    }

    /// Maintenances of a page from `offset` on, at most `limit + 1`.
    pub async fn maintenance_listing(
        &self,
        who: &Principal,
        page: &PageId,
        filter: MaintenanceFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Maintenance>> {
        self.page_for(who, page, Permission::MaintenanceRead)
            .await?;
        let list = self
            .store
            .maintenances(page, filter, self.clock.now(), offset + limit + 1)
            .await?;
        Ok(list.into_iter().skip(offset as usize).collect())
    }

    /// Corrects an incident: its title, and the affected components with their statuses. Changing
    /// components (or giving a message, or `notify`) posts an update at the incident's current stage;
    /// subscribers hear of it only with `notify`. One audit row names the whole change. A title equal
    /// to the current one is no change; an edit naming nothing is refused.
    #[tracing::instrument(skip(self, edit), fields(incident = %id))]
    pub async fn edit_incident(
        &self,
        who: &Principal,
        id: &IncidentId,
        edit: IncidentEdit,
    ) -> Result<(Incident, Option<IncidentUpdate>)> {
        let (mut incident, page) = self.managed_incident(who, id).await?;
        let title = edit
            .title
            .as_deref()
            .map(|t| Name::parse("title", t))
            .transpose()?
            .map(Name::into_inner);
        let affected = edit.affected.as_deref().map(parse_affected).transpose()?;
        let message = edit
            .message
            .as_deref()
            .map(|m| Message::parse("message", m))
            .transpose()?;
        if title.is_none() && affected.is_none() && message.is_none() {
            return Err(DomainError::invalid(
                "title",
                "nothing to change: give a title, affected components or a message",
            )
            .into());
        }
        let renamed = title.filter(|t| *t != incident.title);
        let update =
            if affected.is_some() || message.is_some() || (edit.notify && renamed.is_some()) {
                let default = match (&affected, &renamed) {
                    (None, Some(t)) => format!("This incident is now titled \u{201c}{t}\u{201d}."),
                    _ => "Impact updated.".to_owned(),
                };
                let update = NewIncidentUpdate {
                    stage: incident.stage,
                    message: message.map_or_else(|| Message::parse("message", &default), Ok)?,
                    affected: affected.unwrap_or_default(),
                    notify: edit.notify,
                };
                refuse_if_draft(&incident.draft, "incident", id.as_str())?;
                incident.stage.check_update(update.stage)?;
                self.check_components(&page, &update.affected).await?;
                Some(update)
            } else {
                None
            };
        if renamed.is_none() && update.is_none() {
            return Ok((incident, None));
        }
        let previous_title = incident.title.clone();
        let mut tx = self.store.begin().await?;
        if let Some(t) = &renamed {
            self.store
                .rename_incident(&mut tx, id, t, self.clock.now())
                .await?;
            // Subscribers told of this edit hear the new title.
            incident.title.clone_from(t);
        }
        let written = match update {
            Some(u) => Some(self.write_update(&mut tx, who, &incident, u).await?),
            None => None,
        };
        let detail = json!({
            "title": incident.title,
            "previous_title": previous_title,
            "update": written.as_ref().map(|u| u.id.as_str()),
            "affected_components": written.as_ref().map(|u| affected_json(&u.affected)),
            "notify": written.as_ref().is_some_and(|u| u.notify),
        });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "incident.edited",
            ("incident", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((self.store.incident(id).await?, written))
    }

    /// Deletes an incident and its updates. Components an open incident touched go back to
    /// operational, since nothing would be left to explain their status.
    #[tracing::instrument(skip(self), fields(incident = %id))]
    pub async fn delete_incident(&self, who: &Principal, id: &IncidentId) -> Result<()> {
        let (incident, page) = self.managed_incident(who, id).await?;
        let touched = if incident.stage.is_open() {
            self.store.incident_components(id).await?
        } else {
            Vec::new()
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.store
            .delete_incident(&mut tx, id)
            .await
            .or_not_found("incident")?;
        for c in &touched {
            self.store
                .set_component_status(&mut tx, c, ComponentStatus::Operational, now)
                .await?;
        }
        let detail = json!({ "title": incident.title, "stage": incident.stage.as_str() });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "incident.deleted",
            ("incident", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

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

    /// Deletes a maintenance; if work was in progress its components go back to operational.
    #[tracing::instrument(skip(self), fields(maintenance = %id))]
    pub async fn delete_maintenance(&self, who: &Principal, id: &MaintenanceId) -> Result<()> {
        let (m, page) = self.managed_maintenance(who, id).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.store
            .delete_maintenance(&mut tx, id)
            .await
            .or_not_found("maintenance")?;
        if m.state == MaintenanceState::InProgress {
            for c in &m.components {
                self.store
                    .set_component_status(&mut tx, c, ComponentStatus::Operational, now)
                    .await?;
            }
        }
        let detail = json!({ "title": m.title, "state": m.state.as_str() });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "maintenance.deleted",
            ("maintenance", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// How many subscribers a page has, per kind, confirmed and pending. Counts only, no addresses, so
    /// whoever may read the page's analytics may read them.
    pub async fn subscriber_summary(
        &self,
        who: &Principal,
        page: &PageId,
    ) -> Result<Vec<(String, i64, i64)>> {
        self.page_for(who, page, Permission::AnalyticsRead).await?;
        Ok(self.store.subscriber_counts(page).await?)
    }
}
