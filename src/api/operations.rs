//! Operations around the page: monitors and their events, the actions they propose, subscriber
//! counts, analytics, embeddable badges, and the audit log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::{path_id, ApiError, ApiResult, Body, Query};
use super::listing::{page, window};
use super::pages::page_id;
use super::{op, ApiState, Op};
use crate::domain::monitor::ActionState;
use crate::domain::{ActorType, Permission};
use crate::ids::{MonitorId, PendingActionId};
use crate::views;

pub fn ops() -> Vec<Op> {
    vec![
        op!(
            GET,
            "/pages/{page_id}/monitors",
            "listMonitors",
            "monitors",
            "Monitors of a page",
            monitors
        ),
        op!(
            GET,
            "/monitors/{monitor_id}/events",
            "listMonitorEvents",
            "monitors",
            "Recent runs of a monitor, newest first",
            events,
            query = LimitQuery
        ),
        op!(
            POST,
            "/monitors/{monitor_id}/run",
            "runMonitor",
            "monitors",
            "Run a monitor now",
            run,
            write = true
        ),
        op!(
            GET,
            "/pages/{page_id}/pending-actions",
            "listPendingActions",
            "monitors",
            "Actions monitors proposed",
            pending,
            query = ActionsQuery
        ),
        op!(
            POST,
            "/pending-actions/{action_id}/approve",
            "approveAction",
            "monitors",
            "Approve and perform a proposed action",
            approve,
            write = true
        ),
        op!(
            POST,
            "/pending-actions/{action_id}/reject",
            "rejectAction",
            "monitors",
            "Reject a proposed action",
            reject,
            body = RejectBody,
            write = true
        ),
        op!(
            GET,
            "/pages/{page_id}/subscribers/summary",
            "getSubscriberSummary",
            "subscribers",
            "Subscriber counts per kind",
            subscribers
        ),
        op!(
            GET,
            "/pages/{page_id}/analytics",
            "getAnalytics",
            "analytics",
            "Uptime, incidents and views over a window",
            analytics,
            query = AnalyticsQuery
        ),
        op!(
            GET,
            "/pages/{page_id}/embeds",
            "getEmbeds",
            "embeds",
            "Status badge and widget snippets",
            embeds
        ),
        op!(
            GET,
            "/audit",
            "listAudit",
            "audit",
            "The organisation's audit log, newest first (admins)",
            audit,
            query = AuditQuery
        ),
    ]
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    /// 1 to 200 (default 20).
    limit: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    /// `pending`, `approved` or `rejected`; all when absent.
    state: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why, for the audit log (optional, at most 1000 characters).
    #[serde(default)]
    note: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// 1 to 90 (default 30).
    window_days: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `user`, `api_key`, `mcp` or `system`.
    actor_type: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn monitor_id(raw: &str) -> ApiResult<MonitorId> {
    path_id(raw, MonitorId::parse, "monitor")
}

fn action_id(raw: &str) -> ApiResult<PendingActionId> {
    path_id(raw, PendingActionId::parse, "pending action")
}

async fn monitors(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = s.services.monitors(&c.principal, &page_id(&id)?).await?;
    Ok(Json(
        json!({ "items": list.iter().map(views::monitor).collect::<Vec<_>>() }),
    ))
}

async fn events(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Value>> {
    let (m, events) = s
        .services
        .monitor(&c.principal, &monitor_id(&id)?, q.limit)
        .await?;
    Ok(Json(json!({
        "monitor": views::monitor(&m),
        "items": events.iter().map(views::monitor_event).collect::<Vec<_>>(),
    })))
}

async fn run(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let event = s
        .services
        .run_monitor_now(&c.principal, &monitor_id(&id)?)
        .await?;
    Ok(Json(views::monitor_event(&event)))
}

async fn pending(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<ActionsQuery>,
) -> ApiResult<Json<Value>> {
    let state = q
        .state
        .as_deref()
        .map(ActionState::parse)
        .transpose()
        .map_err(|e| ApiError::malformed(e.to_string()))?;
    let list = s
        .services
        .pending_actions(&c.principal, &page_id(&id)?, state, q.limit)
        .await?;
    Ok(Json(
        json!({ "items": list.iter().map(views::pending_action).collect::<Vec<_>>() }),
    ))
}

async fn approve(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = s
        .services
        .approve_action(&c.principal, &action_id(&id)?)
        .await?;
    Ok(Json(views::pending_action(&a)))
}

async fn reject(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<RejectBody>,
) -> ApiResult<Json<Value>> {
    let a = s
        .services
        .reject_action(&c.principal, &action_id(&id)?, &b.note)
        .await?;
    Ok(Json(views::pending_action(&a)))
}

async fn subscribers(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let counts = s
        .services
        .subscriber_summary(&c.principal, &page_id(&id)?)
        .await?;
    let by_kind: Vec<Value> = counts
        .iter()
        .map(|(k, conf, pend)| json!({ "kind": k, "confirmed": conf, "pending": pend }))
        .collect();
    let confirmed: i64 = counts.iter().map(|c| c.1).sum();
    let pending: i64 = counts.iter().map(|c| c.2).sum();
    Ok(Json(
        json!({ "confirmed": confirmed, "pending": pending, "by_kind": by_kind }),
    ))
}

async fn analytics(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<AnalyticsQuery>,
) -> ApiResult<Json<Value>> {
    let summary = s
        .services
        .analytics_summary(&c.principal, &page_id(&id)?, q.window_days)
        .await?;
    serde_json::to_value(summary).map(Json).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    })
}

async fn embeds(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let page = s
        .services
        .page_for(&c.principal, &page_id(&id)?, Permission::PageRead)
        .await?;
    let public = format!("{}/status/{}", s.public_url, page.public_slug);
    let badge = format!("{public}/badge.svg");
    let name = html_escape(&page.name);
    Ok(Json(json!({
        "page_url": public,
        "badge_url": badge,
        "badge_html": format!("<a href=\"{public}\"><img src=\"{badge}\" alt=\"{name} status\"></a>"),
        "badge_markdown": format!("[![{} status]({badge})]({public})", page.name),
        "widget_html": format!(
            "<div class=\"statusgate-widget\"><a href=\"{public}\" rel=\"noopener\"><img src=\"{badge}\" alt=\"{name} status\" height=\"20\"> {name}</a></div>"
        ),
    })))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn audit(
    State(s): State<ApiState>,
    c: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let actor = match q.actor_type.as_deref() {
        None => None,
        Some(t) => Some(ActorType::parse(t).ok_or_else(|| {
            ApiError::malformed("actor_type: must be user, api_key, mcp or system")
        })?),
    };
    let w = window(q.limit, q.cursor.as_deref())?;
    let rows = s
        .services
        .audit_log(&c.principal, &c.key.org_id, actor, w.offset, w.limit)
        .await?;
    Ok(Json(page(w, rows, |e| {
        json!({
            "audit_id": e.id,
            "actor_type": e.actor_type.as_str(),
            "actor_id": e.actor_id,
            "user_id": e.user_id,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
            "created_at": crate::clock::rfc3339(e.created_at),
        })
    })))
}
