//! Running a tool: arguments are read strictly, the work goes through the permission-checked services,
//! and the result is structured JSON plus a text rendering of it.

use serde_json::{json, Map, Value};

use super::args::{Args, InvalidParams};
use super::caller::McpCaller;
use crate::domain::MaintenanceFilter;
use crate::domain::{
    ComponentStatus, IncidentStage, MaintenanceState, MaintenanceWindow, Message,
    NewIncidentUpdate, Permission,
};
use crate::ids::{IncidentId, MaintenanceId, PageId};
use crate::service::maintenances::NewMaintenance;
use crate::service::pages::hierarchy;
use crate::service::{Actor, ServiceError, Services};
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

/// Notifications the update queued: one per confirmed subscriber when `notify` was true, else none.
async fn queued(services: &Services, update_id: &str) -> Result<i64, ToolError> {
    Ok(services.notifications_queued_for(update_id).await?)
}

/// The items of a draft listing, without who drafted them (the model sees `draft: true` on each).
fn drafts_only<T>(list: Vec<(T, Option<String>)>) -> Vec<T> {
    list.into_iter().map(|(item, _)| item).collect()
}

fn page_arg(a: &Args) -> Result<PageId, ToolError> {
    Ok(a.id("page_id", PageId::parse)?)
}

fn parse_domain<T>(r: Result<T, crate::domain::DomainError>) -> Result<T, ToolError> {
    r.map_err(|e| ToolError::InvalidParams(InvalidParams(e.to_string())))
}

