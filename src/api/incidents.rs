//! Incidents: list (filters and cursor), get with updates, create, rename, delete, post updates,
//! acknowledge, resolve, reopen. Every write names `notify`: whether subscribers are told.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Caller;
use super::error::{path_id, ApiError, ApiResult, Body, Query};
use super::listing::{choice, page, window};
use super::pages::page_id;
use super::{op, ApiState, Op};
use crate::domain::incident::parse_affected;
use crate::domain::{ComponentStatus, IncidentStage, Message, NewIncidentUpdate};
use crate::ids::{ComponentId, IncidentId};
use crate::service::edits::{IncidentEdit, IncidentFilter};
use crate::views;

pub fn ops() -> Vec<Op> {
    vec![
        op!(
            GET,
            "/pages/{page_id}/incidents",
            "listIncidents",
            "incidents",
            "Incidents of a page, newest first",
            list,
            query = ListQuery
        ),
        op!(
            POST,
            "/pages/{page_id}/incidents",
            "createIncident",
            "incidents",
            "Open an incident with its first update",
            create,
            body = CreateIncident,
            ok = 201,
            write = true
        ),
        op!(
            GET,
            "/incidents/{incident_id}",
            "getIncident",
            "incidents",
            "An incident and its updates, newest first",
            get
        ),
        op!(
            PATCH,
            "/incidents/{incident_id}",
            "updateIncident",
            "incidents",
            "Correct an incident's title or its affected components and their statuses",
            update,
            body = EditIncident,
            write = true
        ),
        op!(
            DELETE,
            "/incidents/{incident_id}",
            "deleteIncident",
            "incidents",
            "Delete an incident and its updates",
            delete,
            ok = 204,
            write = true
        ),
        op!(
            POST,
            "/incidents/{incident_id}/updates",
            "addIncidentUpdate",
            "incidents",
            "Post an update (a resolved stage resolves)",
            add_update,
            body = NewUpdate,
            ok = 201,
            write = true
        ),
        op!(
            POST,
            "/incidents/{incident_id}/acknowledge",
            "acknowledgeIncident",
            "incidents",
            "Move an investigating incident to identified",
            acknowledge,
            body = Transition,
            write = true
        ),
        op!(
            POST,
            "/incidents/{incident_id}/resolve",
            "resolveIncident",
            "incidents",
            "Resolve an incident",
            resolve,
            body = Transition,
            write = true
        ),
        op!(
            POST,
            "/incidents/{incident_id}/reopen",
            "reopenIncident",
            "incidents",
            "Reopen a resolved incident",
            reopen,
            body = Reopen,
            write = true
        ),
    ]
}

