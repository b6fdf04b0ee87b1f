//! Running a tool: the arguments are parsed into the tool's own type (`super::tool_args`), the work goes
//! through the permission-checked services, and the result is structured JSON. The read tools live here,
//! the write tools in `super::write_tools`.

use serde_json::{json, Map, Value};

use super::caller::McpCaller;
use super::tool_args::{self as args, parse, Count, InvalidParams, ToolArgs};
use super::write_tools;
use crate::domain::MaintenanceFilter;
use crate::domain::{ComponentStatus, Permission};
use crate::service::pages::hierarchy;
use crate::service::{Actor, Principal, ServiceError, Services};
use crate::views;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments are wrong: a protocol error (-32602).
    #[error(transparent)]
    InvalidParams(#[from] InvalidParams),
    /// The operation was refused or failed: a tool result with `isError`, worded for the model.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What a successful call returns: `structuredContent`, rendered as text too for older clients.
pub type ToolOutput = Value;

/// What every tool runs with: the services, the principal acting (naming the tool, for the audit log),
/// and the public URL for links.
pub(crate) struct Cx<'a> {
    pub services: &'a Services,
    pub who: &'a Principal,
    pub base_url: &'a str,
}

/// Runs `name` for `caller`. The caller's scope and tool set were checked before this is reached.
pub async fn call(
    services: &Services,
    caller: &McpCaller,
    base_url: &str,
    name: &str,
    raw: &Map<String, Value>,
) -> Result<ToolOutput, ToolError> {
    call_confirmed(services, caller, base_url, name, raw, None).await
}

/// [`call`], naming in the audit rows the notify confirmation the person gave (`super::confirm`).
pub(crate) async fn call_confirmed(
    services: &Services,
    caller: &McpCaller,
    base_url: &str,
    name: &str,
    raw: &Map<String, Value>,
    confirmed: Option<String>,
) -> Result<ToolOutput, ToolError> {
    let mut who = caller.principal.clone();
    if let Actor::Mcp {
        tool, confirmation, ..
    }
    | Actor::ApiKey {
        tool, confirmation, ..
    } = &mut who.actor
    {
        *tool = Some(name.to_owned());
        *confirmation = confirmed;
    }
    let cx = Cx {
        services,
        who: &who,
        base_url,
    };
    match name {
        args::ListStatusPages::TOOL => list_status_pages(&cx, parse(raw)?).await,
        args::GetPageSummary::TOOL => page_summary(&cx, parse(raw)?).await,
        args::ListIncidents::TOOL => list_incidents(&cx, parse(raw)?).await,
        args::GetIncident::TOOL => get_incident(&cx, parse(raw)?).await,
        args::ListMaintenances::TOOL => list_maintenances(&cx, parse(raw)?).await,
        args::GetAnalyticsSummary::TOOL => analytics(&cx, parse(raw)?).await,
        args::ListBeats::TOOL => list_beats(&cx, parse(raw)?).await,
        args::ListRecentBeatFailures::TOOL => beat_failures(&cx, parse(raw)?).await,
        args::CreateIncident::TOOL => write_tools::create_incident(&cx, parse(raw)?).await,
        args::AddIncidentUpdate::TOOL => write_tools::add_incident_update(&cx, parse(raw)?).await,
        args::ScheduleMaintenance::TOOL => {
            write_tools::schedule_maintenance(&cx, parse(raw)?).await
        }
        args::AddMaintenanceUpdate::TOOL => {
            write_tools::add_maintenance_update(&cx, parse(raw)?).await
        }
        other => Err(InvalidParams(format!("unknown tool `{other}`")).into()),
    }
}

/// The items of a draft listing, without who drafted them (the model sees `draft: true` on each).
fn drafts_only<T>(list: Vec<(T, Option<String>)>) -> Vec<T> {
    list.into_iter().map(|(item, _)| item).collect()
}

async fn list_status_pages(cx: &Cx<'_>, _: args::ListStatusPages) -> Result<Value, ToolError> {
    let mut pages = Vec::new();
    for (org, page) in cx.services.list_pages(cx.who).await? {
        let comps = cx.services.components(cx.who, &page.id).await?;
        let overall = ComponentStatus::overall(hierarchy(&comps).iter().map(|n| n.shown_status));
        let mut v = views::page(&org, &page, cx.base_url);
        v["overall_status"] = json!(overall.as_str());
        pages.push(v);
    }
    Ok(json!({ "pages": pages }))
}

