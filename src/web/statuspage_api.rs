//! A public page in the shape of Atlassian Statuspage's public API v2 (`/api/v2/summary.json` and
//! friends), so monitoring tools, chat bots and agents that read Statuspage read statusgate unchanged.
//! How our statuses map onto theirs is documented in README.md ("Machine-readable status").

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::feeds::{incident_link, json_time, maintenance_link, page_link, public_handler, Built};
use super::WebError;
use crate::app::AppState;
use crate::config::Config;
use crate::domain::{ComponentStatus, IncidentStage, MaintenanceState};
use crate::service::public_feed::{
    FeedComponent, FeedIncident, FeedMaintenance, Phase, PublicFeed,
};
use crate::service::Services;

#[derive(Serialize)]
struct PageV2 {
    id: String,
    name: String,
    url: String,
    time_zone: String,
    updated_at: String,
}

#[derive(Serialize)]
struct ComponentV2 {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    position: i64,
    description: Option<String>,
    showcase: bool,
    start_date: Option<String>,
    group_id: Option<String>,
    page_id: String,
    group: bool,
    only_show_if_degraded: bool,
    /// A group's children, by id; only groups carry it.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<String>>,
}

#[derive(Serialize)]
struct AffectedV2 {
    code: String,
    name: String,
    old_status: &'static str,
    new_status: &'static str,
}

#[derive(Serialize)]
struct UpdateV2 {
    id: String,
    status: &'static str,
    body: String,
    incident_id: String,
    created_at: String,
    updated_at: String,
    display_at: String,
    /// Statuspage leaves it out of an update that changed no component.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    affected_components: Vec<AffectedV2>,
}

#[derive(Serialize)]
struct ScheduleV2 {
    scheduled_for: String,
    scheduled_until: String,
}

#[derive(Serialize)]
struct IncidentV2 {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: &'static str,
    shortlink: String,
    started_at: String,
    page_id: String,
    incident_updates: Vec<UpdateV2>,
    components: Vec<ComponentV2>,
    /// Only scheduled maintenances carry their window.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    schedule: Option<ScheduleV2>,
}

#[derive(Serialize)]
struct StatusV2 {
    indicator: &'static str,
    description: &'static str,
}

/// One document: `page` always, the other parts as the endpoint has them.
#[derive(Serialize)]
struct Document {
    page: PageV2,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<ComponentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incidents: Option<Vec<IncidentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_maintenances: Option<Vec<IncidentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusV2>,
}

/// Statuspage's incident impact and page indicator, in rising order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    fn of(s: ComponentStatus) -> Self {
        match s {
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Self::None,
            ComponentStatus::DegradedPerformance => Self::Minor,
            ComponentStatus::PartialOutage => Self::Major,
            ComponentStatus::MajorOutage => Self::Critical,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minor => "minor",
            Self::Major => "major",
            Self::Critical => "critical",
        }
    }
}

/// An incident's impact is the worst status any of its updates gave a component (it stays after
/// the incident resolves, as Statuspage's does).
fn incident_impact(i: &FeedIncident) -> Impact {
    i.updates
        .iter()
        .flat_map(|(u, _)| u.affected.iter().map(|(_, s)| Impact::of(*s)))
        .max()
        .unwrap_or(Impact::None)
}

/// The page indicator: the worst of the components' shown statuses and the open incidents' impacts.
fn status(feed: &PublicFeed) -> StatusV2 {
    let open = feed
        .incidents
        .iter()
        .filter(|i| i.incident.stage.is_open())
        .map(incident_impact);
    let indicator = open
        .chain(std::iter::once(Impact::of(feed.overall)))
        .max()
        .unwrap_or(Impact::None);
    let description = match indicator {
        Impact::None if feed.overall == ComponentStatus::UnderMaintenance => {
            "Service Under Maintenance"
        }
        Impact::None => "All Systems Operational",
        Impact::Minor => "Minor Service Outage",
        Impact::Major => "Partial System Outage",
        Impact::Critical => "Major System Outage",
    };
    StatusV2 {
        indicator: indicator.as_str(),
        description,
    }
}

fn maintenance_status(state: MaintenanceState, phase: Phase) -> &'static str {
    match state {
        MaintenanceState::Scheduled if phase == Phase::Active => "in_progress",
        MaintenanceState::Scheduled => "scheduled",
        MaintenanceState::InProgress => "in_progress",
        MaintenanceState::Completed | MaintenanceState::Cancelled => "completed",
    }
}

/// Turns a [`PublicFeed`] into Statuspage's objects; links use the configured public URL.
struct Render<'a> {
    feed: &'a PublicFeed,
    public_url: &'a str,
}

