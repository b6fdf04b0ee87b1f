//! Drafts: an incident or maintenance saved unpublished, typically by an assistant for a person to
//! check. A draft is not public, changes no component status, notifies nobody and takes no updates.
//! A person publishes it (choosing then whether to notify) or discards it. Publishing is one
//! transaction that starts with a compare-and-set on the draft flag, so it happens at most once.

use serde_json::json;
use time::OffsetDateTime;

use super::{Actor, Principal, Result, ServiceError, Services};
use crate::domain::DraftKind;
use crate::domain::{
    DomainError, Draft, Incident, IncidentUpdate, Maintenance, MaintenanceUpdate,
    NewIncidentUpdate, Page, Permission,
};
use crate::ids::{IncidentId, MaintenanceId, PageId};
use crate::service::maintenances::NewMaintenance;
use crate::store::StoreError;

/// A draft refuses updates: they would be hidden too, and the person reviewing it should see what
/// they publish.
pub(super) fn refuse_if_draft(draft: &Option<Draft>, what: &str, id: &str) -> Result<()> {
    if draft.is_none() {
        return Ok(());
    }
    Err(ServiceError::Conflict(format!(
        "{what} {id} is an unpublished draft and takes no updates; ask a person to publish it \
         (or discard it) in the statusgate admin pages first"
    )))
}

/// What saved a draft, as the admin pages show it.
fn drafted_via(who: &Principal) -> String {
    match &who.actor {
        Actor::Mcp { client_name, .. } => client_name.clone(),
        Actor::ApiKey { .. } => "API key".to_owned(),
        Actor::User => "web".to_owned(),
    }
}

/// A draft never notifies: the choice is made when it is published.
fn refuse_notify(notify: bool) -> Result<()> {
    if notify {
        return Err(DomainError::invalid(
            "notify",
            "a draft notifies nobody: save it with notify false; whoever publishes it chooses whether to notify subscribers",
        )
        .into());
    }
    Ok(())
}

/// Publishing and discarding are for people: an assistant drafts, a person decides.
fn refuse_assistant(who: &Principal) -> Result<()> {
    if matches!(who.actor, Actor::Mcp { .. }) {
        return Err(ServiceError::Forbidden(
            "drafts are published or discarded by a person in the statusgate admin pages".into(),
        ));
    }
    Ok(())
}

fn no_longer_draft(what: &str, id: &str) -> ServiceError {
    ServiceError::Conflict(format!(
        "{what} {id} is not a draft any more (already published or discarded); nothing was changed"
    ))
}

/// A draft's flag, taken off the record about to be published; an error if it is not a draft.
fn take_draft(draft: &mut Option<Draft>, what: &str, id: &str) -> Result<Draft> {
    draft.take().ok_or_else(|| no_longer_draft(what, id))
}

/// A draft about to be published, with its updates.
enum Unpublished {
    Incident(Incident, Vec<IncidentUpdate>),
    Maintenance(Maintenance, Vec<MaintenanceUpdate>),
}

impl Unpublished {
    fn target(&self) -> (DraftKind, String) {
        match self {
            Self::Incident(i, _) => (DraftKind::Incident, i.id.to_string()),
            Self::Maintenance(m, _) => (DraftKind::Maintenance, m.id.to_string()),
        }
    }
}

/// The outcome of publishing a draft.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    pub notify: bool,
    pub subscribers_queued: usize,
}

impl Services {
    /// Saves an incident unpublished. `first.notify` must be false.
    pub async fn draft_incident(
        &self,
        who: &Principal,
        page_id: &PageId,
        title: &str,
        first: NewIncidentUpdate,
    ) -> Result<(Incident, IncidentUpdate)> {
        refuse_notify(first.notify)?;
        let draft = Draft {
            via: drafted_via(who),
        };
        self.open_incident(who, page_id, title, first, Some(draft))
            .await
    }

    /// Saves a maintenance window unpublished. `new.notify` must be false.
    pub async fn draft_maintenance(
        &self,
        who: &Principal,
        page_id: &PageId,
        new: NewMaintenance<'_>,
    ) -> Result<(Maintenance, MaintenanceUpdate)> {
        refuse_notify(new.notify)?;
        let draft = Draft {
            via: drafted_via(who),
        };
        self.plan_maintenance(who, page_id, new, Some(draft)).await
    }

    /// Draft incidents of a page, oldest first, with the drafter's email.
    pub async fn draft_incidents(
        &self,
        who: &Principal,
        page: &PageId,
    ) -> Result<Vec<(Incident, Option<String>)>> {
        self.page_for(who, page, Permission::IncidentRead).await?;
        Ok(self.store.draft_incidents(page).await?)
    }

    /// Draft maintenances of a page, oldest first, with the drafter's email.
    pub async fn draft_maintenances(
        &self,
        who: &Principal,
        page: &PageId,
    ) -> Result<Vec<(Maintenance, Option<String>)>> {
        self.page_for(who, page, Permission::MaintenanceRead)
            .await?;
        Ok(self.store.draft_maintenances(page).await?)
    }

