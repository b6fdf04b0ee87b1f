//! The page server's tools: names, descriptions for the model, JSON schemas, annotations, and the
//! `/api/v1` route each one calls. The page is fixed at start-up, so no tool takes a `page_id`; every
//! tool that posts news takes a `notify` choice with no default, and the corrections (`update_*`) take
//! an optional one that tells nobody when left out.

use serde_json::{json, Map, Value};

use crate::domain::{ComponentStatus, IncidentStage};
use crate::mcp_wire::object;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Post,
    Patch,
    Delete,
}

pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub input: fn() -> Value,
    pub destructive: bool,
    pub idempotent: bool,
    /// Reaches beyond statusgate (a monitor run calls the monitored URL).
    pub open_world: bool,
    pub verb: Verb,
    /// Under `/api/v1`; `{page}` is the served page, `{id}` the value of the `id` argument.
    pub path: &'static str,
    /// The argument that names the object acted on; it goes in the path, not the body.
    pub id: Option<&'static str>,
}

impl ToolSpec {
    /// The tool as `tools/list` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": (self.input)(),
            "outputSchema": { "type": "object" },
            "annotations": {
                "title": self.title,
                "readOnlyHint": false,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": self.open_world,
            },
        })
    }

    /// Whether the tool's schema asks for `notify`.
    pub fn notifies(&self) -> bool {
        (self.input)()["properties"].get("notify").is_some()
    }
}

fn id(what: &str) -> Value {
    json!({ "type": "string", "minLength": 1, "description": format!("{what} id, from the page's resources") })
}

fn text(max: u32) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max })
}

fn instant() -> Value {
    json!({ "type": "string", "format": "date-time", "description": "RFC 3339, e.g. 2026-11-22T14:00:00Z" })
}

/// `notify` on news: required, so posting is always a decision.
fn notify() -> Value {
    json!({
        "type": "boolean",
        "description": "true queues an email/webhook to every confirmed subscriber; false notifies nobody. Required: ask the person if unsure."
    })
}

/// The stages an incident may open in (every stage but resolved).
fn open_stages() -> Value {
    let open = IncidentStage::ALL
        .iter()
        .filter(|s| **s != IncidentStage::Resolved)
        .map(|s| s.as_str());
    json!({ "type": "string", "enum": open.collect::<Vec<_>>() })
}

/// `[{component_id, status}]`, with the ids from this server's resource.
fn affected() -> Value {
    let statuses: Vec<&str> = ComponentStatus::ALL.iter().map(|s| s.as_str()).collect();
    json!({
        "type": "array", "maxItems": 50,
        "description": "Components this update affects and the status each is now in (ids from statusgate://page/hierarchy/tree).",
        "items": object(
            json!({ "component_id": { "type": "string" }, "status": { "type": "string", "enum": statuses } }),
            &["component_id", "status"],
        ),
    })
}

fn component_ids() -> Value {
    json!({ "type": "array", "items": { "type": "string" }, "maxItems": 50, "description": "Affected component ids, from statusgate://page/hierarchy/tree" })
}

/// `notify` on a correction: optional, and leaving it out tells nobody (a correction is rarely news).
fn edit_notify() -> Value {
    json!({ "type": "boolean", "description": "true posts the change as an update and queues it for every confirmed subscriber; false or absent notifies nobody." })
}

/// An object schema that must name at least one field besides `required`.
fn edit(props: Value, required: &[&str]) -> Value {
    let mut o = object(props, required);
    o["minProperties"] = json!(required.len() + 1);
    o
}

const fn write(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    input: fn() -> Value,
    verb: Verb,
    path: &'static str,
    id: Option<&'static str>,
) -> ToolSpec {
    ToolSpec {
        name,
        title,
        description,
        input,
        destructive: false,
        idempotent: false,
        open_world: false,
        verb,
        path,
        id,
    }
}

const fn destructive(mut t: ToolSpec) -> ToolSpec {
    t.destructive = true;
    t
}

const fn idempotent(mut t: ToolSpec) -> ToolSpec {
    t.idempotent = true;
    t
}

