//! Maintenance use cases: schedule a window, post updates that move it through its lifecycle.
//! Starting work puts its components under maintenance; finishing or cancelling puts them back.

use serde_json::json;

use super::drafts::refuse_if_draft;
use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::MaintenanceFilter;
use crate::domain::{
    ComponentKind, ComponentStatus, DomainError, Draft, Maintenance, MaintenanceState,
    MaintenanceUpdate, MaintenanceWindow, Message, Name, Permission,
};
use crate::ids::{ComponentId, MaintenanceId, MaintenanceUpdateId, PageId};
use crate::service::incidents::clamp_limit;
use crate::store::StoreError;

pub struct NewMaintenance<'a> {
    pub title: &'a str,
    pub window: MaintenanceWindow,
    pub components: Vec<ComponentId>,
    pub message: Message,
    pub notify: bool,
}

impl Services {
    /// The maintenance and its page, if `who` may manage maintenance there.
    pub(crate) async fn managed_maintenance(
        &self,
        who: &Principal,
        id: &MaintenanceId,
    ) -> Result<(Maintenance, crate::domain::Page)> {
        let m = self
            .store
            .maintenance(id)
            .await
            .or_not_found("maintenance")?;
        let page = self
            .page_for(who, &m.page_id, Permission::MaintenanceManage)
            .await?;
        Ok((m, page))
    }

    pub async fn maintenances(
        &self,
        who: &Principal,
        page: &PageId,
        filter: MaintenanceFilter,
        limit: Option<i64>,
    ) -> Result<Vec<Maintenance>> {
        self.page_for(who, page, Permission::MaintenanceRead)
            .await?;
        Ok(self
            .store
            .maintenances(page, filter, self.clock.now(), clamp_limit(limit))
            .await?)
    }

    pub async fn maintenance(
        &self,
        who: &Principal,
        id: &MaintenanceId,
        limit: Option<i64>,
    ) -> Result<(Maintenance, Vec<MaintenanceUpdate>)> {
        let m = self
            .store
            .maintenance(id)
            .await
            .or_not_found("maintenance")?;
        self.page_for(who, &m.page_id, Permission::MaintenanceRead)
            .await?;
        let updates = self
            .store
            .maintenance_updates(id, clamp_limit(limit))
            .await?;
        Ok((m, updates))
    }

    pub async fn schedule_maintenance(
        &self,
        who: &Principal,
        page_id: &PageId,
        new: NewMaintenance<'_>,
    ) -> Result<(Maintenance, MaintenanceUpdate)> {
        self.plan_maintenance(who, page_id, new, None).await
    }