impl Render<'_> {
    fn page(&self) -> PageV2 {
        let p = &self.feed.page;
        PageV2 {
            id: p.id.to_string(),
            name: p.name.clone(),
            url: page_link(self.public_url, &p.public_slug),
            time_zone: p.time_zone.clone(),
            updated_at: json_time(self.feed.updated_at),
        }
    }

    fn component(&self, c: &FeedComponent) -> ComponentV2 {
        let group = c.component.kind == crate::domain::ComponentKind::Group;
        ComponentV2 {
            id: c.component.id.to_string(),
            name: c.component.name.clone(),
            status: c.shown_status.as_str(),
            created_at: json_time(c.created_at),
            updated_at: json_time(c.updated_at),
            position: c.component.position,
            description: Some(c.component.description.clone()).filter(|d| !d.is_empty()),
            showcase: true,
            start_date: None,
            group_id: c.component.parent_id.as_ref().map(|p| p.to_string()),
            page_id: self.feed.page.id.to_string(),
            group,
            only_show_if_degraded: false,
            components: group.then(|| c.children.iter().map(|k| k.to_string()).collect()),
        }
    }

    fn components(&self) -> Vec<ComponentV2> {
        self.feed
            .components
            .iter()
            .map(|c| self.component(c))
            .collect()
    }

    /// The named components, in display order.
    fn components_named(&self, ids: &[&str]) -> Vec<ComponentV2> {
        self.feed
            .components
            .iter()
            .filter(|c| ids.contains(&c.component.id.as_str()))
            .map(|c| self.component(c))
            .collect()
    }

    fn component_name(&self, id: &str) -> String {
        self.feed
            .components
            .iter()
            .find(|c| c.component.id.as_str() == id)
            .map(|c| c.component.name.clone())
            .unwrap_or_default()
    }

    fn incident(&self, i: &FeedIncident) -> IncidentV2 {
        let mut last: Vec<(String, ComponentStatus)> = Vec::new();
        let mut updates = Vec::new();
        for (u, updated) in &i.updates {
            let mut affected = Vec::new();
            for (c, new) in &u.affected {
                let before = last.iter().position(|(id, _)| id == c.as_str());
                let old = before
                    .and_then(|n| last.get(n))
                    .map_or(ComponentStatus::Operational, |(_, s)| *s);
                match before.and_then(|n| last.get_mut(n)) {
                    Some(entry) => entry.1 = *new,
                    None => last.push((c.to_string(), *new)),
                }
                affected.push(AffectedV2 {
                    code: c.to_string(),
                    name: self.component_name(c.as_str()),
                    old_status: old.as_str(),
                    new_status: new.as_str(),
                });
            }
            updates.push(UpdateV2 {
                id: u.id.to_string(),
                status: u.stage.as_str(),
                body: u.message.clone(),
                incident_id: i.incident.id.to_string(),
                created_at: json_time(u.created_at),
                updated_at: json_time(*updated),
                display_at: json_time(u.created_at),
                affected_components: affected,
            });
        }
        // Statuspage lists the newest update first.
        updates.reverse();
        let ids: Vec<&str> = last.iter().map(|(id, _)| id.as_str()).collect();
        let monitoring_at = i
            .updates
            .iter()
            .find(|(u, _)| u.stage == IncidentStage::Monitoring)
            .map(|(u, _)| json_time(u.created_at));
        let slug = &self.feed.page.public_slug;
        IncidentV2 {
            id: i.incident.id.to_string(),
            name: i.incident.title.clone(),
            status: i.incident.stage.as_str(),
            created_at: json_time(i.created_at),
            updated_at: json_time(i.incident.updated_at),
            monitoring_at,
            resolved_at: i.incident.resolved_at.map(json_time),
            impact: incident_impact(i).as_str(),
            shortlink: incident_link(self.public_url, slug, i.incident.id.as_str()),
            started_at: json_time(i.incident.started_at),
            page_id: self.feed.page.id.to_string(),
            incident_updates: updates,
            components: self.components_named(&ids),
            schedule: None,
        }
    }

    fn maintenance(&self, m: &FeedMaintenance) -> IncidentV2 {
        let mm = &m.maintenance;
        let mut updates: Vec<UpdateV2> = m
            .updates
            .iter()
            .map(|(u, updated)| UpdateV2 {
                id: u.id.to_string(),
                status: maintenance_status(u.state, Phase::Past),
                body: u.message.clone(),
                incident_id: mm.id.to_string(),
                created_at: json_time(u.created_at),
                updated_at: json_time(*updated),
                display_at: json_time(u.created_at),
                affected_components: Vec::new(),
            })
            .collect();
        updates.reverse();
        let ids: Vec<&str> = mm.components.iter().map(|c| c.as_str()).collect();
        let slug = &self.feed.page.public_slug;
        IncidentV2 {
            id: mm.id.to_string(),
            name: mm.title.clone(),
            status: maintenance_status(mm.state, m.phase),
            created_at: json_time(m.created_at),
            updated_at: json_time(mm.updated_at),
            monitoring_at: None,
            resolved_at: (mm.state == MaintenanceState::Completed).then(|| {
                let done = m.updates.iter().rev().find(|(u, _)| u.state == mm.state);
                json_time(done.map_or(mm.updated_at, |(u, _)| u.created_at))
            }),
            impact: "maintenance",
            shortlink: maintenance_link(self.public_url, slug, mm.id.as_str()),
            started_at: json_time(mm.starts_at),
            page_id: self.feed.page.id.to_string(),
            incident_updates: updates,
            components: self.components_named(&ids),
            schedule: Some(ScheduleV2 {
                scheduled_for: json_time(mm.starts_at),
                scheduled_until: json_time(mm.ends_at),
            }),
        }
    }

    fn incidents(&self, open_only: bool) -> Vec<IncidentV2> {
        let recent = usize::try_from(crate::service::public_feed::FEED_RECENT).unwrap_or(50);
        self.feed
            .incidents
            .iter()
            .filter(|i| !open_only || i.incident.stage.is_open())
            .take(if open_only { usize::MAX } else { recent })
            .map(|i| self.incident(i))
            .collect()
    }

    /// Maintenances in `phases`; a cancelled one is left out, as Statuspage has no such state.
    fn maintenances(&self, phases: &[Phase]) -> Vec<IncidentV2> {
        let recent = usize::try_from(crate::service::public_feed::FEED_RECENT).unwrap_or(50);
        self.feed
            .maintenances
            .iter()
            .filter(|m| m.maintenance.state != MaintenanceState::Cancelled)
            .filter(|m| phases.contains(&m.phase))
            .take(recent)
            .map(|m| self.maintenance(m))
            .collect()
    }
}

