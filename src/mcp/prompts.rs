//! Prompts: ready-made instructions that embed the live state they are about. A client sees a prompt
//! only when its scopes let it read what the prompt reads.

use serde_json::{json, Map, Value};

use super::caller::McpCaller;
use super::scope::McpScope;
use super::tool_args::InvalidParams;
use super::tools::{self, ToolError};
use crate::mcp_wire::prompt_json;
pub use crate::mcp_wire::PromptArg;

pub struct PromptSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub needs: &'static [McpScope],
    /// The read tools whose results the prompt embeds: it is offered only while all are ticked.
    pub runs: &'static [&'static str],
    pub args: &'static [PromptArg],
}

const PAGE: PromptArg = PromptArg {
    name: "page_id",
    description: "Status page id from list_status_pages",
    required: true,
};
const INCIDENT: PromptArg = PromptArg {
    name: "incident_id",
    description: "Incident id",
    required: true,
};

/// Every prompt embeds the page summary.
const SUMMARY: &str = "get_page_summary";

pub static PROMPTS: &[PromptSpec] = &[
    PromptSpec {
        name: "draft_customer_incident",
        description: "Draft a customer-facing incident announcement from what you know so far.",
        needs: &[McpScope::PagesRead, McpScope::IncidentsRead],
        runs: &[SUMMARY],
        args: &[PAGE, PromptArg { name: "what_happened", description: "What you observe, in your own words", required: true }],
    },
    PromptSpec {
        name: "draft_incident_update",
        description: "Draft the next update for an open incident.",
        needs: &[McpScope::PagesRead, McpScope::IncidentsRead],
        runs: &[SUMMARY, "get_incident"],
        args: &[PAGE, INCIDENT, PromptArg { name: "progress", description: "What changed since the last update", required: false }],
    },
    PromptSpec {
        name: "review_existing_incident_state",
        description: "Review an incident's timeline and say whether its stage and affected components still fit.",
        needs: &[McpScope::PagesRead, McpScope::IncidentsRead],
        runs: &[SUMMARY, "get_incident"],
        args: &[PAGE, INCIDENT],
    },
    PromptSpec {
        name: "plan_maintenance_window",
        description: "Plan a maintenance window that avoids clashes with scheduled work and open incidents.",
        needs: &[McpScope::PagesRead, McpScope::MaintenancesRead],
        runs: &[SUMMARY, "list_maintenances"],
        args: &[PAGE, PromptArg { name: "work", description: "The work to be done and how long it may take", required: true }],
    },
    PromptSpec {
        name: "summarize_current_beat_health",
        description: "Summarise how the page's monitors are doing and what needs attention.",
        needs: &[McpScope::PagesRead, McpScope::BeatsRead],
        runs: &[SUMMARY, "list_beats", "list_recent_beat_failures"],
        args: &[PAGE],
    },
    PromptSpec {
        name: "investigate_beat_failure",
        description: "Investigate why one monitor is failing, from its latest runs.",
        needs: &[McpScope::PagesRead, McpScope::BeatsRead],
        runs: &[SUMMARY, "list_recent_beat_failures"],
        args: &[PAGE, PromptArg { name: "monitor_id", description: "Monitor id from list_beats", required: true }],
    },
    PromptSpec {
        name: "review_pending_beat_action",
        description: "Review the actions monitors propose and recommend approving or rejecting each.",
        needs: &[McpScope::PagesRead, McpScope::BeatsRead],
        runs: &[SUMMARY, "list_beats"],
        args: &[PAGE],
    },
];

impl PromptSpec {
    pub fn to_json(&self) -> Value {
        prompt_json(self.name, self.description, self.args)
    }
}

pub fn visible(caller: &McpCaller) -> impl Iterator<Item = &'static PromptSpec> + '_ {
    PROMPTS
        .iter()
        .filter(|p| p.needs.iter().all(|s| caller.has(*s)))
        .filter(|p| p.runs.iter().all(|t| caller.ticked(t)))
}

/// Builds the prompt's messages with the live data embedded; returns `(description, user message)`.
pub async fn get(
    services: &crate::service::Services,
    caller: &McpCaller,
    base_url: &str,
    name: &str,
    raw: &Map<String, Value>,
) -> Result<(String, String), ToolError> {
    let spec = visible(caller)
        .find(|p| p.name == name)
        .ok_or_else(|| InvalidParams(format!("unknown prompt `{name}`")))?;
    let a = Args(raw);
    for arg in spec.args.iter().filter(|a| a.required) {
        a.str(arg.name)?;
    }
    let live = Live {
        services,
        caller,
        base_url,
        page: a.str("page_id")?,
    };
    let summary = live
        .tool("get_page_summary", json!({ "page_id": live.page }))
        .await?;
    let text = match name {
        "draft_customer_incident" => draft_customer_incident(&a, &summary)?,
        "draft_incident_update" | "review_existing_incident_state" => {
            incident(&live, &a, name, &summary).await?
        }
        "plan_maintenance_window" => plan_maintenance_window(&live, &a, &summary).await?,
        "summarize_current_beat_health" => beat_health(&live, &summary).await?,
        "investigate_beat_failure" => beat_failure(&live, &a, &summary).await?,
        "review_pending_beat_action" => pending_beat_actions(&live, &summary).await?,
        _ => return Err(InvalidParams(format!("unknown prompt `{name}`")).into()),
    };
    Ok((spec.description.to_owned(), text))
}

