//! Edits beyond posting updates: correcting an incident (title, affected components; a maintenance's
//! correction is in `maintenance_edits`), deleting either; and the paged listings the REST API serves. Each change commits with its audit row.

use serde_json::json;

use super::drafts::refuse_if_draft;
pub use super::maintenance_edits::MaintenanceEdit;
use super::{NotFoundAs, Principal, Result, Services};
use crate::domain::incident::parse_affected;
use crate::domain::MaintenanceFilter;
use crate::domain::{
    ComponentStatus, DomainError, Incident, IncidentUpdate, Maintenance, MaintenanceState, Message,
    Name, NewIncidentUpdate, Permission,
};
use crate::ids::{ComponentId, IncidentId, MaintenanceId, PageId};
use crate::store::StoreError;

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
