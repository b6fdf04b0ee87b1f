//! JSON shapes of domain records shared by the REST API and the MCP surface: ids, enums as their wire
//! names, RFC 3339 times.

use serde_json::{json, Value};

use crate::clock::rfc3339;
use crate::domain::{
    Component, Incident, IncidentUpdate, Maintenance, MaintenanceUpdate, Org, Page,
};
use crate::service::pages::ComponentNode;

pub fn page(org: &Org, p: &Page, base: &str) -> Value {
    json!({
        "page_id": p.id,
        "name": p.name,
        "slug": p.slug,
        "organisation": org.slug,
        "public_url": format!("{base}/status/{}", p.public_slug),
    })
}

pub fn component(c: &Component) -> Value {
    json!({ "component_id": c.id, "name": c.name, "kind": c.kind.as_str(), "status": c.status.as_str() })
}

pub fn tree(nodes: &[ComponentNode]) -> Value {
    Value::Array(
        nodes
            .iter()
            .map(|n| {
                let mut v = component(&n.component);
                v["status"] = json!(n.shown_status.as_str());
                v["children"] = Value::Array(n.children.iter().map(component).collect());
                v
            })
            .collect(),
    )
}

pub fn incident(i: &Incident) -> Value {
    json!({
        "incident_id": i.id,
        "page_id": i.page_id,
        "title": i.title,
        "stage": i.stage.as_str(),
        "started_at": rfc3339(i.started_at),
        "resolved_at": i.resolved_at.map(rfc3339),
        "updated_at": rfc3339(i.updated_at),
        "draft": i.draft.is_some(),
    })
}

pub fn incident_update(u: &IncidentUpdate) -> Value {
    json!({
        "update_id": u.id,
        "stage": u.stage.as_str(),
        "message": u.message,
        "notify": u.notify,
        "created_at": rfc3339(u.created_at),
        "affected_components": u.affected.iter()
            .map(|(c, s)| json!({ "component_id": c, "status": s.as_str() }))
            .collect::<Vec<_>>(),
    })
}

pub fn maintenance(m: &Maintenance) -> Value {
    json!({
        "maintenance_id": m.id,
        "page_id": m.page_id,
        "title": m.title,
        "state": m.state.as_str(),
        "starts_at": rfc3339(m.starts_at),
        "ends_at": rfc3339(m.ends_at),
        "component_ids": m.components,
        "draft": m.draft.is_some(),
    })
}

pub fn maintenance_update(u: &MaintenanceUpdate) -> Value {
    json!({
        "update_id": u.id,
        "state": u.state.as_str(),
        "message": u.message,
        "notify": u.notify,
        "created_at": rfc3339(u.created_at),
    })
}

/// What a create tool did: published or saved as a draft, and how many subscribers it queued.
pub fn outcome(v: &mut Value, what: &str, draft: bool, queued: i64) {
    let summary = if draft {
        format!(
            "Saved the {what} as a draft: it is not public, no component status changed and nobody was \
             notified (0 subscribers queued). A person must publish it in the statusgate admin pages."
        )
    } else {
        format!("Published the {what}; {queued} subscriber notification(s) queued.")
    };
    v["published"] = json!(!draft);
    v["draft"] = json!(draft);
    v["subscribers_queued"] = json!(queued);
    v["subscribers_notified"] = json!(queued);
    v["summary"] = json!(summary);
}

pub fn monitor(m: &crate::domain::monitor::Monitor) -> Value {
    json!({
        "monitor_id": m.id,
        "name": m.spec.name,
        "method": m.spec.method.as_str(),
        "url": m.spec.url,
        "expected_status": [m.spec.expect_min, m.spec.expect_max],
        "interval_secs": m.spec.interval_secs,
        "enabled": m.spec.enabled,
        "component_id": m.spec.component_id,
        "group_id": m.spec.group_id,
        "last_ok": m.last_ok,
        "consecutive_failures": m.consecutive_failures,
        "next_run_at": rfc3339(m.next_run_at),
    })
}

pub fn monitor_event(e: &crate::domain::monitor::MonitorEvent) -> Value {
    json!({
        "event_id": e.id,
        "monitor_id": e.monitor_id,
        "checked_at": rfc3339(e.checked_at),
        "ok": e.ok,
        "latency_ms": e.latency_ms,
        "status_code": e.status_code,
        "error": e.error,
        "trigger": e.trigger.as_str(),
    })
}

pub fn pending_action(a: &crate::domain::monitor::PendingAction) -> Value {
    json!({
        "action_id": a.id,
        "monitor_id": a.monitor_id,
        "component_id": a.component_id,
        "kind": a.kind.as_str(),
        "status": a.status.as_str(),
        "reason": a.reason,
        "state": a.state.as_str(),
        "created_at": rfc3339(a.created_at),
    })
}