pub static TOOLS: &[ToolSpec] = &[
    write("create_incident", "Create incident",
        "Opens an incident on the page with its first update. It is public at once.",
        || object(json!({
            "title": text(200), "stage": open_stages(), "message": text(5000),
            "affected_components": affected(), "notify": notify(),
        }), &["title", "stage", "message", "notify"]),
        Verb::Post, "/pages/{page}/incidents", None),
    write("update_incident", "Correct incident",
        "Corrects an incident: its title, and/or the affected components with their statuses. Changing components posts an update at the incident's current stage (message optional, default \"Impact updated.\"). Nobody is notified unless notify is true.",
        || edit(json!({
            "incident_id": id("Incident"), "title": text(200), "affected_components": affected(),
            "message": text(5000), "notify": edit_notify(),
        }), &["incident_id"]),
        Verb::Patch, "/incidents/{id}", Some("incident_id")),
    write("add_incident_update", "Add incident update",
        "Posts an update to an open incident; stage resolved resolves it.",
        || object(json!({
            "incident_id": id("Incident"),
            "stage": { "type": "string", "enum": ["investigating", "identified", "monitoring", "resolved"] },
            "message": text(5000), "affected_components": affected(), "notify": notify(),
        }), &["incident_id", "stage", "message", "notify"]),
        Verb::Post, "/incidents/{id}/updates", Some("incident_id")),
    write("acknowledge_incident", "Acknowledge incident",
        "Acknowledges a new incident: moves it from investigating to identified with an update (a default message if none is given).",
        || object(json!({
            "incident_id": id("Incident"), "message": text(5000),
            "affected_components": affected(), "notify": notify(),
        }), &["incident_id", "notify"]),
        Verb::Post, "/incidents/{id}/acknowledge", Some("incident_id")),
    write("resolve_incident", "Resolve incident",
        "Resolves an open incident with a closing message; affected components may be set back.",
        || object(json!({
            "incident_id": id("Incident"), "message": text(5000),
            "affected_components": affected(), "notify": notify(),
        }), &["incident_id", "message", "notify"]),
        Verb::Post, "/incidents/{id}/resolve", Some("incident_id")),
    write("reopen_incident", "Reopen incident",
        "Reopens a resolved incident to an open stage, with a message saying why.",
        || object(json!({
            "incident_id": id("Incident"), "stage": open_stages(), "message": text(5000), "notify": notify(),
        }), &["incident_id", "stage", "message", "notify"]),
        Verb::Post, "/incidents/{id}/reopen", Some("incident_id")),
    destructive(idempotent(write("delete_incident", "Delete incident",
        "Deletes an incident and its updates for good (for test or mistaken incidents). Nobody is notified. Cannot be undone.",
        || object(json!({ "incident_id": id("Incident") }), &["incident_id"]),
        Verb::Delete, "/incidents/{id}", Some("incident_id")))),
    write("schedule_maintenance", "Schedule maintenance",
        "Schedules a maintenance window (RFC 3339 times, at most 14 days long, ending in the future).",
        || object(json!({
            "title": text(200), "starts_at": instant(), "ends_at": instant(),
            "component_ids": component_ids(), "message": text(5000), "notify": notify(),
        }), &["title", "starts_at", "ends_at", "message", "notify"]),
        Verb::Post, "/pages/{page}/maintenances", None),
    write("update_maintenance", "Correct maintenance",
        "Corrects a maintenance: its title, its window (only while scheduled) and the components it covers (the list replaces the current one). Nobody is notified unless notify is true; then an update tells subscribers what it now is.",
        || edit(json!({
            "maintenance_id": id("Maintenance"), "title": text(200), "starts_at": instant(), "ends_at": instant(),
            "component_ids": component_ids(), "notify": edit_notify(),
        }), &["maintenance_id"]),
        Verb::Patch, "/maintenances/{id}", Some("maintenance_id")),
    write("add_maintenance_update", "Add maintenance update",
        "Posts an update to a maintenance and may move it: scheduled, in_progress, completed or cancelled.",
        || object(json!({
            "maintenance_id": id("Maintenance"),
            "state": { "type": "string", "enum": ["scheduled", "in_progress", "completed", "cancelled"] },
            "message": text(5000), "notify": notify(),
        }), &["maintenance_id", "state", "message", "notify"]),
        Verb::Post, "/maintenances/{id}/updates", Some("maintenance_id")),
    write("complete_maintenance", "Complete maintenance",
        "Marks a maintenance in progress as completed, with an optional closing message.",
        || object(json!({ "maintenance_id": id("Maintenance"), "message": text(5000), "notify": notify() }), &["maintenance_id", "notify"]),
        Verb::Post, "/maintenances/{id}/complete", Some("maintenance_id")),
    destructive(write("cancel_maintenance", "Cancel maintenance",
        "Cancels a maintenance that has not finished; a cancelled maintenance cannot be resumed.",
        || object(json!({ "maintenance_id": id("Maintenance"), "message": text(5000), "notify": notify() }), &["maintenance_id", "notify"]),
        Verb::Post, "/maintenances/{id}/cancel", Some("maintenance_id"))),
    destructive(idempotent(write("delete_maintenance", "Delete maintenance",
        "Deletes a maintenance and its updates for good. Nobody is notified. Cannot be undone.",
        || object(json!({ "maintenance_id": id("Maintenance") }), &["maintenance_id"]),
        Verb::Delete, "/maintenances/{id}", Some("maintenance_id")))),
    ToolSpec {
        open_world: true,
        ..write("run_beat", "Run beat now",
            "Runs one of the page's monitors (beats) now and returns the result; it calls the monitored URL.",
            || object(json!({ "monitor_id": id("Monitor") }), &["monitor_id"]),
            Verb::Post, "/monitors/{id}/run", Some("monitor_id"))
    },
    write("approve_beat_action", "Approve beat action",
        "Approves an action a monitor proposed (see statusgate://page/beats/pending-actions); statusgate then performs it, e.g. opens an incident or sets a component status. Subscribers are not notified; post an update for that.",
        || object(json!({ "action_id": id("Pending action") }), &["action_id"]),
        Verb::Post, "/pending-actions/{id}/approve", Some("action_id")),
    write("reject_beat_action", "Reject beat action",
        "Rejects an action a monitor proposed; nothing is changed on the page.",
        || object(json!({ "action_id": id("Pending action"), "note": text(1000) }), &["action_id"]),
        Verb::Post, "/pending-actions/{id}/reject", Some("action_id")),
];