/// What a prompt reads its live state through: the caller's own tools and resources.
struct Live<'a> {
    services: &'a crate::service::Services,
    caller: &'a McpCaller,
    base_url: &'a str,
    page: &'a str,
}

impl Live<'_> {
    async fn tool(&self, name: &str, args: Value) -> Result<Value, ToolError> {
        tools::call(
            self.services,
            self.caller,
            self.base_url,
            name,
            as_map(&args),
        )
        .await
    }

    async fn resource(&self, uri: &str) -> Result<Value, ToolError> {
        super::resources::read(self.services, self.caller, self.base_url, uri)
            .await
            .map_err(|e| match e {
                super::resources::ResourceError::Tool(t) => t,
                other => ToolError::InvalidParams(InvalidParams(other.to_string())),
            })
    }
}

fn draft_customer_incident(a: &Args<'_>, summary: &Value) -> Result<String, ToolError> {
    Ok(format!(
        "Draft a short, calm, customer-facing incident announcement for this status page. Say what is \
         affected and what we are doing; no speculation about causes, no internal names. Suggest a title, \
         a stage (investigating unless the cause is known) and which components are affected with which \
         status. Do not post it: show it to me first, and ask whether subscribers should be notified.\n\n\
         What we observe: {}\n\nCurrent page state:\n{summary:#}",
        a.str("what_happened")?
    ))
}

/// `draft_incident_update` and `review_existing_incident_state`: both read the incident.
async fn incident(
    live: &Live<'_>,
    a: &Args<'_>,
    name: &str,
    summary: &Value,
) -> Result<String, ToolError> {
    let args = json!({ "page_id": live.page, "incident_id": a.str("incident_id")?, "limit": 50 });
    let incident = live.tool("get_incident", args).await?;
    Ok(if name == "draft_incident_update" {
        format!(
            "Draft the next customer-facing update for this incident: what changed, what is next, when \
             the next update will come. Keep earlier wording consistent. Do not post it without my \
             confirmation, and ask whether subscribers should be notified.\n\nProgress: {}\n\n\
             Incident:\n{incident:#}",
            a.opt_str("progress")?.unwrap_or("(not given)")
        )
    } else {
        format!(
            "Review this incident. Does its stage still match the latest update? Are the affected \
             components and their statuses still right, given the page state? Is an update overdue? \
             Answer with concrete suggestions; change nothing.\n\nIncident:\n{incident:#}\n\n\
             Page:\n{summary:#}"
        )
    })
}

async fn plan_maintenance_window(
    live: &Live<'_>,
    a: &Args<'_>,
    summary: &Value,
) -> Result<String, ToolError> {
    let args = json!({ "page_id": live.page, "filter": "scheduled", "limit": 50 });
    let scheduled = live.tool("list_maintenances", args).await?;
    Ok(format!(
        "Plan a maintenance window for this work. Avoid overlapping scheduled maintenance and any open \
         incident; propose start and end times in UTC, the affected components, and a customer-facing \
         message. Do not schedule it without my confirmation.\n\nWork: {}\n\nScheduled maintenance:\n\
         {scheduled:#}\n\nPage:\n{summary:#}",
        a.str("work")?
    ))
}

async fn beat_health(live: &Live<'_>, summary: &Value) -> Result<String, ToolError> {
    let page = json!({ "page_id": live.page });
    let beats = live.tool("list_beats", page.clone()).await?;
    let failures = live.tool("list_recent_beat_failures", page).await?;
    Ok(format!(
        "Summarise the health of this page's monitors in a few lines: which pass, which fail and \
         since when, and whether the page's component statuses still match what the monitors see. \
         Change nothing.\n\nMonitors:\n{beats:#}\n\nRecent failures:\n{failures:#}\n\nPage:\n{summary:#}"
    ))
}

async fn beat_failure(live: &Live<'_>, a: &Args<'_>, summary: &Value) -> Result<String, ToolError> {
    let uri = format!(
        "statusgate://pages/{}/beats/{}/recent-events?limit=50",
        live.page,
        a.str("monitor_id")?
    );
    let events = live.resource(&uri).await?;
    Ok(format!(
        "Investigate this monitor's failures: when they started, what the errors and status codes \
         say, whether latency changed first, and the most likely causes to check. Suggest whether an \
         incident is warranted; do not open one without my confirmation.\n\nMonitor and runs:\n\
         {events:#}\n\nPage:\n{summary:#}"
    ))
}

async fn pending_beat_actions(live: &Live<'_>, summary: &Value) -> Result<String, ToolError> {
    let uri = format!("statusgate://pages/{}/beats/pending-actions", live.page);
    let actions = live.resource(&uri).await?;
    Ok(format!(
        "Review each pending action the monitors propose. For each, recommend approve or reject with \
         one sentence of reasoning from the page state; a person decides in statusgate.\n\n\
         Pending actions:\n{actions:#}\n\nPage:\n{summary:#}"
    ))
}

/// A prompt's arguments: strings, by name.
struct Args<'a>(&'a Map<String, Value>);

impl<'a> Args<'a> {
    fn str(&self, name: &str) -> Result<&'a str, InvalidParams> {
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(InvalidParams(format!("`{name}` must be a string"))),
            None => Err(InvalidParams(format!("`{name}` is required"))),
        }
    }

    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, InvalidParams> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.str(name).map(Some),
        }
    }
}

fn as_map(v: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    v.as_object().unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}
