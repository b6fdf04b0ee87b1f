//! `statusgate://` resources: what a caller may list and read, gated by scope like the tools.

use serde_json::{json, Value};

use super::tool_args::InvalidParams;
use super::caller::McpCaller;
use super::scope::McpScope;
use super::tools::ToolError;
use crate::domain::MaintenanceFilter;
use crate::domain::{ComponentStatus, IncidentStage, MaintenanceState, Permission};
use crate::ids::{IncidentId, MaintenanceId, PageId};
use crate::service::pages::hierarchy;
use crate::service::{ServiceError, Services};
use crate::views;

/// A resource or a template as listed: its URI (or URI template), name and description.
pub struct Listed {
    pub uri: String,
    pub name: String,
    pub description: &'static str,
}

/// Page-bound templates with the scope each needs.
pub const TEMPLATES: &[(&str, &str, &str, McpScope)] = &[
    (
        "statusgate://pages/{page_id}/summary",
        "page-summary",
        "Overall status, components, active incidents and upcoming maintenance",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/status-definitions",
        "status-definitions",
        "The component statuses this page uses",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/lifecycle/stages",
        "incident-stages",
        "Incident lifecycle stages",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenance-lifecycle/stages",
        "maintenance-stages",
        "Maintenance lifecycle stages",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/hierarchy/tree",
        "hierarchy",
        "Component groups and components",
        McpScope::PagesRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/active",
        "active-incidents",
        "Open incidents",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/resolved?limit={limit}",
        "resolved-incidents",
        "Resolved incidents, newest first",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/{incident_id}",
        "incident",
        "One incident",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/incidents/{incident_id}/updates?limit={limit}",
        "incident-updates",
        "An incident's updates, newest first",
        McpScope::IncidentsRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/active",
        "active-maintenances",
        "Maintenance in progress",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/upcoming",
        "upcoming-maintenances",
        "Scheduled maintenance not yet started",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/{maintenance_id}",
        "maintenance",
        "One maintenance",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/maintenances/{maintenance_id}/updates?limit={limit}",
        "maintenance-updates",
        "A maintenance's updates, newest first",
        McpScope::MaintenancesRead,
    ),
    (
        "statusgate://pages/{page_id}/analytics/summary?window_days={window_days}",
        "analytics-summary",
        "Uptime, incidents, maintenance and page views over a window of days",
        McpScope::AnalyticsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats",
        "beats",
        "Synthetic HTTP monitors",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beat-groups",
        "beat-groups",
        "Monitor groups",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats/pending-actions",
        "pending-actions",
        "Proposed actions waiting for a person (needs monitor-manage permission)",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats/recent-failures?limit={limit}",
        "recent-failures",
        "Failed runs, newest first",
        McpScope::BeatsRead,
    ),
    (
        "statusgate://pages/{page_id}/beats/{monitor_id}/recent-events?limit={limit}",
        "monitor-events",
        "One monitor's latest runs",
        McpScope::BeatsRead,
    ),
];

/// The read tool that shows what the resource at `uri` shows, if any. A resource whose tool the person
/// unticked on the consent page is neither listed nor read: the data stays behind the same choice.
pub fn tool_for(uri: &str) -> Option<&'static str> {
    let path = uri.strip_prefix("statusgate://")?.split('?').next()?;
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["pages"] => Some("list_status_pages"),
        ["pages", _, "summary" | "hierarchy", ..] => Some("get_page_summary"),
        ["pages", _, "incidents", "active" | "resolved"] => Some("list_incidents"),
        ["pages", _, "incidents", ..] => Some("get_incident"),
        ["pages", _, "maintenances", ..] => Some("list_maintenances"),
        ["pages", _, "analytics", ..] => Some("get_analytics_summary"),
        ["pages", _, "beats", "recent-failures"] | ["pages", _, "beats", _, "recent-events"] => {
            Some("list_recent_beat_failures")
        }
        ["pages", _, "beats" | "beat-groups", ..] => Some("list_beats"),
        _ => None,
    }
}

/// Whether the caller's scopes and ticked tools let it see the resource (or template) at `uri`.
fn shown(caller: &McpCaller, uri: &str, scope: McpScope) -> bool {
    caller.has(scope) && tool_for(uri).is_none_or(|t| caller.ticked(t))
}

