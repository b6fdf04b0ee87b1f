//! One type per tool: its arguments, and through `ToolArgs` its name.

use schemars::JsonSchema;
use serde::Deserialize;

use super::values::{
    Affected, Count, Id, Incidents, Instant, Limit, Maintenances, OpenStage, Stage, State,
};
use super::ToolArgs;
use crate::domain::Message;
use crate::ids::{ComponentId, IncidentId, MaintenanceId, PageId};

const NOTIFY: &str = "true queues an email/webhook to every confirmed subscriber; false notifies nobody. Required: ask the person if unsure.";
const DRAFT: &str = "true saves it unpublished: not public, no component status changed, nobody notified (notify must then be false). A person publishes or discards it in the admin pages; drafts take no updates.";
const AFFECTED: &str =
    "Components this update affects and the status each is now in (ids from get_page_summary).";

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListStatusPages {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPageSummary {
    pub page_id: Id<PageId>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBeats {
    pub page_id: Id<PageId>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListIncidents {
    pub page_id: Id<PageId>,
    #[schemars(extend("default" = "active"))]
    pub status: Option<Incidents>,
    pub limit: Option<Limit>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetIncident {
    pub page_id: Id<PageId>,
    pub incident_id: Id<IncidentId>,
    pub limit: Option<Limit>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMaintenances {
    pub page_id: Id<PageId>,
    #[schemars(extend("default" = "upcoming"))]
    pub filter: Option<Maintenances>,
    pub limit: Option<Limit>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetAnalyticsSummary {
    pub page_id: Id<PageId>,
    pub window_days: Option<Count<30, 90>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRecentBeatFailures {
    pub page_id: Id<PageId>,
    pub limit: Option<Limit>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub page_id: Id<PageId>,
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    pub stage: OpenStage,
    #[serde(deserialize_with = "super::values::message")]
    #[schemars(with = "String", length(min = 1, max = 5000))]
    pub message: Message,
    #[serde(default)]
    #[schemars(description = AFFECTED, length(max = 50))]
    pub affected_components: Vec<Affected>,
    #[schemars(description = NOTIFY)]
    pub notify: bool,
    #[schemars(description = DRAFT, extend("default" = false))]
    pub draft: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddIncidentUpdate {
    pub page_id: Id<PageId>,
    pub incident_id: Id<IncidentId>,
    pub stage: Stage,
    #[serde(deserialize_with = "super::values::message")]
    #[schemars(with = "String", length(min = 1, max = 5000))]
    pub message: Message,
    #[serde(default)]
    #[schemars(description = AFFECTED, length(max = 50))]
    pub affected_components: Vec<Affected>,
    #[schemars(description = NOTIFY)]
    pub notify: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleMaintenance {
    pub page_id: Id<PageId>,
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    pub starts_at: Instant,
    pub ends_at: Instant,
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub component_ids: Vec<Id<ComponentId>>,
    #[serde(deserialize_with = "super::values::message")]
    #[schemars(with = "String", length(min = 1, max = 5000))]
    pub message: Message,
    #[schemars(description = NOTIFY)]
    pub notify: bool,
    #[schemars(description = DRAFT, extend("default" = false))]
    pub draft: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMaintenanceUpdate {
    pub page_id: Id<PageId>,
    pub maintenance_id: Id<MaintenanceId>,
    pub state: State,
    #[serde(deserialize_with = "super::values::message")]
    #[schemars(with = "String", length(min = 1, max = 5000))]
    pub message: Message,
    #[schemars(description = NOTIFY)]
    pub notify: bool,
}

macro_rules! tool {
    ($($t:ty => $name:literal),* $(,)?) => {
        $(impl ToolArgs for $t {
            const TOOL: &'static str = $name;
        })*
    };
}

tool! {
    ListStatusPages => "list_status_pages",
    GetPageSummary => "get_page_summary",
    ListIncidents => "list_incidents",
    GetIncident => "get_incident",
    ListMaintenances => "list_maintenances",
    GetAnalyticsSummary => "get_analytics_summary",
    ListBeats => "list_beats",
    ListRecentBeatFailures => "list_recent_beat_failures",
    CreateIncident => "create_incident",
    AddIncidentUpdate => "add_incident_update",
    ScheduleMaintenance => "schedule_maintenance",
    AddMaintenanceUpdate => "add_maintenance_update",
}
