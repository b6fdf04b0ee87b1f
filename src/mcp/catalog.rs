//! The hosted tool set: names, descriptions for the model, JSON schemas, annotations, and the scope each
//! needs. Each input schema is generated from the type the call's arguments are parsed into
//! (`super::tool_args`). Write tools need an explicit `page_id` and a `notify` choice with no default.

use serde_json::{json, Value};

use super::scope::McpScope;
use super::tool_args::*;

pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub scope: McpScope,
    pub input: fn() -> Value,
    pub output: fn() -> Value,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

impl ToolSpec {
    /// The tool as `tools/list` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "title": self.title,
            "description": describe(self),
            "inputSchema": (self.input)(),
            "outputSchema": (self.output)(),
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": false,
            },
        })
    }
}

const PAGE_FIRST: &str = " Call list_status_pages first to find the page_id; never guess it.";

fn any_object() -> Value {
    json!({ "type": "object" })
}

fn list_of(key: &str) -> Value {
    json!({ "type": "object", "properties": { key: { "type": "array", "items": { "type": "object" } } }, "required": [key] })
}

pub static TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: ListStatusPages::TOOL,
        title: "List status pages",
        description: "Lists the status pages you can see, with their ids, organisation and overall status. Start here: every other tool needs a page_id from this list.",
        scope: McpScope::PagesRead,
        input: schema::<ListStatusPages>,
        output: || list_of("pages"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: GetPageSummary::TOOL,
        title: "Get page summary",
        description: "Overall status, components (with ids and statuses), active incidents and upcoming maintenance of one page.",
        scope: McpScope::PagesRead,
        input: schema::<GetPageSummary>,
        output: any_object,
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: ListIncidents::TOOL,
        title: "List incidents",
        description: "Active (default) or resolved incidents of a page, newest first; draft lists unpublished drafts.",
        scope: McpScope::IncidentsRead,
        input: schema::<ListIncidents>,
        output: || list_of("incidents"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: GetIncident::TOOL,
        title: "Get incident",
        description: "One incident with its updates (newest first) and the components each update affected.",
        scope: McpScope::IncidentsRead,
        input: schema::<GetIncident>,
        output: any_object,
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: ListMaintenances::TOOL,
        title: "List maintenances",
        description: "Maintenance windows of a page: active, upcoming (default), past, scheduled, or unpublished drafts.",
        scope: McpScope::MaintenancesRead,
        input: schema::<ListMaintenances>,
        output: || list_of("maintenances"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: GetAnalyticsSummary::TOOL,
        title: "Get analytics summary",
        description: "Uptime per component and monitor, incident count, mean time to resolve, maintenance minutes and page views over the last window_days (default 30, at most 90).",
        scope: McpScope::AnalyticsRead,
        input: schema::<GetAnalyticsSummary>,
        output: any_object,
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: ListBeats::TOOL,
        title: "List beats",
        description: "The page's synthetic HTTP monitors (beats) with their last result and failure streak.",
        scope: McpScope::BeatsRead,
        input: schema::<ListBeats>,
        output: || list_of("beats"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: ListRecentBeatFailures::TOOL,
        title: "List recent beat failures",
        description: "Failed monitor runs across the page, newest first, with status code, latency and error.",
        scope: McpScope::BeatsRead,
        input: schema::<ListRecentBeatFailures>,
        output: || list_of("failures"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: CreateIncident::TOOL,
        title: "Create incident",
        description: "Opens an incident on a status page with its first update. It is public at once, unless draft is true: then it is saved unpublished for a person to review, publish (choosing then whether to notify) or discard in the admin pages.",
        scope: McpScope::IncidentsWrite,
        input: schema::<CreateIncident>,
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
    ToolSpec {
        name: AddIncidentUpdate::TOOL,
        title: "Add incident update",
        description: "Posts an update to an open incident; stage resolved resolves it. Drafts take no updates until a person publishes them.",
        scope: McpScope::IncidentsWrite,
        input: schema::<AddIncidentUpdate>,
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
    ToolSpec {
        name: ScheduleMaintenance::TOOL,
        title: "Schedule maintenance",
        description: "Schedules a maintenance window (RFC 3339 times, at most 14 days long, ending in the future). With draft true it is saved unpublished for a person to publish or discard.",
        scope: McpScope::MaintenancesWrite,
        input: schema::<ScheduleMaintenance>,
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
    ToolSpec {
        name: AddMaintenanceUpdate::TOOL,
        title: "Add maintenance update",
        description: "Posts an update to a maintenance and may move it: scheduled, in_progress, completed or cancelled. Drafts take no updates until a person publishes them.",
        scope: McpScope::MaintenancesWrite,
        input: schema::<AddMaintenanceUpdate>,
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
];

pub fn tool(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

/// The tools a set of scopes unlocks, for the consent page.
pub fn tools_for(scopes: &[McpScope]) -> impl Iterator<Item = &'static ToolSpec> + '_ {
    TOOLS.iter().filter(|t| scopes.contains(&t.scope))
}

/// Appended to page-bound tool descriptions.
pub fn describe(t: &ToolSpec) -> String {
    if t.name == "list_status_pages" {
        t.description.to_owned()
    } else {
        format!("{}{PAGE_FIRST}", t.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_tools_require_page_and_notify_without_default() {
        for t in TOOLS.iter().filter(|t| t.scope.is_write()) {
            let schema = (t.input)();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            assert!(
                required.contains(&"page_id") && required.contains(&"notify"),
                "{}",
                t.name
            );
            assert!(
                schema["properties"]["notify"].get("default").is_none(),
                "{}",
                t.name
            );
            assert!(!t.read_only);
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, t) in TOOLS.iter().enumerate() {
            assert!(TOOLS[..i].iter().all(|o| o.name != t.name), "{}", t.name);
        }
    }
}