pub fn tool(name: &str) -> Option<&'static ToolSpec> {
    TOOLS.iter().find(|t| t.name == name)
}

pub fn names() -> Vec<&'static str> {
    TOOLS.iter().map(|t| t.name).collect()
}

/// Checks arguments against the tool's schema (required fields, no strangers, simple types), so a
/// wrong call is refused here with a message the model can act on instead of reaching the API.
pub fn check(spec: &ToolSpec, args: &Map<String, Value>) -> Result<(), String> {
    let schema = (spec.input)();
    let props = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        if !args.contains_key(name) {
            return Err(if name == "notify" {
                "`notify` is required (true or false): ask whether subscribers should be told"
                    .into()
            } else {
                format!("`{name}` is required")
            });
        }
    }
    for (name, value) in args {
        let Some(p) = props.get(name) else {
            return Err(format!(
                "`{name}` is not an argument of {}; it takes {}",
                spec.name,
                props.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        let fits = match p["type"].as_str() {
            Some("string") => value.as_str().is_some_and(|s| {
                p["enum"]
                    .as_array()
                    .is_none_or(|e| e.iter().any(|v| v == value))
                    && p["minLength"]
                        .as_u64()
                        .is_none_or(|m| s.chars().count() as u64 >= m)
                    && p["maxLength"]
                        .as_u64()
                        .is_none_or(|m| s.chars().count() as u64 <= m)
            }),
            Some("boolean") => value.is_boolean(),
            Some("array") => value
                .as_array()
                .is_some_and(|a| p["maxItems"].as_u64().is_none_or(|m| a.len() as u64 <= m)),
            _ => true,
        };
        if !fits {
            return Err(match p["enum"].as_array() {
                Some(e) => format!(
                    "`{name}` must be one of {}",
                    e.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!(
                    "`{name}` must be a {}",
                    p["type"].as_str().unwrap_or("value")
                ),
            });
        }
    }
    if let Some(min) = schema["minProperties"].as_u64() {
        if (args.len() as u64) < min {
            return Err("say what to change: give at least one field to edit".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixteen_tools_have_unique_names() {
        assert_eq!(TOOLS.len(), 16);
        for (i, t) in TOOLS.iter().enumerate() {
            assert!(TOOLS[..i].iter().all(|o| o.name != t.name), "{}", t.name);
        }
    }

    #[test]
    fn notify_is_required_without_default_wherever_subscribers_could_hear() {
        let telling = [
            "create_incident",
            "add_incident_update",
            "acknowledge_incident",
            "resolve_incident",
            "reopen_incident",
            "schedule_maintenance",
            "add_maintenance_update",
            "complete_maintenance",
            "cancel_maintenance",
        ];
        for t in TOOLS {
            let schema = (t.input)();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            assert_eq!(
                required.contains(&"notify"),
                telling.contains(&t.name),
                "{}",
                t.name
            );
            assert!(
                schema["properties"]["notify"].get("default").is_none(),
                "{}",
                t.name
            );
            assert_eq!(schema["additionalProperties"], json!(false), "{}", t.name);
            assert!(schema["properties"].get("page_id").is_none(), "{}", t.name);
        }
    }

    #[test]
    fn deletions_and_cancellation_are_marked_destructive() {
        for t in TOOLS {
            let a = &t.to_json()["annotations"];
            let expected = matches!(
                t.name,
                "delete_incident" | "delete_maintenance" | "cancel_maintenance"
            );
            assert_eq!(a["destructiveHint"], json!(expected), "{}", t.name);
            assert_eq!(a["readOnlyHint"], json!(false));
        }
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        let t = tool("add_incident_update").unwrap();
        let ok = json!({ "incident_id": "inc_1", "stage": "monitoring", "message": "m", "notify": false });
        assert!(check(t, ok.as_object().unwrap()).is_ok());
        let no_notify = json!({ "incident_id": "inc_1", "stage": "monitoring", "message": "m" });
        assert!(check(t, no_notify.as_object().unwrap())
            .unwrap_err()
            .contains("notify"));
        let bad_stage =
            json!({ "incident_id": "i", "stage": "fixed", "message": "m", "notify": true });
        assert!(check(t, bad_stage.as_object().unwrap())
            .unwrap_err()
            .contains("one of"));
        let stranger = json!({ "incident_id": "i", "stage": "monitoring", "message": "m", "notify": true, "page_id": "p" });
        assert!(check(t, stranger.as_object().unwrap())
            .unwrap_err()
            .contains("page_id"));
        let edit = tool("update_maintenance").unwrap();
        assert!(check(edit, json!({ "maintenance_id": "m" }).as_object().unwrap()).is_err());
        assert!(check(
            edit,
            json!({ "maintenance_id": "m", "title": "t" })
                .as_object()
                .unwrap()
        )
        .is_ok());
    }
}
