//! Prompts for the served page: ready-made instructions with the live state they are about read
//! through the page's resources and embedded, so the model starts from facts.

use serde_json::{Map, Value};

use super::client::ApiClient;
use super::resources::{self, ReadError};
pub use crate::mcp_wire::PromptArg;

pub struct PromptSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub args: &'static [PromptArg],
}

const fn arg(name: &'static str, description: &'static str, required: bool) -> PromptArg {
    PromptArg {
        name,
        description,
        required,
    }
}

const INCIDENT: PromptArg = arg(
    "incident_id",
    "Incident id (statusgate://page/incidents/active)",
    true,
);
const MAINTENANCE: PromptArg = arg(
    "maintenance_id",
    "Maintenance id (statusgate://page/maintenances?filter=scheduled)",
    true,
);

pub static PROMPTS: &[PromptSpec] = &[
    PromptSpec {
        name: "draft_customer_incident",
        description: "Draft a customer-facing incident announcement from what you know so far.",
        args: &[arg("what_happened", "What you observe, in your own words", true)],
    },
    PromptSpec {
        name: "draft_incident_update",
        description: "Draft the next update for an open incident.",
        args: &[INCIDENT, arg("progress", "What changed since the last update", false)],
    },
    PromptSpec {
        name: "edit_incident",
        description: "Correct an incident's title or its affected components and their statuses.",
        args: &[INCIDENT, arg("change", "What should be corrected", true)],
    },
    PromptSpec {
        name: "review_beat_action",
        description: "Review the actions monitors propose and recommend approving or rejecting each.",
        args: &[arg("action_id", "One pending action to focus on", false)],
    },
    PromptSpec {
        name: "resolve_incident",
        description: "Draft the closing update for an incident that is fixed, and check components are back.",
        args: &[INCIDENT, arg("resolution", "What fixed it", false)],
    },
    PromptSpec {
        name: "plan_maintenance_window",
        description: "Plan a maintenance window that avoids scheduled work and open incidents.",
        args: &[arg("work", "The work to be done and how long it may take", true)],
    },
    PromptSpec {
        name: "draft_maintenance_update",
        description: "Draft the next update for a maintenance (started, progress, done, or cancelled).",
        args: &[MAINTENANCE, arg("progress", "What happened since the last update", false)],
    },
    PromptSpec {
        name: "review_existing_incident_state",
        description: "Review an incident's timeline and say whether its stage and affected components still fit.",
        args: &[INCIDENT],
    },
];

impl PromptSpec {
    pub fn to_json(&self) -> Value {
        crate::mcp_wire::prompt_json(self.name, self.description, self.args)
    }
}

pub fn prompt(name: &str) -> Option<&'static PromptSpec> {
    PROMPTS.iter().find(|p| p.name == name)
}

const CONFIRM: &str = "Do not change anything without my confirmation, and ask me whether subscribers should be notified.";

