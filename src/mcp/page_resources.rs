//! The resources under `statusgate://pages/{page_id}/`: the page itself, its incidents, its monitors
//! (beats) and its analytics. Maintenance is read in `super::resources`.

use serde_json::{json, Value};

use super::caller::McpCaller;
use super::resources::{limit_of, missing, query_number, ResourceError};
use super::scope::McpScope;
use crate::domain::monitor::ActionState;
use crate::domain::{ComponentStatus, IncidentStage, MaintenanceState, Permission};
use crate::ids::{IncidentId, MonitorId, PageId};
use crate::service::pages::hierarchy;
use crate::service::{Principal, Services};
use crate::views;

/// One read of a page-bound resource.
pub(super) struct PageRead<'a> {
    pub services: &'a Services,
    pub caller: &'a McpCaller,
    pub who: &'a Principal,
    pub page_id: &'a PageId,
    pub query: Option<&'a str>,
}

impl PageRead<'_> {
    pub fn need(&self, scope: McpScope) -> Result<(), ResourceError> {
        if self.caller.has(scope) {
            Ok(())
        } else {
            Err(ResourceError::Scope(scope))
        }
    }

    /// `?limit=`, 20 unless given.
    pub fn limit(&self) -> Result<i64, ResourceError> {
        Ok(limit_of(self.query)?)
    }
}

/// `summary`, `status-definitions`, `lifecycle/stages`, `maintenance-lifecycle/stages`, `hierarchy/tree`.
pub(super) async fn page(r: &PageRead<'_>, tail: &[&str]) -> Result<Value, ResourceError> {
    r.need(McpScope::PagesRead)?;
    let (s, who, page_id) = (r.services, r.who, r.page_id);
    let described = |items: Vec<(&str, &str, &str)>, key: &str| -> Vec<Value> {
        items
            .into_iter()
            .map(|(v, label, description)| json!({ key: v, "label": label, "description": description }))
            .collect()
    };
    match tail {
        ["summary"] => {
            let page = s.page_for(who, page_id, Permission::PageRead).await?;
            let tree = hierarchy(&s.components(who, page_id).await?);
            let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
            Ok(
                json!({ "page_id": page.id, "name": page.name, "overall_status": overall.as_str(), "components": views::tree(&tree) }),
            )
        }
        ["status-definitions"] => {
            s.page_for(who, page_id, Permission::PageRead).await?;
            let all = ComponentStatus::ALL.map(|c| (c.as_str(), c.label(), c.description()));
            Ok(json!({ "status_definitions": described(all.to_vec(), "status") }))
        }
        ["lifecycle", "stages"] => {
            s.page_for(who, page_id, Permission::IncidentRead).await?;
            let all = IncidentStage::ALL.map(|c| (c.as_str(), c.label(), c.description()));
            Ok(json!({ "stages": described(all.to_vec(), "stage") }))
        }
        ["maintenance-lifecycle", "stages"] => {
            s.page_for(who, page_id, Permission::MaintenanceRead)
                .await?;
            let all = MaintenanceState::ALL.map(|c| (c.as_str(), c.label(), c.description()));
            Ok(json!({ "stages": described(all.to_vec(), "state") }))
        }
        ["hierarchy", "tree"] => {
            let tree = hierarchy(&s.components(who, page_id).await?);
            Ok(json!({ "tree": views::tree(&tree) }))
        }
        _ => Err(missing()),
    }
}

/// `incidents/active`, `incidents/resolved`, `incidents/{id}` and its `updates`.
pub(super) async fn incidents(r: &PageRead<'_>, tail: &[&str]) -> Result<Value, ResourceError> {
    r.need(McpScope::IncidentsRead)?;
    let (s, who, page_id) = (r.services, r.who, r.page_id);
    match tail {
        ["active"] => {
            let list = s.active_incidents(who, page_id).await?;
            Ok(json!({ "incidents": list.iter().map(views::incident).collect::<Vec<_>>() }))
        }
        ["resolved"] => {
            let list = s.resolved_incidents(who, page_id, Some(r.limit()?)).await?;
            Ok(json!({ "incidents": list.iter().map(views::incident).collect::<Vec<_>>() }))
        }
        [id, rest @ ..] if rest.is_empty() || rest == ["updates"] => {
            let id = IncidentId::parse(id).ok_or_else(missing)?;
            let (incident, updates) = s.incident(who, &id, Some(r.limit()?)).await?;
            if incident.page_id != *page_id {
                return Err(missing());
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
        _ => Err(missing()),
    }
}

/// `analytics/summary?window_days=N` (30 unless given, at most 90).
pub(super) async fn analytics(r: &PageRead<'_>) -> Result<Value, ResourceError> {
    r.need(McpScope::AnalyticsRead)?;
    let days = query_number(r.query, "window_days", 30, 90)?;
    let summary = r
        .services
        .analytics_summary(r.who, r.page_id, Some(days))
        .await?;
    Ok(serde_json::to_value(summary).unwrap_or_default())
}

/// `beats`, `beat-groups`, `beats/pending-actions`, `beats/recent-failures`, `beats/{id}/recent-events`.
pub(super) async fn beats(r: &PageRead<'_>, tail: &[&str]) -> Result<Value, ResourceError> {
    r.need(McpScope::BeatsRead)?;
    let (s, who, page_id) = (r.services, r.who, r.page_id);
    match tail {
        ["beats"] => {
            let list = s.monitors(who, page_id).await?;
            Ok(json!({ "beats": list.iter().map(views::monitor).collect::<Vec<_>>() }))
        }
        ["beat-groups"] => {
            let groups = s.monitor_groups(who, page_id).await?;
            let groups: Vec<Value> = groups
                .iter()
                .map(|g| json!({ "group_id": g.id, "name": g.name }))
                .collect();
            Ok(json!({ "beat_groups": groups }))
        }
        ["beats", "pending-actions"] => {
            let page = s.page_for(who, page_id, Permission::MonitorManage).await?;
            let list = s
                .pending_actions(who, &page.id, Some(ActionState::Pending), Some(200))
                .await?;
            Ok(
                json!({ "pending_actions": list.iter().map(views::pending_action).collect::<Vec<_>>() }),
            )
        }
        ["beats", "recent-failures"] => {
            let list = s.recent_failures(who, page_id, Some(r.limit()?)).await?;
            Ok(json!({ "failures": list.iter().map(views::monitor_event).collect::<Vec<_>>() }))
        }
        ["beats", monitor_id, "recent-events"] => {
            let id = MonitorId::parse(monitor_id).ok_or_else(missing)?;
            let (m, events) = s.monitor(who, &id, Some(r.limit()?)).await?;
            if m.page_id != *page_id {
                return Err(missing());
            }
            Ok(
                json!({ "monitor": views::monitor(&m), "events": events.iter().map(views::monitor_event).collect::<Vec<_>>() }),
            )
        }
        _ => Err(missing()),
    }
}
