//! `statusgate://` resources: what a caller may list and read, gated by scope like the tools.

use serde_json::{json, Value};

use super::caller::McpCaller;
use super::page_resources::{self, PageRead};
pub use super::resource_templates::TEMPLATES;
use super::scope::McpScope;
use super::tool_args::InvalidParams;
use super::tools::ToolError;
use crate::domain::MaintenanceFilter;
use crate::ids::{MaintenanceId, PageId};
use crate::service::{ServiceError, Services};
use crate::views;

/// A resource or a template as listed: its URI (or URI template), name and description.
pub struct Listed {
    pub uri: String,
    pub name: String,
    pub description: &'static str,
}

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
pub(super) fn limit_of(query: Option<&str>) -> Result<i64, InvalidParams> {
    query_number(query, "limit", 20, 200)
}

/// A whole-number query parameter, clamped to `1..=max`, `default` when absent.
pub(super) fn query_number(
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

/// Inside a page: not found, whatever the reason (another page's id, an unknown path).
pub(super) fn missing() -> ResourceError {
    ResourceError::Tool(ToolError::Service(ServiceError::NotFound("resource")))
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
    let r = PageRead {
        services,
        caller,
        who: &caller.principal,
        page_id,
        query,
    };
    // Only a path that names a resource is checked for its scope; any other is simply not found.
    match tail {
        ["summary" | "status-definitions"]
        | ["lifecycle" | "maintenance-lifecycle", "stages"]
        | ["hierarchy", "tree"] => page_resources::page(&r, tail).await,
        ["incidents", _] | ["incidents", _, "updates"] => {
            page_resources::incidents(&r, &tail[1..]).await
        }
        ["maintenances", _] | ["maintenances", _, "updates"] => maintenances(&r, &tail[1..]).await,
        ["beats" | "beat-groups"]
        | ["beats", "pending-actions" | "recent-failures"]
        | ["beats", _, "recent-events"] => page_resources::beats(&r, tail).await,
        ["analytics", "summary"] => page_resources::analytics(&r).await,
        _ => Err(missing()),
    }
}

/// `maintenances/active`, `maintenances/upcoming`, `maintenances/{id}` and its `updates`.
async fn maintenances(r: &PageRead<'_>, tail: &[&str]) -> Result<Value, ResourceError> {
    r.need(McpScope::MaintenancesRead)?;
    let (s, who) = (r.services, r.who);
    match tail {
        [filter @ ("active" | "upcoming")] => {
            let f = if *filter == "active" {
                MaintenanceFilter::Active
            } else {
                MaintenanceFilter::Upcoming
            };
            let list = s.maintenances(who, r.page_id, f, Some(r.limit()?)).await?;
            Ok(json!({ "maintenances": list.iter().map(views::maintenance).collect::<Vec<_>>() }))
        }
        [id, rest @ ..] if rest.is_empty() || rest == ["updates"] => {
            let id = MaintenanceId::parse(id).ok_or_else(missing)?;
            let (m, updates) = s.maintenance(who, &id, Some(r.limit()?)).await?;
            if m.page_id != *r.page_id {
                return Err(missing());
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
        _ => Err(missing()),
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