/// Builds the prompt; returns `(description, user message)`. Missing arguments are `Invalid`.
pub async fn get(
    api: &ApiClient,
    page_id: &str,
    name: &str,
    args: &Map<String, Value>,
) -> Result<(String, String), ReadError> {
    let spec =
        prompt(name).ok_or_else(|| ReadError::Invalid(format!("unknown prompt `{name}`")))?;
    let get = |k: &str| {
        args.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    for a in spec.args.iter().filter(|a| a.required) {
        get(a.name).ok_or_else(|| ReadError::Invalid(format!("`{}` is required", a.name)))?;
    }
    let arg = |k: &str| get(k).unwrap_or("(not given)");
    let read = |uri: String| async move { resources::read(api, page_id, &uri).await };
    let summary = read(format!("{}summary", resources::PREFIX)).await?;
    let incident = |id: &str| read(format!("{}incidents/{id}?limit=50", resources::PREFIX));
    let text = match name {
        "draft_customer_incident" => format!(
            "Draft a short, calm, customer-facing incident announcement for this status page. Say what is \
             affected and what we are doing; no speculation about causes, no internal names. Suggest a title, \
             a stage (investigating unless the cause is known) and the affected components with their status, \
             then create it with create_incident. {CONFIRM}\n\nWhat we observe: {}\n\nPage:\n{summary:#}",
            arg("what_happened")
        ),
        "draft_incident_update" => format!(
            "Draft the next customer-facing update for this incident: what changed, what is next, when the \
             next update will come. Keep earlier wording consistent; post it with add_incident_update. \
             {CONFIRM}\n\nProgress: {}\n\nIncident:\n{:#}",
            arg("progress"),
            incident(arg("incident_id")).await?
        ),
        "edit_incident" => format!(
            "Correct this incident with update_incident: its title, and/or the affected components with \
             the status each is now in (component ids from the components below). Changing components \
             posts an update at the incident's current stage (give a message, or \"Impact updated.\" is \
             used); a title alone posts nothing. Nobody is notified unless you pass notify: true. Show me \
             the exact change first, and ask me whether subscribers should be notified.\n\n\
             Correction wanted: {}\n\nIncident:\n{:#}\n\nComponents:\n{summary:#}",
            arg("change"),
            incident(arg("incident_id")).await?
        ),
        "review_beat_action" => format!(
            "Review the pending actions the monitors propose{}. For each, recommend approve_beat_action or \
             reject_beat_action with one sentence of reasoning from the page state. {CONFIRM}\n\n\
             Pending actions:\n{:#}\n\nMonitors:\n{:#}\n\nPage:\n{summary:#}",
            get("action_id").map(|a| format!(", above all {a}")).unwrap_or_default(),
            read(format!("{}beats/pending-actions", resources::PREFIX)).await?,
            read(format!("{}beats", resources::PREFIX)).await?
        ),
        "resolve_incident" => format!(
            "This incident is fixed. Draft a short closing message (what happened in customer terms, that it \
             is resolved, any follow-up), check which affected components should go back to operational, and \
             resolve it with resolve_incident. {CONFIRM}\n\nResolution: {}\n\nIncident:\n{:#}\n\nPage:\n{summary:#}",
            arg("resolution"),
            incident(arg("incident_id")).await?
        ),
        "plan_maintenance_window" => format!(
            "Plan a maintenance window for this work. Avoid overlapping scheduled maintenance and open \
             incidents; propose start and end in UTC (RFC 3339), the affected components and a customer-facing \
             message, then schedule it with schedule_maintenance. {CONFIRM}\n\nWork: {}\n\n\
             Scheduled maintenance:\n{:#}\n\nPage:\n{summary:#}",
            arg("work"),
            read(format!("{}maintenances?filter=scheduled&limit=50", resources::PREFIX)).await?
        ),
        "draft_maintenance_update" => format!(
            "Draft the next customer-facing update for this maintenance and pick its state (in_progress, \
             completed or cancelled); post it with add_maintenance_update, complete_maintenance or \
             cancel_maintenance. If instead its title, window (only while scheduled) or components are \
             wrong, correct them with update_maintenance (notify is false unless you pass true). \
             {CONFIRM}\n\nProgress: {}\n\nMaintenance:\n{:#}",
            arg("progress"),
            read(format!("{}maintenances/{}?limit=50", resources::PREFIX, arg("maintenance_id"))).await?
        ),
        "review_existing_incident_state" => format!(
            "Review this incident. Does its stage still match the latest update? Are the affected components \
             and their statuses still right, given the page state? Is an update overdue? Answer with concrete \
             suggestions; change nothing.\n\nIncident:\n{:#}\n\nPage:\n{summary:#}",
            incident(arg("incident_id")).await?
        ),
        _ => return Err(ReadError::Invalid(format!("unknown prompt `{name}`"))),
    };
    Ok((spec.description.to_owned(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_prompts_are_listed_with_their_arguments() {
        let names: Vec<&str> = PROMPTS.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "draft_customer_incident",
                "draft_incident_update",
                "edit_incident",
                "review_beat_action",
                "resolve_incident",
                "plan_maintenance_window",
                "draft_maintenance_update",
                "review_existing_incident_state"
            ]
        );
        assert!(PROMPTS
            .iter()
            .all(|p| p.args.iter().all(|a| a.name != "page_id")));
    }
}
