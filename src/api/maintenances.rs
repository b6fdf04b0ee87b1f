//! Maintenances: list by active/upcoming/past/scheduled, get, schedule, edit, delete, post updates,
//! complete, cancel. Every write names `notify`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::auth::Caller;
use super::error::{path_id, ApiError, ApiResult, Body, Query};
use super::listing::{choice, page, window};
use super::pages::page_id;
use super::{op, ApiState, Op};
use crate::domain::MaintenanceFilter;
use crate::domain::{MaintenanceState, MaintenanceWindow, Message};
use crate::ids::{ComponentId, MaintenanceId};
use crate::service::edits::MaintenanceEdit;
use crate::service::maintenances::NewMaintenance;
use crate::views;

pub fn ops() -> Vec<Op> {
    vec![
        op!(
            GET,
            "/pages/{page_id}/maintenances",
            "listMaintenances",
            "maintenances",
            "Maintenances of a page",
            list,
            query = ListQuery
        ),
        op!(
            POST,
            "/pages/{page_id}/maintenances",
            "scheduleMaintenance",
            "maintenances",
            "Schedule a maintenance window",
            create,
            body = Schedule,
            ok = 201,
            write = true
        ),
        op!(
            GET,
            "/maintenances/{maintenance_id}",
            "getMaintenance",
            "maintenances",
            "A maintenance and its updates, newest first",
            get
        ),
        op!(
            PATCH,
            "/maintenances/{maintenance_id}",
            "updateMaintenance",
            "maintenances",
            "Correct the title, the window (while scheduled) or the components",
            update,
            body = Edit,
            write = true
        ),
        op!(
            DELETE,
            "/maintenances/{maintenance_id}",
            "deleteMaintenance",
            "maintenances",
            "Delete a maintenance and its updates",
            delete,
            ok = 204,
            write = true
        ),
        op!(
            POST,
            "/maintenances/{maintenance_id}/updates",
            "addMaintenanceUpdate",
            "maintenances",
            "Post an update, optionally moving the state",
            add_update,
            body = NewUpdate,
            ok = 201,
            write = true
        ),
        op!(
            POST,
            "/maintenances/{maintenance_id}/complete",
            "completeMaintenance",
            "maintenances",
            "Mark the work completed",
            complete,
            body = Transition,
            write = true
        ),
        op!(
            POST,
            "/maintenances/{maintenance_id}/cancel",
            "cancelMaintenance",
            "maintenances",
            "Cancel the maintenance",
            cancel,
            body = Transition,
            write = true
        ),
    ]
}

fn maintenance_id(raw: &str) -> ApiResult<MaintenanceId> {
    path_id(raw, MaintenanceId::parse, "maintenance")
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `upcoming` (default), `active`, `past` or `scheduled`.
    filter: Option<String>,
    /// Items per page, 1 to 200 (default 20).
    limit: Option<i64>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    title: String,
    /// RFC 3339.
    starts_at: String,
    /// RFC 3339, after `starts_at`, at most 14 days later.
    ends_at: String,
    #[serde(default)]
    component_ids: Vec<String>,
    message: String,
    /// Whether subscribers are told (must be false for a draft).
    notify: bool,
    /// Save it unpublished for a person to publish or discard (`/maintenances/{id}/publish`).
    #[serde(default)]
    draft: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    title: Option<String>,
    /// RFC 3339; the window moves only while the maintenance is scheduled.
    starts_at: Option<String>,
    /// RFC 3339.
    ends_at: Option<String>,
    /// The components it covers, replacing the current list (until it is finished).
    component_ids: Option<Vec<String>>,
    /// Whether subscribers are told what it now is (default false: nobody is told).
    #[serde(default)]
    notify: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    /// scheduled, in_progress, completed or cancelled.
    state: String,
    message: String,
    notify: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    message: Option<String>,
    notify: bool,
}

/// An RFC 3339 time cut to whole milliseconds, the precision it is stored at: compared finer, an end a
/// few microseconds after its start passes the window check and is stored equal to it.
fn instant(field: &str, raw: &str) -> ApiResult<OffsetDateTime> {
    let t = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ApiError::unprocessable(format!("{field}: must be an RFC 3339 time")))?;
    t.replace_millisecond(t.millisecond())
        .map_err(|_| ApiError::unprocessable(format!("{field}: must be an RFC 3339 time")))
}

