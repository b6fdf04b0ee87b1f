//! The write tools: incidents and maintenance, opened (or drafted) and updated. Each checks that the
//! incident or maintenance belongs to the page named, so an id from another page is simply not found.

use serde_json::{json, Value};

use super::tool_args::{self as args, affected, InvalidParams};
use super::tools::{Cx, ToolError};
use crate::domain::{DomainError, MaintenanceWindow, NewIncidentUpdate};
use crate::service::maintenances::NewMaintenance;
use crate::service::{ServiceError, Services};
use crate::views;

/// Notifications the update queued: one per confirmed subscriber when `notify` was true, else none.
async fn queued(services: &Services, update_id: &str) -> Result<i64, ToolError> {
    Ok(services.notifications_queued_for(update_id).await?)
}

/// A rule the arguments break between them (an end before the start): still the arguments' fault.
fn invalid(e: DomainError) -> ToolError {
    ToolError::InvalidParams(InvalidParams(e.to_string()))
}

pub(crate) async fn create_incident(
    cx: &Cx<'_>,
    a: args::CreateIncident,
) -> Result<Value, ToolError> {
    let (s, who, page_id) = (cx.services, cx.who, &a.page_id.0);
    let first = NewIncidentUpdate {
        stage: a.stage.into(),
        message: a.message,
        affected: affected(a.affected_components),
        notify: a.notify,
    };
    let draft = a.draft.unwrap_or(false);
    let (incident, update) = if draft {
        s.draft_incident(who, page_id, &a.title, first).await?
    } else {
        s.create_incident(who, page_id, &a.title, first).await?
    };
    let mut v = views::incident(&incident);
    v["update"] = views::incident_update(&update);
    let n = queued(s, update.id.as_str()).await?;
    views::outcome(&mut v, "incident", draft, n);
    Ok(v)
}

pub(crate) async fn add_incident_update(
    cx: &Cx<'_>,
    a: args::AddIncidentUpdate,
) -> Result<Value, ToolError> {
    let (s, who, id) = (cx.services, cx.who, &a.incident_id.0);
    let update = NewIncidentUpdate {
        stage: a.stage.into(),
        message: a.message,
        affected: affected(a.affected_components),
        notify: a.notify,
    };
    let (existing, _) = s.incident(who, id, Some(1)).await?;
    if existing.page_id != a.page_id.0 {
        return Err(ServiceError::NotFound("incident").into());
    }
    let (incident, update) = s.add_incident_update(who, id, update).await?;
    let mut v = views::incident(&incident);
    v["update"] = views::incident_update(&update);
    v["subscribers_notified"] = json!(queued(s, update.id.as_str()).await?);
    Ok(v)
}

pub(crate) async fn schedule_maintenance(
    cx: &Cx<'_>,
    a: args::ScheduleMaintenance,
) -> Result<Value, ToolError> {
    let (s, who, page_id) = (cx.services, cx.who, &a.page_id.0);
    let window =
        MaintenanceWindow::new(a.starts_at.0, a.ends_at.0, s.clock.now()).map_err(invalid)?;
    let new = NewMaintenance {
        title: &a.title,
        window,
        components: a.component_ids.into_iter().map(|id| id.0).collect(),
        message: a.message,
        notify: a.notify,
    };
    let draft = a.draft.unwrap_or(false);
    let (m, update) = if draft {
        s.draft_maintenance(who, page_id, new).await?
    } else {
        s.schedule_maintenance(who, page_id, new).await?
    };
    let mut v = views::maintenance(&m);
    v["update"] = views::maintenance_update(&update);
    let n = queued(s, update.id.as_str()).await?;
    views::outcome(&mut v, "maintenance", draft, n);
    Ok(v)
}

pub(crate) async fn add_maintenance_update(
    cx: &Cx<'_>,
    a: args::AddMaintenanceUpdate,
) -> Result<Value, ToolError> {
    let (s, who, id) = (cx.services, cx.who, &a.maintenance_id.0);
    let (existing, _) = s.maintenance(who, id, Some(1)).await?;
    if existing.page_id != a.page_id.0 {
        return Err(ServiceError::NotFound("maintenance").into());
    }
    let (m, update) = s
        .add_maintenance_update(who, id, a.state.into(), a.message, a.notify)
        .await?;
    let mut v = views::maintenance(&m);
    v["update"] = views::maintenance_update(&update);
    v["subscribers_notified"] = json!(queued(s, update.id.as_str()).await?);
    Ok(v)
}
