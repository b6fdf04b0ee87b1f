//! The public, machine-readable view of a status page: what the Statuspage-compatible JSON, the
//! Atom and RSS history and the maintenance calendar are built from. Anonymous and read-only: it
//! writes nothing (no page-view count, no session), and every list is bounded.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::{Result, Services};
use crate::domain::{
    Component, ComponentKind, ComponentStatus, Incident, IncidentUpdate, Maintenance,
    MaintenanceState, MaintenanceUpdate, Page,
};
use crate::ids::ComponentId;

/// How many incidents, and how many maintenance windows, a feed reaches back (open ones always
/// come on top of these).
pub const FEED_RECENT: i64 = 50;

/// The most updates read for one feed across its incidents (and again across its maintenances).
const FEED_UPDATES_CAP: i64 = 5_000;

/// A component with the times the public API reports and, for a group, its children.
#[derive(Clone, Debug)]
pub struct FeedComponent {
    pub component: Component,
    /// For a group, its worst child's status; for a component, its own.
    pub shown_status: ComponentStatus,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// A group's children, in display order; empty for a component.
    pub children: Vec<ComponentId>,
}

/// A published incident with its updates, oldest update first.
#[derive(Clone, Debug)]
pub struct FeedIncident {
    pub incident: Incident,
    pub created_at: OffsetDateTime,
    /// Each update with its `updated_at`, in the order they were posted.
    pub updates: Vec<(IncidentUpdate, OffsetDateTime)>,
}

/// Where a maintenance window stands at the moment the feed was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Scheduled and not yet started.
    Upcoming,
    /// Marked in progress, or scheduled and inside its window (the public page shows it as active).
    Active,
    /// Completed, cancelled, or scheduled with its window over.
    Past,
}

/// A published maintenance window with its updates, oldest first.
#[derive(Clone, Debug)]
pub struct FeedMaintenance {
    pub maintenance: Maintenance,
    pub created_at: OffsetDateTime,
    pub phase: Phase,
    pub updates: Vec<(MaintenanceUpdate, OffsetDateTime)>,
}

/// Everything the machine-readable representations of one public page need.
#[derive(Clone, Debug)]
pub struct PublicFeed {
    pub page: Page,
    /// The newest change in any of this data: the page, a component, an incident, a maintenance
    /// or an update. Feeds report it instead of the time of the request, so the same data gives
    /// the same bytes.
    pub updated_at: OffsetDateTime,
    /// The page's worst shown status.
    pub overall: ComponentStatus,
    /// Groups, each followed by its children, then loose components, in display order.
    pub components: Vec<FeedComponent>,
    /// Open incidents and the [`FEED_RECENT`] most recently started, newest start first.
    pub incidents: Vec<FeedIncident>,
    /// Open maintenances and the [`FEED_RECENT`] latest windows, latest window first.
    pub maintenances: Vec<FeedMaintenance>,
}

impl Services {
    /// The machine-readable view of a published page. An unpublished page or unknown slug is
    /// not found, exactly as for the HTML page.
    pub async fn public_feed(&self, public_slug: &str) -> Result<PublicFeed> {
        let page = self.published_page(public_slug).await?;
        let now = self.clock.now();
        let page_updated = self.store.page_updated_at(&page.id).await?;
        let stamped = self.store.stamped_components(&page.id).await?;
        let incidents = self.store.feed_incidents(&page.id, FEED_RECENT).await?;
        let incident_updates = self
            .store
            .feed_incident_updates(&page.id, FEED_RECENT, FEED_UPDATES_CAP)
            .await?;
        let maintenances = self.store.feed_maintenances(&page.id, FEED_RECENT).await?;
        let maintenance_updates = self
            .store
            .feed_maintenance_updates(&page.id, FEED_RECENT, FEED_UPDATES_CAP)
            .await?;

        let components = ordered_components(stamped);
        let overall = ComponentStatus::overall(
            components
                .iter()
                .filter(|c| c.component.parent_id.is_none())
                .map(|c| c.shown_status),
        );
        let incidents = with_incident_updates(incidents, incident_updates);
        let maintenances = with_maintenance_updates(maintenances, maintenance_updates, now);
        let updated_at = newest(&page_updated, &components, &incidents, &maintenances);
        Ok(PublicFeed {
            page,
            updated_at,
            overall,
            components,
            incidents,
            maintenances,
        })
    }
}