/// The endpoints, each a view of the same feed.
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Summary,
    Status,
    Components,
    Incidents,
    Unresolved,
    Maintenances,
    Upcoming,
    Active,
}

async fn build(
    services: &Services,
    public_url: &str,
    slug: &str,
    what: Endpoint,
) -> Result<Built, WebError> {
    let feed = services.public_feed(slug).await?;
    let r = Render {
        feed: &feed,
        public_url: public_url.trim_end_matches('/'),
    };
    let all = [Phase::Upcoming, Phase::Active, Phase::Past];
    let mut doc = Document {
        page: r.page(),
        components: None,
        incidents: None,
        scheduled_maintenances: None,
        status: None,
    };
    match what {
        Endpoint::Summary => {
            doc.components = Some(r.components());
            doc.incidents = Some(r.incidents(true));
            doc.scheduled_maintenances = Some(r.maintenances(&[Phase::Upcoming, Phase::Active]));
            doc.status = Some(status(&feed));
        }
        Endpoint::Status => doc.status = Some(status(&feed)),
        Endpoint::Components => doc.components = Some(r.components()),
        Endpoint::Incidents => doc.incidents = Some(r.incidents(false)),
        Endpoint::Unresolved => doc.incidents = Some(r.incidents(true)),
        Endpoint::Maintenances => doc.scheduled_maintenances = Some(r.maintenances(&all)),
        Endpoint::Upcoming => doc.scheduled_maintenances = Some(r.maintenances(&[Phase::Upcoming])),
        Endpoint::Active => doc.scheduled_maintenances = Some(r.maintenances(&[Phase::Active])),
    }
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| {
        tracing::error!(error = %e, "statuspage json");
        WebError::Internal
    })?;
    Ok(Built {
        content_type: "application/json",
        body,
    })
}

/// Defines `build_<name>` for one endpoint and its thin handler `<name>`.
macro_rules! endpoint {
    ($build:ident, $handler:ident, $what:expr) => {
        pub(super) async fn $build(
            services: &Services,
            public_url: &str,
            slug: &str,
        ) -> Result<Built, WebError> {
            build(services, public_url, slug, $what).await
        }

        public_handler!($handler, $build);
    };
}

endpoint!(build_summary, summary, Endpoint::Summary);
endpoint!(build_status, status_json, Endpoint::Status);
endpoint!(build_components, components, Endpoint::Components);
endpoint!(build_incidents, incidents, Endpoint::Incidents);
endpoint!(build_unresolved, unresolved, Endpoint::Unresolved);
endpoint!(build_maintenances, maintenances, Endpoint::Maintenances);
endpoint!(build_upcoming, upcoming, Endpoint::Upcoming);
endpoint!(build_active, active, Endpoint::Active);

pub fn router() -> Router<AppState> {
    const V2: &str = "/status/{public_slug}/api/v2";
    Router::new()
        .route(&format!("{V2}/summary.json"), get(summary))
        .route("/status/{public_slug}/summary.json", get(summary))
        .route(&format!("{V2}/status.json"), get(status_json))
        .route(&format!("{V2}/components.json"), get(components))
        .route(&format!("{V2}/incidents.json"), get(incidents))
        .route(&format!("{V2}/incidents/unresolved.json"), get(unresolved))
        .route(
            &format!("{V2}/scheduled-maintenances.json"),
            get(maintenances),
        )
        .route(
            &format!("{V2}/scheduled-maintenances/upcoming.json"),
            get(upcoming),
        )
        .route(
            &format!("{V2}/scheduled-maintenances/active.json"),
            get(active),
        )
        // Public data without credentials: widgets on other sites may read it, as they read
        // Statuspage's own.
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([axum::http::Method::GET]),
        )
}
