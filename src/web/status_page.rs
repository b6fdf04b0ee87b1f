//! The public status page: readable without JavaScript, on a phone and a desktop.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{render, WebError};
use crate::clock::rfc3339;
use crate::domain::{ComponentStatus, IncidentUpdate};
use crate::service::Services;

pub struct ComponentView {
    pub name: String,
    pub status_class: &'static str,
    pub status_label: &'static str,
    pub children: Vec<ComponentView>,
}

pub struct UpdateView {
    pub stage: &'static str,
    pub message: String,
    pub at: String,
}

pub struct IncidentView {
    pub title: String,
    pub stage: &'static str,
    pub started: String,
    pub resolved: Option<String>,
    pub updates: Vec<UpdateView>,
}

pub struct MaintenanceView {
    pub title: String,
    pub state: &'static str,
    pub window: String,
}

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    name: String,
    overall_class: &'static str,
    overall_label: &'static str,
    components: Vec<ComponentView>,
    active: Vec<IncidentView>,
    maintenances: Vec<MaintenanceView>,
    history: Vec<IncidentView>,
}

pub fn status_class(s: ComponentStatus) -> &'static str {
    s.as_str()
}

/// "2026-11-22 14:05 UTC": unambiguous without JavaScript to localise it.
pub fn human_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&f).unwrap_or_else(|_| rfc3339(t))
}

fn updates_view(updates: &[IncidentUpdate]) -> Vec<UpdateView> {
    updates
        .iter()
        .map(|u| UpdateView {
            stage: u.stage.label(),
            message: u.message.clone(),
            at: human_time(u.created_at),
        })
        .collect()
}

pub async fn show(
    State(services): State<Services>,
    Path(slug): Path<String>,
) -> Result<Response, WebError> {
    let p = services.public_page(&slug).await?;
    let components = p
        .tree
        .iter()
        .map(|n| ComponentView {
            name: n.component.name.clone(),
            status_class: status_class(n.shown_status),
            status_label: n.shown_status.label(),
            children: n
                .children
                .iter()
                .map(|c| ComponentView {
                    name: c.name.clone(),
                    status_class: status_class(c.status),
                    status_label: c.status.label(),
                    children: Vec::new(),
                })
                .collect(),
        })
        .collect();
    let incident_view = |(i, u): &(crate::domain::Incident, Vec<IncidentUpdate>)| IncidentView {
        title: i.title.clone(),
        stage: i.stage.label(),
        started: human_time(i.started_at),
        resolved: i.resolved_at.map(human_time),
        updates: updates_view(u),
    };
    let page = StatusPage {
        name: p.page.name.clone(),
        overall_class: status_class(p.overall),
        overall_label: match p.overall {
            ComponentStatus::Operational => "All systems operational",
            ComponentStatus::UnderMaintenance => "Maintenance in progress",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        },
        components,
        active: p.active.iter().map(incident_view).collect(),
        maintenances: p
            .maintenances
            .iter()
            .map(|m| MaintenanceView {
                title: m.title.clone(),
                state: m.state.label(),
                window: format!("{} to {}", human_time(m.starts_at), human_time(m.ends_at)),
            })
            .collect(),
        history: p.history.iter().map(incident_view).collect(),
    };
    Ok(render(&page))
}