    /// Publishes a draft incident as of now: it appears on the public page, the component statuses it
    /// carries are applied, and with `notify` its update is queued for every confirmed subscriber.
    #[tracing::instrument(skip(self), fields(incident = %id))]
    pub async fn publish_incident(
        &self,
        who: &Principal,
        id: &IncidentId,
        notify: bool,
    ) -> Result<Published> {
        let (mut incident, page) = self.managed_incident(who, id).await?;
        refuse_assistant(who)?;
        let drafted = take_draft(&mut incident.draft, "incident", id.as_str())?;
        let updates = self.store.incident_updates(id, 200).await?;
        let item = Unpublished::Incident(incident, updates);
        self.publish(who, &page, drafted, item, notify, self.clock.now())
            .await
    }

    /// Publishes a draft maintenance as of now; with `notify` its announcement is queued for every
    /// confirmed subscriber. A window that has already ended cannot be published.
    #[tracing::instrument(skip(self), fields(maintenance = %id))]
    pub async fn publish_maintenance(
        &self,
        who: &Principal,
        id: &MaintenanceId,
        notify: bool,
    ) -> Result<Published> {
        let (mut m, page) = self.managed_maintenance(who, id).await?;
        refuse_assistant(who)?;
        let drafted = take_draft(&mut m.draft, "maintenance", id.as_str())?;
        let now = self.clock.now();
        if m.ends_at <= now {
            return Err(DomainError::invalid(
                "ends_at",
                "this window has already ended; discard the draft instead",
            )
            .into());
        }
        let updates = self.store.maintenance_updates(id, 200).await?;
        let item = Unpublished::Maintenance(m, updates);
        self.publish(who, &page, drafted, item, notify, now).await
    }

    /// One transaction: the compare-and-set on the draft flag first, then what the draft carried
    /// (component statuses, notifications) dated `now`, then the audit row.
    async fn publish(
        &self,
        who: &Principal,
        page: &Page,
        drafted: Draft,
        item: Unpublished,
        notify: bool,
        now: OffsetDateTime,
    ) -> Result<Published> {
        let (kind, id) = item.target();
        let target = (kind.noun(), id.as_str());
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .publish_draft(&mut tx, kind, target.1, notify, now)
            .await?
        {
            return Err(no_longer_draft(target.0, target.1));
        }
        let mut queued = 0;
        match item {
            Unpublished::Incident(mut incident, updates) => {
                incident.started_at = now;
                incident.updated_at = now;
                for mut u in updates {
                    u.notify = notify;
                    u.created_at = now;
                    for (c, status) in &u.affected {
                        self.store
                            .set_component_status(&mut tx, c, *status, now)
                            .await?;
                    }
                    queued += self.notify_incident_update(&mut tx, &incident, &u).await?;
                }
            }
            Unpublished::Maintenance(mut m, updates) => {
                m.updated_at = now;
                for mut u in updates {
                    u.notify = notify;
                    u.created_at = now;
                    queued += self.notify_maintenance_update(&mut tx, &m, &u).await?;
                }
            }
        }
        let published = Published {
            notify,
            subscribers_queued: queued,
        };
        self.audit_publication(&mut tx, who, page, target, &drafted, Some(published))
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(published)
    }

    /// Deletes a draft incident and its update.
    #[tracing::instrument(skip(self), fields(incident = %id))]
    pub async fn discard_incident(&self, who: &Principal, id: &IncidentId) -> Result<()> {
        let (incident, page) = self.managed_incident(who, id).await?;
        let kind = DraftKind::Incident;
        self.discard(who, &page, kind, id.as_str(), incident.draft)
            .await
    }

    /// Deletes a draft maintenance and its update.
    #[tracing::instrument(skip(self), fields(maintenance = %id))]
    pub async fn discard_maintenance(&self, who: &Principal, id: &MaintenanceId) -> Result<()> {
        let (m, page) = self.managed_maintenance(who, id).await?;
        let kind = DraftKind::Maintenance;
        self.discard(who, &page, kind, id.as_str(), m.draft).await
    }

    async fn discard(
        &self,
        who: &Principal,
        page: &Page,
        kind: DraftKind,
        id: &str,
        draft: Option<Draft>,
    ) -> Result<()> {
        refuse_assistant(who)?;
        let target = (kind.noun(), id);
        let drafted = draft.ok_or_else(|| no_longer_draft(target.0, target.1))?;
        let mut tx = self.store.begin().await?;
        if !self.store.discard_draft(&mut tx, kind, target.1).await? {
            return Err(no_longer_draft(target.0, target.1));
        }
        self.audit_publication(&mut tx, who, page, target, &drafted, None)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// `{kind}.published` with the notify choice and count, or `{kind}.discarded`.
    async fn audit_publication(
        &self,
        tx: &mut crate::store::Tx,
        who: &Principal,
        page: &Page,
        target: (&str, &str),
        drafted: &Draft,
        published: Option<Published>,
    ) -> Result<()> {
        let (action, detail) = match published {
            Some(p) => (
                format!("{}.published", target.0),
                json!({
                    "published_draft": true, "drafted_via": drafted.via,
                    "notify": p.notify, "subscribers_queued": p.subscribers_queued,
                }),
            ),
            None => (
                format!("{}.discarded", target.0),
                json!({ "discarded_draft": true, "drafted_via": drafted.via }),
            ),
        };
        self.audit(tx, who, &page.org_id, &action, target, detail)
            .await
    }
}