fn message(m: &str) -> ApiResult<Message> {
    Ok(Message::parse("message", m)?)
}

fn with_update(
    m: &crate::domain::Maintenance,
    update: &crate::domain::MaintenanceUpdate,
) -> Json<Value> {
    let mut v = views::maintenance(m);
    v["update"] = views::maintenance_update(update);
    Json(v)
}

async fn list(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let options = [
        ("upcoming", MaintenanceFilter::Upcoming),
        ("active", MaintenanceFilter::Active),
        ("past", MaintenanceFilter::Past),
        ("scheduled", MaintenanceFilter::Scheduled),
    ];
    let filter = choice(q.filter.as_deref(), "filter", &options)?;
    let w = window(q.limit, q.cursor.as_deref())?;
    let list = s
        .services
        .maintenance_listing(&c.principal, &page_id(&id)?, filter, w.offset, w.limit)
        .await?;
    Ok(Json(page(w, list, views::maintenance)))
}

async fn create(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Schedule>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let page = page_id(&id)?;
    let window = MaintenanceWindow::new(
        instant("starts_at", &b.starts_at)?,
        instant("ends_at", &b.ends_at)?,
        s.services.clock.now(),
    )?;
    let components = b
        .component_ids
        .iter()
        .map(|c| {
            ComponentId::parse(c).ok_or_else(|| {
                ApiError::unprocessable(format!("component_ids: {c} is not a component id"))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let new = NewMaintenance {
        title: &b.title,
        window,
        components,
        message: message(&b.message)?,
        notify: b.notify,
    };
    let (m, update) = if b.draft {
        s.services
            .draft_maintenance(&c.principal, &page, new)
            .await?
    } else {
        s.services
            .schedule_maintenance(&c.principal, &page, new)
            .await?
    };
    Ok((StatusCode::CREATED, with_update(&m, &update)))
}

async fn get(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (m, updates) = s
        .services
        .maintenance(&c.principal, &maintenance_id(&id)?, Some(200))
        .await?;
    let mut v = views::maintenance(&m);
    v["updates"] = updates.iter().map(views::maintenance_update).collect();
    Ok(Json(v))
}

async fn update(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Edit>,
) -> ApiResult<Json<Value>> {
    let at = |field, raw: Option<String>| raw.map(|t| instant(field, &t)).transpose();
    let edit = MaintenanceEdit {
        title: b.title,
        starts_at: at("starts_at", b.starts_at)?,
        ends_at: at("ends_at", b.ends_at)?,
        component_ids: b.component_ids,
        notify: b.notify,
    };
    let m = s
        .services
        .edit_maintenance(&c.principal, &maintenance_id(&id)?, edit)
        .await?;
    Ok(Json(views::maintenance(&m)))
}

async fn delete(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_maintenance(&c.principal, &maintenance_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post(
    s: &ApiState,
    c: &Caller,
    id: &str,
    state: MaintenanceState,
    text: &str,
    notify: bool,
) -> ApiResult<Json<Value>> {
    let (m, update) = s
        .services
        .add_maintenance_update(
            &c.principal,
            &maintenance_id(id)?,
            state,
            message(text)?,
            notify,
        )
        .await?;
    Ok(with_update(&m, &update))
}

async fn add_update(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<NewUpdate>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let state = MaintenanceState::parse(&b.state)?;
    let r = post(&s, &c, &id, state, &b.message, b.notify).await?;
    Ok((StatusCode::CREATED, r))
}

/// Completes or cancels, with a default message.
async fn finish(
    s: &ApiState,
    c: &Caller,
    id: &str,
    b: Transition,
    state: MaintenanceState,
    default: &str,
) -> ApiResult<Json<Value>> {
    let text = b.message.as_deref().unwrap_or(default);
    post(s, c, id, state, text, b.notify).await
}

async fn complete(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Transition>,
) -> ApiResult<Json<Value>> {
    let done = "The maintenance is complete.";
    finish(&s, &c, &id, b, MaintenanceState::Completed, done).await
}

async fn cancel(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<Transition>,
) -> ApiResult<Json<Value>> {
    let done = "The maintenance was cancelled.";
    finish(&s, &c, &id, b, MaintenanceState::Cancelled, done).await
}