/// Puts each group's children right after it and works out each group's shown status.
fn ordered_components(
    stamped: Vec<(Component, OffsetDateTime, OffsetDateTime)>,
) -> Vec<FeedComponent> {
    let plain: Vec<Component> = stamped.iter().map(|(c, _, _)| c.clone()).collect();
    let stamps: HashMap<&str, (OffsetDateTime, OffsetDateTime)> = stamped
        .iter()
        .map(|(c, created, updated)| (c.id.as_str(), (*created, *updated)))
        .collect();
    let stamp = |c: &Component| {
        stamps
            .get(c.id.as_str())
            .copied()
            .unwrap_or((OffsetDateTime::UNIX_EPOCH, OffsetDateTime::UNIX_EPOCH))
    };
    let mut out = Vec::new();
    for node in super::pages::hierarchy(&plain) {
        let (created_at, own_updated) = stamp(&node.component);
        // A group changes whenever one of its children does.
        let updated_at = node
            .children
            .iter()
            .map(|k| stamp(k).1)
            .fold(own_updated, OffsetDateTime::max);
        out.push(FeedComponent {
            children: match node.component.kind {
                ComponentKind::Group => node.children.iter().map(|k| k.id.clone()).collect(),
                ComponentKind::Component => Vec::new(),
            },
            component: node.component,
            shown_status: node.shown_status,
            created_at,
            updated_at,
        });
        for k in node.children {
            let (created_at, updated_at) = stamp(&k);
            out.push(FeedComponent {
                shown_status: k.status,
                component: k,
                created_at,
                updated_at,
                children: Vec::new(),
            });
        }
    }
    out
}

/// Groups updates by what they update. The store answers newest first; feeds and the API read a
/// timeline oldest first.
fn oldest_first_by<U>(updates: Vec<U>, owner: impl Fn(&U) -> String) -> HashMap<String, Vec<U>> {
    let mut out: HashMap<String, Vec<U>> = HashMap::new();
    for u in updates.into_iter().rev() {
        out.entry(owner(&u)).or_default().push(u);
    }
    out
}

fn with_incident_updates(
    incidents: Vec<(Incident, OffsetDateTime)>,
    updates: Vec<(IncidentUpdate, OffsetDateTime)>,
) -> Vec<FeedIncident> {
    let mut by_incident = oldest_first_by(updates, |u| u.0.incident_id.to_string());
    incidents
        .into_iter()
        .map(|(incident, created_at)| FeedIncident {
            updates: by_incident.remove(incident.id.as_str()).unwrap_or_default(),
            incident,
            created_at,
        })
        .collect()
}

fn with_maintenance_updates(
    maintenances: Vec<(Maintenance, OffsetDateTime)>,
    updates: Vec<(MaintenanceUpdate, OffsetDateTime)>,
    now: OffsetDateTime,
) -> Vec<FeedMaintenance> {
    let mut by_maintenance = oldest_first_by(updates, |u| u.0.maintenance_id.to_string());
    maintenances
        .into_iter()
        .map(|(maintenance, created_at)| FeedMaintenance {
            phase: phase(&maintenance, now),
            updates: by_maintenance
                .remove(maintenance.id.as_str())
                .unwrap_or_default(),
            maintenance,
            created_at,
        })
        .collect()
}

/// The same split the public page and the store's active/upcoming filters make.
fn phase(m: &Maintenance, now: OffsetDateTime) -> Phase {
    match m.state {
        MaintenanceState::InProgress => Phase::Active,
        MaintenanceState::Scheduled if m.starts_at > now => Phase::Upcoming,
        MaintenanceState::Scheduled if m.ends_at > now => Phase::Active,
        _ => Phase::Past,
    }
}

fn newest(
    page: &OffsetDateTime,
    components: &[FeedComponent],
    incidents: &[FeedIncident],
    maintenances: &[FeedMaintenance],
) -> OffsetDateTime {
    let components = components.iter().map(|c| c.updated_at);
    let incidents = incidents.iter().flat_map(|i| {
        std::iter::once(i.incident.updated_at).chain(i.updates.iter().map(|(_, at)| *at))
    });
    let maintenances = maintenances.iter().flat_map(|m| {
        std::iter::once(m.maintenance.updated_at).chain(m.updates.iter().map(|(_, at)| *at))
    });
    components
        .chain(incidents)
        .chain(maintenances)
        .fold(*page, OffsetDateTime::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{MaintenanceId, PageId};
    use time::macros::datetime;

    #[test]
    fn a_window_is_upcoming_then_active_then_past_unless_marked() {
        let at = datetime!(2026-12-01 10:00 UTC);
        let mut m = Maintenance {
            id: MaintenanceId::generate(),
            page_id: PageId::generate(),
            title: "Resize".into(),
            state: MaintenanceState::Scheduled,
            starts_at: at,
            ends_at: at + time::Duration::hours(1),
            components: Vec::new(),
            updated_at: at,
            draft: None,
        };
        assert_eq!(phase(&m, at - time::Duration::minutes(1)), Phase::Upcoming);
        assert_eq!(phase(&m, at), Phase::Active);
        assert_eq!(phase(&m, at + time::Duration::hours(1)), Phase::Past);
        m.state = MaintenanceState::InProgress;
        assert_eq!(phase(&m, at + time::Duration::hours(5)), Phase::Active);
        m.state = MaintenanceState::Cancelled;
        assert_eq!(phase(&m, at), Phase::Past);
    }
}
