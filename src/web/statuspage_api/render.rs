//! Statuspage v2 objects from a [`PublicFeed`], and how statusgate's states map onto theirs (the
//! table in README.md, "Machine-readable status, feeds and calendar").

use serde::Serialize;

use crate::domain::{ComponentStatus, Impact, IncidentStage, MaintenanceState, PageStatus};
use crate::service::public_feed::{
    FeedComponent, FeedIncident, FeedMaintenance, Phase, PublicFeed,
};
use crate::web::feeds::{incident_link, json_time, maintenance_link, page_link};

#[derive(Serialize)]
pub(super) struct PageV2 {
    id: String,
    name: String,
    url: String,
    time_zone: String,
    updated_at: String,
}

#[derive(Serialize)]
pub(super) struct ComponentV2 {
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
pub(super) struct AffectedV2 {
    code: String,
    name: String,
    old_status: &'static str,
    new_status: &'static str,
}

#[derive(Serialize)]
pub(super) struct UpdateV2 {
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
pub(super) struct ScheduleV2 {
    scheduled_for: String,
    scheduled_until: String,
}

#[derive(Serialize)]
pub(super) struct IncidentV2 {
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
pub(super) struct StatusV2 {
    indicator: &'static str,
    description: &'static str,
}

/// An incident's impact is the worst status any of its updates gave a component.
fn incident_impact(i: &FeedIncident) -> Impact {
    Impact::of_incident(
        i.updates
            .iter()
            .flat_map(|(u, _)| u.affected.iter().map(|(_, s)| *s)),
    )
}

/// The page indicator and its sentence, as the HTML banner says it (`PageStatus::of`).
pub(super) fn status(feed: &PublicFeed) -> StatusV2 {
    let open = feed
        .incidents
        .iter()
        .filter(|i| i.incident.stage.is_open())
        .map(incident_impact);
    let s = PageStatus::of(feed.overall, open);
    StatusV2 {
        indicator: s.indicator.as_str(),
        description: s.description,
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
pub(super) struct Render<'a> {
    pub(super) feed: &'a PublicFeed,
    pub(super) public_url: &'a str,
}

impl Render<'_> {
    pub(super) fn page(&self) -> PageV2 {
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

    pub(super) fn components(&self) -> Vec<ComponentV2> {
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

    pub(super) fn incidents(&self, open_only: bool) -> Vec<IncidentV2> {
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
    pub(super) fn maintenances(&self, phases: &[Phase]) -> Vec<IncidentV2> {
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