    /// Schedules a window, or with `draft` saves it unpublished (see `service::drafts`).
    #[tracing::instrument(skip(self, new, draft), fields(page = %page_id))]
    pub(super) async fn plan_maintenance(
        &self,
        who: &Principal,
        page_id: &PageId,
        new: NewMaintenance<'_>,
        draft: Option<Draft>,
    ) -> Result<(Maintenance, MaintenanceUpdate)> {
        let page = self
            .page_for(who, page_id, Permission::MaintenanceManage)
            .await?;
        let title = Name::parse("title", new.title)?;
        self.check_maintenance_components(&page, &new.components)
            .await?;
        let now = self.clock.now();
        let m = Maintenance {
            id: MaintenanceId::generate(),
            page_id: page.id.clone(),
            title: title.into_inner(),
            state: MaintenanceState::Scheduled,
            starts_at: new.window.starts_at,
            ends_at: new.window.ends_at,
            components: new.components,
            updated_at: now,
            draft,
        };
        let update = MaintenanceUpdate {
            id: MaintenanceUpdateId::generate(),
            maintenance_id: m.id.clone(),
            state: MaintenanceState::Scheduled,
            message: new.message.into_inner(),
            notify: new.notify,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .insert_maintenance(&mut tx, &m, Some(&who.user_id), now)
            .await?;
        self.store
            .insert_maintenance_update(&mut tx, &update, Some(&who.user_id))
            .await?;
        self.notify_maintenance_update(&mut tx, &m, &update).await?;
        let detail = json!({
            "title": m.title,
            "starts_at": crate::clock::rfc3339(m.starts_at),
            "ends_at": crate::clock::rfc3339(m.ends_at),
            "notify": update.notify,
            "draft": m.draft.is_some(),
        });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "maintenance.scheduled",
            ("maintenance", m.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((m, update))
    }

    /// Posts an update that may move the maintenance to a new state.
    #[tracing::instrument(skip(self, message), fields(maintenance = %id))]
    pub async fn add_maintenance_update(
        &self,
        who: &Principal,
        id: &MaintenanceId,
        state: MaintenanceState,
        message: Message,
        notify: bool,
    ) -> Result<(Maintenance, MaintenanceUpdate)> {
        let (m, page) = self.managed_maintenance(who, id).await?;
        refuse_if_draft(&m.draft, "maintenance", id.as_str())?;
        m.state.check_transition(state)?;
        let now = self.clock.now();
        let update = MaintenanceUpdate {
            id: MaintenanceUpdateId::generate(),
            maintenance_id: m.id.clone(),
            state,
            message: message.into_inner(),
            notify,
            created_at: now,
        };
        let component_status = match (m.state, state) {
            (s, MaintenanceState::InProgress) if s != MaintenanceState::InProgress => {
                Some(ComponentStatus::UnderMaintenance)
            }
            (
                MaintenanceState::InProgress,
                MaintenanceState::Completed | MaintenanceState::Cancelled,
            ) => Some(ComponentStatus::Operational),
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        if state != m.state {
            self.store
                .set_maintenance_state(&mut tx, id, state, now)
                .await?;
        }
        if let Some(status) = component_status {
            for c in &m.components {
                self.store
                    .set_component_status(&mut tx, c, status, now)
                    .await?;
            }
        }
        self.store
            .insert_maintenance_update(&mut tx, &update, Some(&who.user_id))
            .await?;
        self.notify_maintenance_update(&mut tx, &m, &update).await?;
        let action = match state {
            MaintenanceState::Completed => "maintenance.completed",
            MaintenanceState::Cancelled => "maintenance.cancelled",
            MaintenanceState::InProgress if m.state != state => "maintenance.started",
            _ => "maintenance.updated",
        };
        let detail =
            json!({ "state": state.as_str(), "update": update.id.as_str(), "notify": notify });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            action,
            ("maintenance", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let m = self.store.maintenance(id).await?;
        Ok((m, update))
    }

    /// Every component must be a component (not a group) of this page, listed once.
    pub(super) async fn check_maintenance_components(
        &self,
        page: &crate::domain::Page,
        ids: &[ComponentId],
    ) -> Result<()> {
        let known = self.store.components(&page.id).await?;
        for (i, id) in ids.iter().enumerate() {
            let ok = known
                .iter()
                .any(|c| c.id == *id && c.kind == ComponentKind::Component);
            if !ok || ids[..i].contains(id) {
                return Err(ServiceError::Invalid(DomainError::invalid(
                    "component_ids",
                    format!(
                        "{id} is not a component of page {} or is listed twice",
                        page.slug
                    ),
                )));
            }
        }
        Ok(())
    }

    /// With `notify`, queues the update for subscribers in the update's own transaction; returns how
    /// many were queued.
    pub(super) async fn notify_maintenance_update(
        &self,
        tx: &mut crate::store::Tx,
        m: &Maintenance,
        update: &MaintenanceUpdate,
    ) -> Result<usize> {
        if !update.notify {
            return Ok(0);
        }
        let event = json!({
            "type": "maintenance.update",
            "maintenance_id": m.id.as_str(),
            "title": m.title,
            "stage": update.state.label(),
            "message": update.message,
            "starts_at": crate::clock::rfc3339(m.starts_at),
            "ends_at": crate::clock::rfc3339(m.ends_at),
            "created_at": crate::clock::rfc3339(update.created_at),
        });
        self.enqueue_notifications(tx, &m.page_id, update.id.as_str(), event)
            .await
    }
}
