//! Drafts over the API: a page's unpublished incidents and maintenances, and publishing (choosing then
//! whether to notify) or discarding one. Drafts are made by `POST …/incidents` or `…/maintenances`
//! with `"draft": true`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::{path_id, ApiResult, Body};
use super::pages::page_id;
use super::{op, ApiState, Op};
use crate::ids::{IncidentId, MaintenanceId};
use crate::service::drafts::Published;
use crate::views;

pub fn ops() -> Vec<Op> {
    vec![
        op!(
            GET,
            "/pages/{page_id}/drafts",
            "listDrafts",
            "drafts",
            "Unpublished incidents and maintenances of a page, oldest first",
            list
        ),
        op!(
            POST,
            "/incidents/{incident_id}/publish",
            "publishIncident",
            "drafts",
            "Publish a draft incident as of now",
            publish_incident,
            body = Publish,
            write = true
        ),
        op!(
            POST,
            "/incidents/{incident_id}/discard",
            "discardIncident",
            "drafts",
            "Delete a draft incident",
            discard_incident,
            ok = 204,
            write = true
        ),
        op!(
            POST,
            "/maintenances/{maintenance_id}/publish",
            "publishMaintenance",
            "drafts",
            "Publish a draft maintenance as of now",
            publish_maintenance,
            body = Publish,
            write = true
        ),
        op!(
            POST,
            "/maintenances/{maintenance_id}/discard",
            "discardMaintenance",
            "drafts",
            "Delete a draft maintenance",
            discard_maintenance,
            ok = 204,
            write = true
        ),
    ]
}

/// Publishing names the choice a draft postponed.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// Whether every confirmed subscriber is told now.
    notify: bool,
}

fn published(p: Published) -> Json<Value> {
    Json(json!({
        "published": true,
        "notify": p.notify,
        "subscribers_queued": p.subscribers_queued,
    }))
}

async fn list(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let page = page_id(&id)?;
    let with_author = |mut v: Value, by: &Option<String>| {
        v["drafted_by"] = json!(by);
        v
    };
    let incidents: Vec<Value> = s
        .services
        .draft_incidents(&c.principal, &page)
        .await?
        .iter()
        .map(|(i, by)| with_author(views::incident(i), by))
        .collect();
    let maintenances: Vec<Value> = s
        .services
        .draft_maintenances(&c.principal, &page)
        .await?
        .iter()
        .map(|(m, by)| with_author(views::maintenance(m), by))
        .collect();
    Ok(Json(
        json!({ "incidents": incidents, "maintenances": maintenances }),
    ))
}

async fn publish_incident(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Publish>,
) -> ApiResult<Json<Value>> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    let p = s
        .services
        .publish_incident(&c.principal, &id, b.notify)
        .await?;
    Ok(published(p))
}

async fn discard_incident(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    s.services.discard_incident(&c.principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn publish_maintenance(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Publish>,
) -> ApiResult<Json<Value>> {
    let id = path_id(&id, MaintenanceId::parse, "maintenance")?;
    let p = s
        .services
        .publish_maintenance(&c.principal, &id, b.notify)
        .await?;
    Ok(published(p))
}

async fn discard_maintenance(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&id, MaintenanceId::parse, "maintenance")?;
    s.services.discard_maintenance(&c.principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