/// Templates the caller may use.
pub fn templates(caller: &McpCaller) -> Vec<Listed> {
    TEMPLATES
        .iter()
        .filter(|t| shown(caller, t.0, t.3))
        .map(|t| Listed {
            uri: t.0.to_owned(),
            name: t.1.to_owned(),
            description: t.2,
        })
        .collect()
}

/// Concrete resources: `me`, the page list, and each visible page's parameter-free resources.
pub async fn list(services: &Services, caller: &McpCaller) -> Result<Vec<Listed>, ToolError> {
    let mut out = vec![Listed {
        uri: "statusgate://me".into(),
        name: "me".into(),
        description: "Who this connection acts as and what it may do",
    }];
    if !caller.has(McpScope::PagesRead) {
        return Ok(out);
    }
    if caller.ticked("list_status_pages") {
        out.push(Listed {
            uri: "statusgate://pages".into(),
            name: "pages".into(),
            description: "Status pages you can see",
        });
    }
    for (_, page) in services.list_pages(&caller.principal).await? {
        for t in TEMPLATES
            .iter()
            .filter(|t| shown(caller, t.0, t.3) && !t.0.contains('?'))
        {
            let uri = t.0.replace("{page_id}", page.id.as_str());
            if !uri.contains('{') {
                out.push(Listed {
                    uri,
                    name: format!("{} ({})", t.1, page.slug),
                    description: t.2,
                });
            }
        }
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("resource not found: {0}")]
    NotFound(String),
    /// The caller's scopes do not include the one this resource needs.
    #[error("this resource needs the {0} scope")]
    Scope(McpScope),
    /// The person unticked the tool that shows this data when approving the connection.
    #[error("this resource shows what the {0} tool shows, which this connection may not use")]
    Unticked(&'static str),
    #[error(transparent)]
    Tool(#[from] ToolError),
}

impl From<ServiceError> for ResourceError {
    fn from(e: ServiceError) -> Self {
        Self::Tool(ToolError::Service(e))
    }
}

impl From<InvalidParams> for ResourceError {
    fn from(e: InvalidParams) -> Self {
        Self::Tool(ToolError::InvalidParams(e))
    }
}

/// `?limit=N`: default 20, clamped to 1..=200; anything but a whole number is refused.
fn limit_of(query: Option<&str>) -> Result<i64, InvalidParams> {
    query_number(query, "limit", 20, 200)
}

/// A whole-number query parameter, clamped to `1..=max`, `default` when absent.
fn query_number(
    query: Option<&str>,
    name: &str,
    default: i64,
    max: i64,
) -> Result<i64, InvalidParams> {
    let Some(q) = query else { return Ok(default) };
    let prefix = format!("{name}=");
    for pair in q.split('&') {
        if let Some(v) = pair.strip_prefix(prefix.as_str()) {
            return v.parse::<i64>().map(|n| n.clamp(1, max)).map_err(|_| {
                InvalidParams(format!(
                    "{name} `{v}` must be a whole number from 1 to {max}"
                ))
            });
        }
    }
    Ok(default)
}

pub async fn read(
    services: &Services,
    caller: &McpCaller,
    base_url: &str,
    uri: &str,
) -> Result<Value, ResourceError> {
    let not_found = || ResourceError::NotFound(uri.to_owned());
    if let Some(tool) = tool_for(uri).filter(|t| !caller.ticked(t)) {
        return Err(ResourceError::Unticked(tool));
    }
    let rest = uri.strip_prefix("statusgate://").ok_or_else(not_found)?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let need = |s: McpScope| {
        if caller.has(s) {
            Ok(())
        } else {
            Err(ResourceError::Scope(s))
        }
    };
    let who = &caller.principal;
    match parts.as_slice() {
        ["me"] => {
            let user = services.user(&who.user_id).await?;
            Ok(json!({
                "user": { "user_id": user.id, "email": user.email },
                "actor": who.actor.actor_type().as_str(),
                "scopes": caller.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "allowed_tools": caller.allowed_tools,
            }))
        }
        ["pages"] => {
            need(McpScope::PagesRead)?;
            let pages: Vec<Value> = services
                .list_pages(who)
                .await?
                .iter()
                .map(|(o, p)| views::page(o, p, base_url))
                .collect();
            Ok(json!({ "pages": pages }))
        }
        ["pages", page_id, tail @ ..] => {
            let page_id = PageId::parse(page_id).ok_or_else(not_found)?;
            read_page(services, caller, &page_id, tail, query)
                .await
                .map_err(|e| match e {
                    ResourceError::Tool(ToolError::Service(ServiceError::NotFound(_))) => {
                        not_found()
                    }
                    other => other,
                })
        }
        _ => Err(not_found()),
    }
}

async fn read_page(
    services: &Services,
    caller: &McpCaller,
    page_id: &PageId,
    tail: &[&str],
    query: Option<&str>,
) -> Result<Value, ResourceError> {
    let who = &caller.principal;
    let need = |s: McpScope| {
        if caller.has(s) {
            Ok(())
        } else {
            Err(ResourceError::Scope(s))
        }
    };
    let nf = || ResourceError::Tool(ToolError::Service(ServiceError::NotFound("resource")));
    match tail {
        ["summary"] => {
            need(McpScope::PagesRead)?;
            let page = services
                .page_for(who, page_id, Permission::PageRead)
                .await?;
            let tree = hierarchy(&services.components(who, page_id).await?);
            let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
            Ok(
                json!({ "page_id": page.id, "name": page.name, "overall_status": overall.as_str(), "components": views::tree(&tree) }),
            )
        }
        ["status-definitions"] => {
            need(McpScope::PagesRead)?;
            services
                .page_for(who, page_id, Permission::PageRead)
                .await?;
            let defs: Vec<Value> = ComponentStatus::ALL.iter()
                .map(|s| json!({ "status": s.as_str(), "label": s.label(), "description": s.description() }))
                .collect();
            Ok(json!({ "status_definitions": defs }))
        }
        ["lifecycle", "stages"] => {
            need(McpScope::PagesRead)?;
            services
                .page_for(who, page_id, Permission::IncidentRead)
                .await?;
            let stages: Vec<Value> = IncidentStage::ALL.iter()
                .map(|s| json!({ "stage": s.as_str(), "label": s.label(), "description": s.description() }))
                .collect();
            Ok(json!({ "stages": stages }))
        }
        ["maintenance-lifecycle", "stages"] => {
            need(McpScope::PagesRead)?;
            services
                .page_for(who, page_id, Permission::MaintenanceRead)
                .await?;
            let stages: Vec<Value> = MaintenanceState::ALL.iter()
                .map(|s| json!({ "state": s.as_str(), "label": s.label(), "description": s.description() }))
                .collect();
            Ok(json!({ "stages": stages }))
        }
        ["hierarchy", "tree"] => {
            need(McpScope::PagesRead)?;
            let tree = hierarchy(&services.components(who, page_id).await?);
            Ok(json!({ "tree": views::tree(&tree) }))
        }
        ["incidents", "active"] => {
            need(McpScope::IncidentsRead)?;
            let list = services.active_incidents(who, page_id).await?;
            Ok(json!({ "incidents": list.iter().map(views::incident).collect::<Vec<_>>() }))
        }
        ["incidents", "resolved"] => {
            need(McpScope::IncidentsRead)?;
            let list = services
                .resolved_incidents(who, page_id, Some(limit_of(query)?))
                .await?;
            Ok(json!({ "incidents": list.iter().map(views::incident).collect::<Vec<_>>() }))
        }
        ["incidents", id, rest @ ..] if rest.is_empty() || rest == ["updates"] => {
            need(McpScope::IncidentsRead)?;
            let id = IncidentId::parse(id).ok_or_else(nf)?;
            let (incident, updates) = services.incident(who, &id, Some(limit_of(query)?)).await?;
            if incident.page_id != *page_id {
                return Err(nf());
            }
            let updates: Vec<Value> = updates.iter().map(views::incident_update).collect();
            if rest.is_empty() {
                let mut v = views::incident(&incident);
                v["updates"] = Value::Array(updates);
                Ok(v)
            } else {
                Ok(json!({ "updates": updates }))
            }
        }
        ["maintenances", filter @ ("active" | "upcoming")] => {
            need(McpScope::MaintenancesRead)?;
            let f = if *filter == "active" {
                MaintenanceFilter::Active
            } else {
                MaintenanceFilter::Upcoming
            };
            let list = services
                .maintenances(who, page_id, f, Some(limit_of(query)?))
                .await?;
            Ok(json!({ "maintenances": list.iter().map(views::maintenance).collect::<Vec<_>>() }))
        }
        ["maintenances", id, rest @ ..] if rest.is_empty() || rest == ["updates"] => {
            need(McpScope::MaintenancesRead)?;
            let id = MaintenanceId::parse(id).ok_or_else(nf)?;
            let (m, updates) = services
                .maintenance(who, &id, Some(limit_of(query)?))
                .await?;
            if m.page_id != *page_id {
                return Err(nf());
            }
            let updates: Vec<Value> = updates.iter().map(views::maintenance_update).collect();
            if rest.is_empty() {
                let mut v = views::maintenance(&m);
                v["updates"] = Value::Array(updates);
                Ok(v)
            } else {
                Ok(json!({ "updates": updates }))
            }
        }
        ["analytics", "summary"] => {
            need(McpScope::AnalyticsRead)?;
            let days = query_number(query, "window_days", 30, 90)?;
            let summary = services.analytics_summary(who, page_id, Some(days)).await?;
            Ok(serde_json::to_value(summary).unwrap_or_default())
        }
        ["beats"] => {
            need(McpScope::BeatsRead)?;
            let list = services.monitors(who, page_id).await?;
            Ok(json!({ "beats": list.iter().map(views::monitor).collect::<Vec<_>>() }))
        }
        ["beat-groups"] => {
            need(McpScope::BeatsRead)?;
            let groups = services.monitor_groups(who, page_id).await?;
            let groups: Vec<Value> = groups
                .iter()
                .map(|g| json!({ "group_id": g.id, "name": g.name }))
                .collect();
            Ok(json!({ "beat_groups": groups }))
        }
        ["beats", "pending-actions"] => {
            need(McpScope::BeatsRead)?;
            let page = services
                .page_for(who, page_id, Permission::MonitorManage)
                .await?;
            let list = services
                .pending_actions(
                    who,
                    &page.id,
                    Some(crate::domain::monitor::ActionState::Pending),
                    Some(200),
                )
                .await?;
            Ok(
                json!({ "pending_actions": list.iter().map(views::pending_action).collect::<Vec<_>>() }),
            )
        }
        ["beats", "recent-failures"] => {
            need(McpScope::BeatsRead)?;
            let list = services
                .recent_failures(who, page_id, Some(limit_of(query)?))
                .await?;
            Ok(json!({ "failures": list.iter().map(views::monitor_event).collect::<Vec<_>>() }))
        }
        ["beats", monitor_id, "recent-events"] => {
            need(McpScope::BeatsRead)?;
            let id = crate::ids::MonitorId::parse(monitor_id).ok_or_else(nf)?;
            let (m, events) = services.monitor(who, &id, Some(limit_of(query)?)).await?;
            if m.page_id != *page_id {
                return Err(nf());
            }
            Ok(
                json!({ "monitor": views::monitor(&m), "events": events.iter().map(views::monitor_event).collect::<Vec<_>>() }),
            )
        }
        _ => Err(nf()),
    }
}

/// The scope a resource URI needs, so the HTTP layer can answer 403 `insufficient_scope` before reading.
pub fn scope_for(uri: &str) -> Option<McpScope> {
    let path = uri.strip_prefix("statusgate://")?.split('?').next()?;
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["me"] => None,
        ["pages"] => Some(McpScope::PagesRead),
        ["pages", _, "incidents", ..] => Some(McpScope::IncidentsRead),
        ["pages", _, "maintenances", ..] => Some(McpScope::MaintenancesRead),
        ["pages", _, "analytics", ..] => Some(McpScope::AnalyticsRead),
        ["pages", _, "beats" | "beat-groups", ..] => Some(McpScope::BeatsRead),
        ["pages", _, ..] => Some(McpScope::PagesRead),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::limit_of;

    #[test]
    fn limits_default_clamp_and_refuse() {
        assert_eq!(limit_of(None).ok(), Some(20));
        assert_eq!(limit_of(Some("limit=5")).ok(), Some(5));
        assert_eq!(limit_of(Some("limit=100000")).ok(), Some(200));
        assert_eq!(limit_of(Some("limit=0")).ok(), Some(1));
        assert!(limit_of(Some("limit=abc")).is_err());
        assert!(limit_of(Some("limit=99999999999999999999999")).is_err());
    }
}