async fn page_summary(cx: &Cx<'_>, a: args::GetPageSummary) -> Result<Value, ToolError> {
    let (s, who, page_id) = (cx.services, cx.who, &a.page_id.0);
    let page = s.page_for(who, page_id, Permission::PageRead).await?;
    let tree = hierarchy(&s.components(who, page_id).await?);
    let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
    let active = s.active_incidents(who, page_id).await?;
    let upcoming = s
        .maintenances(who, page_id, MaintenanceFilter::Upcoming, Some(20))
        .await?;
    Ok(json!({
        "page_id": page.id, "name": page.name, "overall_status": overall.as_str(),
        "components": views::tree(&tree),
        "active_incidents": active.iter().map(views::incident).collect::<Vec<_>>(),
        "upcoming_maintenances": upcoming.iter().map(views::maintenance).collect::<Vec<_>>(),
    }))
}

async fn list_incidents(cx: &Cx<'_>, a: args::ListIncidents) -> Result<Value, ToolError> {
    let (s, who, page_id) = (cx.services, cx.who, &a.page_id.0);
    let limit = Count::or_default(a.limit);
    let list = match a.status.unwrap_or_default() {
        args::Incidents::Active => s.active_incidents(who, page_id).await?,
        args::Incidents::Draft => drafts_only(s.draft_incidents(who, page_id).await?),
        args::Incidents::Resolved => s.resolved_incidents(who, page_id, Some(limit)).await?,
    };
    let shown = list
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(json!({ "incidents": shown.map(views::incident).collect::<Vec<_>>() }))
}

async fn get_incident(cx: &Cx<'_>, a: args::GetIncident) -> Result<Value, ToolError> {
    let limit = Count::or_default(a.limit);
    let (incident, updates) = cx
        .services
        .incident(cx.who, &a.incident_id.0, Some(limit))
        .await?;
    if incident.page_id != a.page_id.0 {
        return Err(ServiceError::NotFound("incident").into());
    }
    let mut v = views::incident(&incident);
    v["updates"] = Value::Array(updates.iter().map(views::incident_update).collect());
    Ok(v)
}

async fn list_maintenances(cx: &Cx<'_>, a: args::ListMaintenances) -> Result<Value, ToolError> {
    let (s, who, page_id) = (cx.services, cx.who, &a.page_id.0);
    let filter = match a.filter.unwrap_or_default() {
        args::Maintenances::Active => MaintenanceFilter::Active,
        args::Maintenances::Upcoming => MaintenanceFilter::Upcoming,
        args::Maintenances::Past => MaintenanceFilter::Past,
        args::Maintenances::Scheduled => MaintenanceFilter::Scheduled,
        args::Maintenances::Draft => {
            let list = drafts_only(s.draft_maintenances(who, page_id).await?);
            return Ok(
                json!({ "maintenances": list.iter().map(views::maintenance).collect::<Vec<_>>() }),
            );
        }
    };
    let limit = Count::or_default(a.limit);
    let list = s.maintenances(who, page_id, filter, Some(limit)).await?;
    Ok(json!({ "maintenances": list.iter().map(views::maintenance).collect::<Vec<_>>() }))
}

async fn analytics(cx: &Cx<'_>, a: args::GetAnalyticsSummary) -> Result<Value, ToolError> {
    let days = Count::or_default(a.window_days);
    let summary = cx
        .services
        .analytics_summary(cx.who, &a.page_id.0, Some(days))
        .await?;
    Ok(serde_json::to_value(summary).unwrap_or_default())
}

async fn list_beats(cx: &Cx<'_>, a: args::ListBeats) -> Result<Value, ToolError> {
    let list = cx.services.monitors(cx.who, &a.page_id.0).await?;
    Ok(json!({ "beats": list.iter().map(views::monitor).collect::<Vec<_>>() }))
}

async fn beat_failures(cx: &Cx<'_>, a: args::ListRecentBeatFailures) -> Result<Value, ToolError> {
    let limit = Count::or_default(a.limit);
    let list = cx
        .services
        .recent_failures(cx.who, &a.page_id.0, Some(limit))
        .await?;
    Ok(json!({ "failures": list.iter().map(views::monitor_event).collect::<Vec<_>>() }))
}
