//! JSON shapes of domain records as the assistant sees them: ids, enums as their wire names, RFC 3339 times.

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