/// Runs `name` for `caller`. The caller's scope and tool set were checked before this is reached.
pub async fn call(
    services: &Services,
    caller: &McpCaller,
    base_url: &str,
    name: &str,
    raw: &Map<String, Value>,
) -> Result<ToolOutput, ToolError> {
    let a = Args(raw);
    let mut principal = caller.principal.clone();
    if let Actor::Mcp { tool, .. } | Actor::ApiKey { tool, .. } = &mut principal.actor {
        *tool = Some(name.to_owned());
    }
    let who = &principal;
    match name {
        "list_status_pages" => {
            let mut pages = Vec::new();
            for (org, page) in services.list_pages(who).await? {
                let comps = services.components(who, &page.id).await?;
                let overall =
                    ComponentStatus::overall(hierarchy(&comps).iter().map(|n| n.shown_status));
                let mut v = views::page(&org, &page, base_url);
                v["overall_status"] = json!(overall.as_str());
                pages.push(v);
            }
            Ok(json!({ "pages": pages }))
        }
        "get_page_summary" => {
            let page_id = page_arg(&a)?;
            let page = services
                .page_for(who, &page_id, Permission::PageRead)
                .await?;
            let tree = hierarchy(&services.components(who, &page_id).await?);
            let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
            let active = services.active_incidents(who, &page_id).await?;
            let upcoming = services
                .maintenances(who, &page_id, MaintenanceFilter::Upcoming, Some(20))
                .await?;
            Ok(json!({
                "page_id": page.id, "name": page.name, "overall_status": overall.as_str(),
                "components": views::tree(&tree),
                "active_incidents": active.iter().map(views::incident).collect::<Vec<_>>(),
                "upcoming_maintenances": upcoming.iter().map(views::maintenance).collect::<Vec<_>>(),
            }))
        }
        "list_incidents" => {
            let page_id = page_arg(&a)?;
            let limit = a.limit("limit", 20, 200)?;
            let list = match a.opt_str("status")?.unwrap_or("active") {
                "active" => services.active_incidents(who, &page_id).await?,
                "draft" => drafts_only(services.draft_incidents(who, &page_id).await?),
                "resolved" => {
                    services
                        .resolved_incidents(who, &page_id, Some(limit))
                        .await?
                }
                other => {
                    return Err(InvalidParams(format!(
                        "`status` `{other}` must be active, resolved or draft"
                    ))
                    .into())
                }
            };
            Ok(
                json!({ "incidents": list.iter().take(limit as usize).map(views::incident).collect::<Vec<_>>() }),
            )
        }
        "get_incident" => {
            let page_id = page_arg(&a)?;
            let id = a.id("incident_id", IncidentId::parse)?;
            let (incident, updates) = services
                .incident(who, &id, Some(a.limit("limit", 20, 200)?))
                .await?;
            if incident.page_id != page_id {
                return Err(ServiceError::NotFound("incident").into());
            }
            let mut v = views::incident(&incident);
            v["updates"] = Value::Array(updates.iter().map(views::incident_update).collect());
            Ok(v)
        }
        "list_maintenances" => {
            let page_id = page_arg(&a)?;
            let filter = match a.opt_str("filter")?.unwrap_or("upcoming") {
                "active" => MaintenanceFilter::Active,
                "upcoming" => MaintenanceFilter::Upcoming,
                "past" => MaintenanceFilter::Past,
                "scheduled" => MaintenanceFilter::Scheduled,
                "draft" => {
                    let list = drafts_only(services.draft_maintenances(who, &page_id).await?);
                    return Ok(
                        json!({ "maintenances": list.iter().map(views::maintenance).collect::<Vec<_>>() }),
                    );
                }
                other => {
                    return Err(InvalidParams(format!(
                        "`filter` `{other}` must be active, upcoming, past, scheduled or draft"
                    ))
                    .into())
                }
            };
            let list = services
                .maintenances(who, &page_id, filter, Some(a.limit("limit", 20, 200)?))
                .await?;
            Ok(json!({ "maintenances": list.iter().map(views::maintenance).collect::<Vec<_>>() }))
        }
        "get_analytics_summary" => {
            let page_id = page_arg(&a)?;
            let days = a.limit("window_days", 30, 90)?;
            let summary = services
                .analytics_summary(who, &page_id, Some(days))
                .await?;
            Ok(serde_json::to_value(summary).unwrap_or_default())
        }
        "list_beats" => {
            let page_id = page_arg(&a)?;
            let list = services.monitors(who, &page_id).await?;
            Ok(json!({ "beats": list.iter().map(views::monitor).collect::<Vec<_>>() }))
        }
        "list_recent_beat_failures" => {
            let page_id = page_arg(&a)?;
            let list = services
                .recent_failures(who, &page_id, Some(a.limit("limit", 20, 200)?))
                .await?;
            Ok(json!({ "failures": list.iter().map(views::monitor_event).collect::<Vec<_>>() }))
        }
        "create_incident" => {
            let page_id = page_arg(&a)?;
            let stage = parse_domain(IncidentStage::parse(a.str("stage")?))?;
            let first = NewIncidentUpdate {
                stage,
                message: parse_domain(Message::parse("message", a.str("message")?))?,
                affected: a.affected("affected_components")?,
                notify: a.required_bool("notify")?,
            };
            let title = a.str("title")?;
            let draft = a.opt_bool("draft", false)?;
            let (incident, update) = if draft {
                services.draft_incident(who, &page_id, title, first).await?
            } else {
                services
                    .create_incident(who, &page_id, title, first)
                    .await?
            };
            let mut v = views::incident(&incident);
            v["update"] = views::incident_update(&update);
            let n = queued(services, update.id.as_str()).await?;
            views::outcome(&mut v, "incident", draft, n);
            Ok(v)
        }
        "add_incident_update" => {
            let page_id = page_arg(&a)?;
            let id = a.id("incident_id", IncidentId::parse)?;
            let update = NewIncidentUpdate {
                stage: parse_domain(IncidentStage::parse(a.str("stage")?))?,
                message: parse_domain(Message::parse("message", a.str("message")?))?,
                affected: a.affected("affected_components")?,
                notify: a.required_bool("notify")?,
            };
            let (existing, _) = services.incident(who, &id, Some(1)).await?;
            if existing.page_id != page_id {
                return Err(ServiceError::NotFound("incident").into());
            }
            let (incident, update) = services.add_incident_update(who, &id, update).await?;
            let mut v = views::incident(&incident);
            v["update"] = views::incident_update(&update);
            v["subscribers_notified"] = json!(queued(services, update.id.as_str()).await?);
            Ok(v)
        }
        "schedule_maintenance" => {
            let page_id = page_arg(&a)?;
            let window = parse_domain(MaintenanceWindow::new(
                a.instant("starts_at")?,
                a.instant("ends_at")?,
                services.clock.now(),
            ))?;
            let new = NewMaintenance {
                title: a.str("title")?,
                window,
                components: a.id_list("component_ids", crate::ids::ComponentId::parse)?,
                message: parse_domain(Message::parse("message", a.str("message")?))?,
                notify: a.required_bool("notify")?,
            };
            let draft = a.opt_bool("draft", false)?;
            let (m, update) = if draft {
                services.draft_maintenance(who, &page_id, new).await?
            } else {
                services.schedule_maintenance(who, &page_id, new).await?
            };
            let mut v = views::maintenance(&m);
            v["update"] = views::maintenance_update(&update);
            let n = queued(services, update.id.as_str()).await?;
            views::outcome(&mut v, "maintenance", draft, n);
            Ok(v)
        }
        "add_maintenance_update" => {
            let page_id = page_arg(&a)?;
            let id = a.id("maintenance_id", MaintenanceId::parse)?;
            let state = parse_domain(MaintenanceState::parse(a.str("state")?))?;
            let message = parse_domain(Message::parse("message", a.str("message")?))?;
            let notify = a.required_bool("notify")?;
            let (existing, _) = services.maintenance(who, &id, Some(1)).await?;
            if existing.page_id != page_id {
                return Err(ServiceError::NotFound("maintenance").into());
            }
            let (m, update) = services
                .add_maintenance_update(who, &id, state, message, notify)
                .await?;
            let mut v = views::maintenance(&m);
            v["update"] = views::maintenance_update(&update);
            v["subscribers_notified"] = json!(queued(services, update.id.as_str()).await?);
            Ok(v)
        }
        other => Err(InvalidParams(format!("unknown tool `{other}`")).into()),
    }
}
