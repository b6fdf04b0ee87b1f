//! Incident use cases: open, post updates, resolve, reopen. Each change and its audit row commit together.

use serde_json::json;

use super::drafts::refuse_if_draft;
use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::incident::check_affected;
use crate::domain::{
    ComponentStatus, DomainError, Draft, Incident, IncidentStage, IncidentUpdate, Name,
    NewIncidentUpdate, Page, Permission,
};
use crate::ids::{ComponentId, IncidentId, IncidentUpdateId, PageId};
use crate::store::{StoreError, Tx};

/// Caps for listings, so no request can ask for an unbounded read.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 200;

pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

impl Services {
    /// The incident and its page, if `who` may manage incidents there.
    pub(crate) async fn managed_incident(
        &self,
        who: &Principal,
        id: &IncidentId,
    ) -> Result<(Incident, Page)> {
        let incident = self.store.incident(id).await.or_not_found("incident")?;
        let page = self
            .page_for(who, &incident.page_id, Permission::IncidentManage)
            .await?;
        Ok((incident, page))
    }

    pub async fn active_incidents(&self, who: &Principal, page: &PageId) -> Result<Vec<Incident>> {
        self.page_for(who, page, Permission::IncidentRead).await?;
        Ok(self.store.active_incidents(page).await?)
    }

    pub async fn resolved_incidents(
        &self,
        who: &Principal,
        page: &PageId,
        limit: Option<i64>,
    ) -> Result<Vec<Incident>> {
        self.page_for(who, page, Permission::IncidentRead).await?;
        Ok(self
            .store
            .resolved_incidents(page, clamp_limit(limit))
            .await?)
    }

    /// An incident and its updates (newest first).
    pub async fn incident(
        &self,
        who: &Principal,
        id: &IncidentId,
        limit: Option<i64>,
    ) -> Result<(Incident, Vec<IncidentUpdate>)> {
        let incident = self.store.incident(id).await.or_not_found("incident")?;
        self.page_for(who, &incident.page_id, Permission::IncidentRead)
            .await?;
        let updates = self.store.incident_updates(id, clamp_limit(limit)).await?;
        Ok((incident, updates))
    }

    /// Opens an incident with its first update.
    pub async fn create_incident(
        &self,
        who: &Principal,
        page_id: &PageId,
        title: &str,
        first: NewIncidentUpdate,
    ) -> Result<(Incident, IncidentUpdate)> {
        self.open_incident(who, page_id, title, first, None).await
    }