fn incident_id(raw: &str) -> ApiResult<IncidentId> {
    path_id(raw, IncidentId::parse, "incident")
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `active` (default), `resolved` or `all`.
    state: Option<String>,
    /// Items per page, 1 to 200 (default 20).
    limit: Option<i64>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

/// A component and the status the incident gives it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    component_id: String,
    /// operational, under_maintenance, degraded_performance, partial_outage or major_outage.
    status: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    title: String,
    /// investigating (default), identified or monitoring.
    stage: Option<String>,
    message: String,
    #[serde(default)]
    affected_components: Vec<Affected>,
    /// Whether subscribers are told (must be false for a draft).
    notify: bool,
    /// Save it unpublished for a person to publish or discard (`/incidents/{id}/publish`).
    #[serde(default)]
    draft: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditIncident {
    title: Option<String>,
    /// New statuses (the impact) of components; posted as an update at the current stage.
    affected_components: Option<Vec<Affected>>,
    /// The message of that update (default: "Impact updated."); given alone, it posts an update too.
    message: Option<String>,
    /// Whether subscribers hear of the update (default false: nobody is told).
    #[serde(default)]
    notify: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    stage: String,
    message: String,
    #[serde(default)]
    affected_components: Vec<Affected>,
    notify: bool,
}

/// Acknowledge or resolve: an optional message, and whether subscribers are told.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    message: Option<String>,
    #[serde(default)]
    affected_components: Vec<Affected>,
    notify: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reopen {
    message: Option<String>,
    /// The open stage to return to (default investigating).
    stage: Option<String>,
    notify: bool,
}

fn affected(list: Vec<Affected>) -> ApiResult<Vec<(ComponentId, ComponentStatus)>> {
    let pairs: Vec<(String, String)> = list
        .into_iter()
        .map(|a| (a.component_id, a.status))
        .collect();
    Ok(parse_affected(&pairs)?)
}

fn stage(s: &str) -> ApiResult<IncidentStage> {
    Ok(IncidentStage::parse(s)?)
}

fn message(m: &str) -> ApiResult<Message> {
    Ok(Message::parse("message", m)?)
}

impl Transition {
    /// The update this transition posts: `stage`, with `default` when no message was given.
    fn into_update(self, stage: IncidentStage, default: &str) -> ApiResult<NewIncidentUpdate> {
        Ok(NewIncidentUpdate {
            stage,
            message: message(self.message.as_deref().unwrap_or(default))?,
            affected: affected(self.affected_components)?,
            notify: self.notify,
        })
    }
}

fn with_update(
    incident: &crate::domain::Incident,
    update: &crate::domain::IncidentUpdate,
) -> Json<Value> {
    let mut v = views::incident(incident);
    v["update"] = views::incident_update(update);
    Json(v)
}

async fn list(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let options = [
        ("active", IncidentFilter::Active),
        ("resolved", IncidentFilter::Resolved),
        ("all", IncidentFilter::All),
    ];
    let filter = choice(q.state.as_deref(), "state", &options)?;
    let w = window(q.limit, q.cursor.as_deref())?;
    let list = s
        .services
        .incident_listing(&c.principal, &page_id(&id)?, filter, w.offset, w.limit)
        .await?;
    Ok(Json(page(w, list, views::incident)))
}

async fn create(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<CreateIncident>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let page = page_id(&id)?;
    let first = NewIncidentUpdate {
        stage: stage(b.stage.as_deref().unwrap_or("investigating"))?,
        message: message(&b.message)?,
        affected: affected(b.affected_components)?,
        notify: b.notify,
    };
    let (incident, update) = if b.draft {
        s.services
            .draft_incident(&c.principal, &page, &b.title, first)
            .await?
    } else {
        s.services
            .create_incident(&c.principal, &page, &b.title, first)
            .await?
    };
    Ok((StatusCode::CREATED, with_update(&incident, &update)))
}

async fn get(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (incident, updates) = s
        .services
        .incident(&c.principal, &incident_id(&id)?, Some(200))
        .await?;
    let mut v = views::incident(&incident);
    v["updates"] = updates.iter().map(views::incident_update).collect();
    Ok(Json(v))
}

async fn update(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<EditIncident>,
) -> ApiResult<Json<Value>> {
    let edit = IncidentEdit {
        title: b.title,
        affected: b.affected_components.map(|list| {
            list.into_iter()
                .map(|a| (a.component_id, a.status))
                .collect()
        }),
        message: b.message,
        notify: b.notify,
    };
    let (incident, update) = s
        .services
        .edit_incident(&c.principal, &incident_id(&id)?, edit)
        .await?;
    Ok(match update {
        Some(u) => with_update(&incident, &u),
        None => Json(views::incident(&incident)),
    })
}

async fn delete(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_incident(&c.principal, &incident_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post(
    s: &ApiState,
    c: &Caller,
    id: &str,
    update: NewIncidentUpdate,
) -> ApiResult<Json<Value>> {
    let (incident, update) = s
        .services
        .add_incident_update(&c.principal, &incident_id(id)?, update)
        .await?;
    Ok(with_update(&incident, &update))
}

async fn add_update(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<NewUpdate>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let update = NewIncidentUpdate {
        stage: stage(&b.stage)?,
        message: message(&b.message)?,
        affected: affected(b.affected_components)?,
        notify: b.notify,
    };
    Ok((StatusCode::CREATED, post(&s, &c, &id, update).await?))
}

async fn acknowledge(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Transition>,
) -> ApiResult<Json<Value>> {
    let (incident, _) = s
        .services
        .incident(&c.principal, &incident_id(&id)?, Some(1))
        .await?;
    if incident.stage != IncidentStage::Investigating {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "the incident is {}, not investigating",
                incident.stage.as_str()
            ),
        ));
    }
    let update = b.into_update(IncidentStage::Identified, "We have identified the cause.")?;
    post(&s, &c, &id, update).await
}

async fn resolve(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Transition>,
) -> ApiResult<Json<Value>> {
    let update = b.into_update(IncidentStage::Resolved, "This incident has been resolved.")?;
    post(&s, &c, &id, update).await
}

async fn reopen(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Reopen>,
) -> ApiResult<Json<Value>> {
    let update = NewIncidentUpdate {
        stage: stage(b.stage.as_deref().unwrap_or("investigating"))?,
        message: message(
            b.message
                .as_deref()
                .unwrap_or("We are investigating this again."),
        )?,
        affected: Vec::new(),
        notify: b.notify,
    };
    let (incident, update) = s
        .services
        .reopen_incident(&c.principal, &incident_id(&id)?, update)
        .await?;
    Ok(with_update(&incident, &update))
}
