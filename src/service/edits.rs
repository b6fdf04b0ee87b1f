//! Edits beyond posting updates: renaming an incident, changing a maintenance's title or window,
//! deleting either; and the paged listings the REST API serves. Each change commits with its audit row.

use serde_json::json;
use time::OffsetDateTime;

use super::{NotFoundAs, Principal, Result, Services};
use crate::domain::{
    ComponentStatus, DomainError, Incident, Maintenance, MaintenanceState, MaintenanceWindow, Name,
    Permission,
};
use crate::ids::{IncidentId, MaintenanceId, PageId};
use crate::store::{MaintenanceFilter, StoreError};

/// Which incidents a listing wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentFilter {
    Active,
    Resolved,
    All,
}

/// A maintenance's new title and window; `None` keeps the current value.
pub struct MaintenanceEdit<'a> {
    pub title: Option<&'a str>,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
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

    #[tracing::instrument(skip(self), fields(incident = %id))]
    pub async fn rename_incident(
        &self,
        who: &Principal,
        id: &IncidentId,
        title: &str,
    ) -> Result<Incident> {
        let (incident, page) = self.managed_incident(who, id).await?;
        let title = Name::parse("title", title)?.into_inner();
        let mut tx = self.store.begin().await?;
        self.store
            .rename_incident(&mut tx, id, &title, self.clock.now())
            .await?;
        let detail = json!({ "title": title, "previous_title": incident.title });
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
        Ok(self.store.incident(id).await?)
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

    /// Changes the title, and while it is still scheduled, the window.
    #[tracing::instrument(skip(self, edit), fields(maintenance = %id))]
    pub async fn edit_maintenance(
        &self,
        who: &Principal,
        id: &MaintenanceId,
        edit: MaintenanceEdit<'_>,
    ) -> Result<Maintenance> {
        let (m, page) = self.managed_maintenance(who, id).await?;
        let title = Name::parse("title", edit.title.unwrap_or(&m.title))?.into_inner();
        let moved = edit.starts_at.is_some() || edit.ends_at.is_some();
        if moved && m.state != MaintenanceState::Scheduled {
            return Err(DomainError::Transition(
                "only a scheduled maintenance can be moved".into(),
            )
            .into());
        }
        let now = self.clock.now();
        let window = if moved {
            MaintenanceWindow::new(
                edit.starts_at.unwrap_or(m.starts_at),
                edit.ends_at.unwrap_or(m.ends_at),
                now,
            )?
        } else {
            MaintenanceWindow {
                starts_at: m.starts_at,
                ends_at: m.ends_at,
            }
        };
        let mut tx = self.store.begin().await?;
        self.store
            .edit_maintenance(&mut tx, id, &title, (window.starts_at, window.ends_at), now)
            .await?;
        let detail = json!({
            "title": title,
            "starts_at": crate::clock::rfc3339(window.starts_at),
            "ends_at": crate::clock::rfc3339(window.ends_at),
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
