//! The hosted tool set: names, descriptions for the model, JSON schemas, annotations, and the scope each
//! needs. Write tools need an explicit `page_id` and a `notify` choice with no default.

use serde_json::{json, Value};

use super::scope::McpScope;

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

fn page_id() -> Value {
    json!({ "type": "string", "description": "Status page id from list_status_pages, e.g. pg_1a2b…" })
}

fn limit() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": 200, "default": 20 })
}

pub(crate) fn notify() -> Value {
    json!({
        "type": "boolean",
        "description": "true queues an email/webhook to every confirmed subscriber; false notifies nobody. Required: ask the person if unsure."
    })
}

fn draft() -> Value {
    json!({
        "type": "boolean", "default": false,
        "description": "true saves it unpublished: not public, no component status changed, nobody notified (notify must then be false). A person publishes or discards it in the admin pages; drafts take no updates.",
    })
}

pub(crate) fn object(props: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false })
}

pub(crate) fn open_stages() -> Value {
    json!({ "type": "string", "enum": ["investigating", "identified", "monitoring"] })
}

pub(crate) fn statuses() -> Value {
    json!({ "type": "string", "enum": ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"] })
}

pub(crate) fn affected() -> Value {
    json!({
        "type": "array", "maxItems": 50,
        "description": "Components this update affects and the status each is now in (ids from get_page_summary).",
        "items": object(json!({ "component_id": { "type": "string" }, "status": statuses() }), &["component_id", "status"]),
    })
}

fn any_object() -> Value {
    json!({ "type": "object" })
}

fn list_of(key: &str) -> Value {
    json!({ "type": "object", "properties": { key: { "type": "array", "items": { "type": "object" } } }, "required": [key] })
}

pub static TOOLS: &[ToolSpec] = &[
    ToolSpec {
        name: "list_status_pages",
        title: "List status pages",
        description: "Lists the status pages you can see, with their ids, organisation and overall status. Start here: every other tool needs a page_id from this list.",
        scope: McpScope::PagesRead,
        input: || object(json!({}), &[]),
        output: || list_of("pages"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "get_page_summary",
        title: "Get page summary",
        description: "Overall status, components (with ids and statuses), active incidents and upcoming maintenance of one page.",
        scope: McpScope::PagesRead,
        input: || object(json!({ "page_id": page_id() }), &["page_id"]),
        output: any_object,
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "list_incidents",
        title: "List incidents",
        description: "Active (default) or resolved incidents of a page, newest first; draft lists unpublished drafts.",
        scope: McpScope::IncidentsRead,
        input: || object(json!({
            "page_id": page_id(),
            "status": { "type": "string", "enum": ["active", "resolved", "draft"], "default": "active" },
            "limit": limit(),
        }), &["page_id"]),
        output: || list_of("incidents"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "get_incident",
        title: "Get incident",
        description: "One incident with its updates (newest first) and the components each update affected.",
        scope: McpScope::IncidentsRead,
        input: || object(json!({ "page_id": page_id(), "incident_id": { "type": "string" }, "limit": limit() }), &["page_id", "incident_id"]),
        output: any_object,
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "list_maintenances",
        title: "List maintenances",
        description: "Maintenance windows of a page: active, upcoming (default), past, scheduled, or unpublished drafts.",
        scope: McpScope::MaintenancesRead,
        input: || object(json!({
            "page_id": page_id(),
            "filter": { "type": "string", "enum": ["active", "upcoming", "past", "scheduled", "draft"], "default": "upcoming" },
            "limit": limit(),
        }), &["page_id"]),
        output: || list_of("maintenances"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "get_analytics_summary",
        title: "Get analytics summary",
        description: "Uptime per component and monitor, incident count, mean time to resolve, maintenance minutes and page views over the last window_days (default 30, at most 90).",
        scope: McpScope::AnalyticsRead,
        input: || object(json!({ "page_id": page_id(), "window_days": { "type": "integer", "minimum": 1, "maximum": 90, "default": 30 } }), &["page_id"]),
        output: any_object,
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "list_beats",
        title: "List beats",
        description: "The page's synthetic HTTP monitors (beats) with their last result and failure streak.",
        scope: McpScope::BeatsRead,
        input: || object(json!({ "page_id": page_id() }), &["page_id"]),
        output: || list_of("beats"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "list_recent_beat_failures",
        title: "List recent beat failures",
        description: "Failed monitor runs across the page, newest first, with status code, latency and error.",
        scope: McpScope::BeatsRead,
        input: || object(json!({ "page_id": page_id(), "limit": limit() }), &["page_id"]),
        output: || list_of("failures"),
        read_only: true, destructive: false, idempotent: true,
    },
    ToolSpec {
        name: "create_incident",
        title: "Create incident",
        description: "Opens an incident on a status page with its first update. It is public at once, unless draft is true: then it is saved unpublished for a person to review, publish (choosing then whether to notify) or discard in the admin pages.",
        scope: McpScope::IncidentsWrite,
        input: || object(json!({
            "page_id": page_id(),
            "title": { "type": "string", "minLength": 1, "maxLength": 200 },
            "stage": open_stages(),
            "message": { "type": "string", "minLength": 1, "maxLength": 5000 },
            "affected_components": affected(),
            "notify": notify(),
            "draft": draft(),
        }), &["page_id", "title", "stage", "message", "notify"]),
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
    ToolSpec {
        name: "add_incident_update",
        title: "Add incident update",
        description: "Posts an update to an open incident; stage resolved resolves it. Drafts take no updates until a person publishes them.",
        scope: McpScope::IncidentsWrite,
        input: || object(json!({
            "page_id": page_id(),
            "incident_id": { "type": "string" },
            "stage": { "type": "string", "enum": ["investigating", "identified", "monitoring", "resolved"] },
            "message": { "type": "string", "minLength": 1, "maxLength": 5000 },
            "affected_components": affected(),
            "notify": notify(),
        }), &["page_id", "incident_id", "stage", "message", "notify"]),
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
    ToolSpec {
        name: "schedule_maintenance",
        title: "Schedule maintenance",
        description: "Schedules a maintenance window (RFC 3339 times, at most 14 days long, ending in the future). With draft true it is saved unpublished for a person to publish or discard.",
        scope: McpScope::MaintenancesWrite,
        input: || object(json!({
            "page_id": page_id(),
            "title": { "type": "string", "minLength": 1, "maxLength": 200 },
            "starts_at": { "type": "string", "format": "date-time" },
            "ends_at": { "type": "string", "format": "date-time" },
            "component_ids": { "type": "array", "items": { "type": "string" }, "maxItems": 50 },
            "message": { "type": "string", "minLength": 1, "maxLength": 5000 },
            "notify": notify(),
            "draft": draft(),
        }), &["page_id", "title", "starts_at", "ends_at", "message", "notify"]),
        output: any_object,
        read_only: false, destructive: false, idempotent: false,
    },
    ToolSpec {
        name: "add_maintenance_update",
        title: "Add maintenance update",
        description: "Posts an update to a maintenance and may move it: scheduled, in_progress, completed or cancelled. Drafts take no updates until a person publishes them.",
        scope: McpScope::MaintenancesWrite,
        input: || object(json!({
            "page_id": page_id(),
            "maintenance_id": { "type": "string" },
            "state": { "type": "string", "enum": ["scheduled", "in_progress", "completed", "cancelled"] },
            "message": { "type": "string", "minLength": 1, "maxLength": 5000 },
            "notify": notify(),
        }), &["page_id", "maintenance_id", "state", "message", "notify"]),
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