    /// Opens an incident, or with `draft` saves it unpublished (see `service::drafts`).
    #[tracing::instrument(skip(self, first, draft), fields(page = %page_id))]
    pub(super) async fn open_incident(
        &self,
        who: &Principal,
        page_id: &PageId,
        title: &str,
        first: NewIncidentUpdate,
        draft: Option<Draft>,
    ) -> Result<(Incident, IncidentUpdate)> {
        let page = self
            .page_for(who, page_id, Permission::IncidentManage)
            .await?;
        let title = Name::parse("title", title)?;
        if first.stage == IncidentStage::Resolved {
            return Err(
                DomainError::invalid("stage", "a new incident cannot start resolved").into(),
            );
        }
        self.check_components(&page, &first.affected).await?;
        let now = self.clock.now();
        let incident = Incident {
            id: IncidentId::generate(),
            page_id: page.id.clone(),
            title: title.into_inner(),
            stage: first.stage,
            started_at: now,
            resolved_at: None,
            updated_at: now,
            draft,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .insert_incident(&mut tx, &incident, Some(&who.user_id), now)
            .await?;
        let update = self.write_update(&mut tx, who, &incident, first).await?;
        let detail = json!({
            "title": incident.title, "stage": incident.stage.as_str(), "notify": update.notify,
            "draft": incident.draft.is_some(),
        });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "incident.created",
            ("incident", incident.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((incident, update))
    }

    /// Posts an update; a `resolved` update resolves the incident. A resolved incident must be reopened first.
    #[tracing::instrument(skip(self, update), fields(incident = %id))]
    pub async fn add_incident_update(
        &self,
        who: &Principal,
        id: &IncidentId,
        update: NewIncidentUpdate,
    ) -> Result<(Incident, IncidentUpdate)> {
        let (mut incident, page) = self.managed_incident(who, id).await?;
        refuse_if_draft(&incident.draft, "incident", id.as_str())?;
        incident.stage.check_update(update.stage)?;
        self.check_components(&page, &update.affected).await?;
        let mut tx = self.store.begin().await?;
        let written = self.write_update(&mut tx, who, &incident, update).await?;
        incident.stage = written.stage;
        let action = if written.stage == IncidentStage::Resolved {
            "incident.resolved"
        } else {
            "incident.updated"
        };
        let detail = json!({ "stage": written.stage.as_str(), "update": written.id.as_str(), "notify": written.notify });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            action,
            ("incident", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let incident = self.store.incident(id).await?;
        Ok((incident, written))
    }

    /// Reopens a resolved incident to an open stage, with a message saying why.
    pub async fn reopen_incident(
        &self,
        who: &Principal,
        id: &IncidentId,
        update: NewIncidentUpdate,
    ) -> Result<(Incident, IncidentUpdate)> {
        let (incident, page) = self.managed_incident(who, id).await?;
        refuse_if_draft(&incident.draft, "incident", id.as_str())?;
        incident.stage.check_reopen(update.stage)?;
        self.check_components(&page, &update.affected).await?;
        let mut tx = self.store.begin().await?;
        let written = self.write_update(&mut tx, who, &incident, update).await?;
        let detail = json!({ "stage": written.stage.as_str(), "notify": written.notify });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "incident.reopened",
            ("incident", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let incident = self.store.incident(id).await?;
        Ok((incident, written))
    }

    /// Writes the update, moves the stage and sets component statuses (not for a draft: publishing
    /// applies them). On resolve, every component the incident touched and the update does not name goes
    /// back to operational.
    pub(super) async fn write_update(
        &self,
        tx: &mut Tx,
        who: &Principal,
        incident: &Incident,
        new: NewIncidentUpdate,
    ) -> Result<IncidentUpdate> {
        let now = self.clock.now();
        let update = IncidentUpdate {
            id: IncidentUpdateId::generate(),
            incident_id: incident.id.clone(),
            stage: new.stage,
            message: new.message.into_inner(),
            notify: new.notify,
            created_at: now,
            affected: new.affected,
        };
        if update.stage != incident.stage {
            self.store
                .set_incident_stage(tx, &incident.id, update.stage, now)
                .await?;
        }
        let mut touched: Vec<(ComponentId, ComponentStatus)> = update.affected.clone();
        if update.stage == IncidentStage::Resolved {
            for c in self.store.incident_components(&incident.id).await? {
                if !touched.iter().any(|(t, _)| *t == c) {
                    touched.push((c, ComponentStatus::Operational));
                }
            }
        }
        self.store
            .insert_incident_update(tx, &update, Some(&who.user_id))
            .await?;
        self.notify_incident_update(tx, incident, &update).await?;
        if incident.draft.is_none() {
            for (c, status) in &touched {
                self.store.set_component_status(tx, c, *status, now).await?;
            }
        }
        Ok(update)
    }

    /// With `notify`, queues the update for every confirmed subscriber, in the update's own transaction:
    /// subscribers hear of exactly the updates that exist. Returns how many were queued.
    pub(super) async fn notify_incident_update(
        &self,
        tx: &mut Tx,
        incident: &Incident,
        update: &IncidentUpdate,
    ) -> Result<usize> {
        if !update.notify {
            return Ok(0);
        }
        let event = json!({
            "type": "incident.update",
            "incident_id": incident.id.as_str(),
            "title": incident.title,
            "stage": update.stage.label(),
            "message": update.message,
            "created_at": crate::clock::rfc3339(update.created_at),
        });
        self.enqueue_notifications(tx, &incident.page_id, update.id.as_str(), event)
            .await
    }

    /// Every affected component must be a component (not a group) of this page.
    pub(super) async fn check_components(
        &self,
        page: &Page,
        affected: &[(ComponentId, ComponentStatus)],
    ) -> Result<()> {
        check_affected(affected)?;
        if affected.is_empty() {
            return Ok(());
        }
        let known = self.store.components(&page.id).await?;
        for (id, _) in affected {
            let ok = known
                .iter()
                .any(|c| c.id == *id && c.kind == crate::domain::ComponentKind::Component);
            if !ok {
                return Err(ServiceError::Invalid(DomainError::invalid(
                    "affected_components",
                    format!("{id} is not a component of page {}", page.slug),
                )));
            }
        }
        Ok(())
    }
}
