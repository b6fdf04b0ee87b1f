//! Deciding the actions monitors propose. Nothing a monitor proposes happens until a person approves it;
//! approving performs it with its own audit row, rejecting records who and why.

use serde_json::json;

use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::monitor::{ActionKind, ActionState, PendingAction};
use crate::domain::{DomainError, IncidentStage, Message, NewIncidentUpdate, Permission};
use crate::ids::{PageId, PendingActionId};
use crate::service::incidents::clamp_limit;
use crate::store::StoreError;

impl Services {
    /// Actions of a page, newest first; `state` narrows to one state.
    pub async fn pending_actions(
        &self,
        who: &Principal,
        page: &PageId,
        state: Option<ActionState>,
        limit: Option<i64>,
    ) -> Result<Vec<PendingAction>> {
        self.page_for(who, page, Permission::MonitorRead).await?;
        Ok(self
            .store
            .pending_actions(page, state, clamp_limit(limit))
            .await?)
    }

    /// Approves and performs the action. Two people approving at once get one action and one conflict.
    #[tracing::instrument(skip(self), fields(action = %id))]
    pub async fn approve_action(
        &self,
        who: &Principal,
        id: &PendingActionId,
    ) -> Result<PendingAction> {
        let action = self
            .store
            .pending_action(id)
            .await
            .or_not_found("pending action")?;
        let page = self
            .page_for(who, &action.page_id, Permission::MonitorManage)
            .await?;
        // Both kinds change what the public page says, as an incident editor would.
        self.require_page(
            who,
            &page.org_id,
            &page.id,
            Permission::IncidentManage,
            "pending action",
        )
        .await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .decide_action(
                &mut tx,
                id,
                ActionState::Approved,
                &who.actor_id(),
                None,
                now,
            )
            .await?
        {
            return Err(ServiceError::Conflict(
                "this action was already decided".into(),
            ));
        }
        let detail = json!({ "kind": action.kind.as_str(), "status": action.status.as_str() });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "monitor_action.approved",
            ("pending_action", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        if let Err(e) = self.perform(who, &action).await {
            // The decision must not stand for an action that did not happen.
            self.store.undo_decision(id).await?;
            return Err(e);
        }
        Ok(self.store.pending_action(id).await?)
    }

    pub async fn reject_action(
        &self,
        who: &Principal,
        id: &PendingActionId,
        note: &str,
    ) -> Result<PendingAction> {
        let action = self
            .store
            .pending_action(id)
            .await
            .or_not_found("pending action")?;
        let page = self
            .page_for(who, &action.page_id, Permission::MonitorManage)
            .await?;
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(DomainError::invalid("note", "must be at most 1000 characters").into());
        }
        let note = (!note.is_empty()).then_some(note);
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .decide_action(
                &mut tx,
                id,
                ActionState::Rejected,
                &who.actor_id(),
                note,
                self.clock.now(),
            )
            .await?
        {
            return Err(ServiceError::Conflict(
                "this action was already decided".into(),
            ));
        }
        let detail = json!({ "kind": action.kind.as_str(), "note": note });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "monitor_action.rejected",
            ("pending_action", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(self.store.pending_action(id).await?)
    }

    async fn perform(&self, who: &Principal, a: &PendingAction) -> Result<()> {
        let components = self.store.components(&a.page_id).await?;
        let name = components
            .iter()
            .find(|c| c.id == a.component_id)
            .map(|c| c.name.clone())
            .ok_or(ServiceError::NotFound("component"))?;
        match a.kind {
            ActionKind::OpenIncident => {
                let update = NewIncidentUpdate {
                    stage: IncidentStage::Investigating,
                    message: Message::parse("message", &public_message(a.kind, &name))?,
                    affected: vec![(a.component_id.clone(), a.status)],
                    notify: false,
                };
                let title = format!("{name} is failing its checks");
                self.create_incident(who, &a.page_id, &title, update)
                    .await?;
            }
            ActionKind::ResolveIncident => {
                // Re-read at approval: a person may have resolved some by hand meanwhile.
                let open = self
                    .open_incidents_naming(&a.page_id, &a.component_id)
                    .await?;
                if open.is_empty() {
                    return self.set_status_for(who, a).await;
                }
                for incident in open {
                    let update = NewIncidentUpdate {
                        stage: IncidentStage::Resolved,
                        message: Message::parse("message", &public_message(a.kind, &name))?,
                        affected: vec![(a.component_id.clone(), a.status)],
                        notify: false,
                    };
                    self.add_incident_update(who, &incident.id, update).await?;
                }
            }
            ActionKind::SetStatus => self.set_status_for(who, a).await?,
        }
        Ok(())
    }

    /// Sets the component to the action's status, audited as this action's outcome.
    async fn set_status_for(&self, who: &Principal, a: &PendingAction) -> Result<()> {
        let page = self.store.page(&a.page_id).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.store
            .set_component_status(&mut tx, &a.component_id, a.status, now)
            .await?;
        let detail = json!({ "status": a.status.as_str(), "pending_action": a.id.as_str() });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "component.status_set",
            ("component", a.component_id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

/// What the public page says for an approved proposal. The monitor's own reason stays with the action
/// (admins read it there): it names the monitor and quotes the check's error, which can tell the world
/// what a host resolves to inside ("refused: db.internal resolves to 10.0.0.5").
fn public_message(kind: ActionKind, component: &str) -> String {
    match kind {
        ActionKind::ResolveIncident => {
            format!("{component} is passing its checks again. This incident is resolved.")
        }
        ActionKind::OpenIncident | ActionKind::SetStatus => {
            format!("Our automated checks of {component} are failing. We are investigating.")
        }
    }
}
