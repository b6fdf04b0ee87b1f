//! Confirmation before anyone is notified, as a 2026-07-28 multi round-trip request: a write tool
//! called with `notify: true` by a client that declared form elicitation in the request's `_meta`
//! answers `input_required` with a form showing what would be sent, on which channels, to how many
//! subscribers, and a sealed `requestState` (`domain::confirmation`). The retry carries the state
//! and the person's answer; the state is used up in the database whatever the answer, so a replay
//! on any instance is refused. A client that cannot elicit (and every initialize-based revision,
//! whose stateless requests cannot carry an elicitation round trip) is answered as before.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ElicitResult, ElicitationAction,
    ErrorData, InputRequiredResult, RequestMetaObject,
};
use serde_json::{json, Map, Value};

use super::catalog::ToolSpec;
use super::handler::{tool_result, StatusgateMcp};
use super::tool_args::{self as args, parse, ToolArgs};
use super::tools::ToolError;
use super::McpCaller;
use crate::domain::confirmation::ConfirmationRefusal;
use crate::domain::{IncidentStage, MaintenanceState, Permission};
use crate::mcp_wire::from_json;
use crate::service::confirmations::{Announcement, NotifyPreview};
use crate::service::ServiceError;
use crate::telemetry::metrics::{self, ToolOutcome};

/// The key of the one input request, echoed in `inputResponses`.
pub const INPUT_KEY: &str = "confirm_notify";
/// The form's one field.
const FIELD: &str = "confirm";

const NOTIFY_TOOLS: [&str; 4] = [
    args::CreateIncident::TOOL,
    args::AddIncidentUpdate::TOOL,
    args::ScheduleMaintenance::TOOL,
    args::AddMaintenanceUpdate::TOOL,
];

/// Whether this call goes through a confirmation. Looks at two arguments first, so a call without
/// `notify: true` pays for nothing more.
pub fn engaged(spec: &ToolSpec, req: &CallToolRequestParams, meta: &RequestMetaObject) -> bool {
    let Some(a) = req.arguments.as_ref() else {
        return false;
    };
    a.get("notify") == Some(&Value::Bool(true))
        && a.get("draft") != Some(&Value::Bool(true))
        && NOTIFY_TOOLS.contains(&spec.name)
        && can_elicit_forms(meta)
}

/// Form elicitation declared in this request's own capabilities (an empty `elicitation` object
/// means forms), on a revision without `initialize`.
fn can_elicit_forms(meta: &RequestMetaObject) -> bool {
    let per_request = meta.protocol_version().is_some_and(|v| !v.has_initialize());
    per_request
        && meta
            .client_capabilities()
            .and_then(|c| c.elicitation)
            .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// `tools/call` of `spec` with a confirmation: the first round asks, the retry acts on the answer.
pub async fn call(
    h: &StatusgateMcp,
    c: &McpCaller,
    spec: &'static ToolSpec,
    req: CallToolRequestParams,
) -> Result<CallToolResponse, ErrorData> {
    let raw = req.arguments.unwrap_or_default();
    let Some(state) = req.request_state.as_deref() else {
        return ask(h, c, spec, &raw).await;
    };
    let s = &h.services;
    let confirmation = match s.open_confirmation(&c.principal, spec.name, &raw, state) {
        Ok(Ok(found)) => found,
        Ok(Err(refusal)) => return Err(refused(spec, refusal)),
        Err(e) => return Ok(tool_result(Err(e.into()))?.into()),
    };
    let answer = match req.input_responses.as_ref().and_then(|r| r.get(INPUT_KEY)) {
        // The answer went missing: ask again rather than fail (the state stays unused).
        None => return ask(h, c, spec, &raw).await,
        Some(v) => serde_json::from_value::<ElicitResult>(v.clone()).map_err(|_| {
            metrics::tool_call(spec.name, ToolOutcome::Refused);
            ErrorData::invalid_params(
                format!("inputResponses.{INPUT_KEY} is not an elicitation result; nothing was published and nobody was notified"),
                None,
            )
        })?,
    };
    // Used up whatever the answer, so a declined confirmation cannot be accepted later.
    match s.use_confirmation(&confirmation).await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => return Err(refused(spec, refusal)),
        Err(e) => return Ok(tool_result(Err(e.into()))?.into()),
    }
    let confirmed = answer.action == ElicitationAction::Accept
        && answer
            .content
            .as_ref()
            .and_then(|v| v.get(FIELD))
            .and_then(Value::as_bool)
            == Some(true);
    let outcome = if confirmed {
        let ran = super::tools::call_confirmed(
            s,
            c,
            &h.base_url,
            spec.name,
            &raw,
            Some(confirmation.id.clone()),
        )
        .await
        .map(|mut v| {
            v["confirmation"] = json!({ "id": confirmation.id, "outcome": "confirmed" });
            v
        });
        tool_result(ran)
    } else {
        let outcome = match answer.action {
            ElicitationAction::Cancel => "cancelled",
            _ => "declined",
        };
        tracing::info!(tool = spec.name, outcome, "notify confirmation not given");
        Ok(CallToolResult::structured(json!({
            "published": false,
            "subscribers_notified": 0,
            "confirmation": { "id": confirmation.id, "outcome": outcome },
            "message": format!("The person {outcome} the confirmation: nothing was published and nobody was notified."),
        })))
    };
    metrics::tool_call(
        spec.name,
        match &outcome {
            Ok(r) if r.is_error == Some(true) => ToolOutcome::ToolError,
            Ok(_) => ToolOutcome::Ok,
            Err(_) => ToolOutcome::Refused,
        },
    );
    outcome.map(Into::into)
}

/// The refusal of a state that cannot be honoured: invalid params, saying nothing happened.
fn refused(spec: &ToolSpec, refusal: ConfirmationRefusal) -> ErrorData {
    metrics::tool_call(spec.name, ToolOutcome::Refused);
    let code = match refusal {
        ConfirmationRefusal::Tampered => "tampered",
        ConfirmationRefusal::Expired => "expired",
        ConfirmationRefusal::OtherCredential => "other_credential",
        ConfirmationRefusal::OtherCall => "other_call",
        ConfirmationRefusal::Used => "used",
    };
    ErrorData::invalid_params(
        format!("{refusal}: nothing was published and nobody was notified; call the tool again without requestState to ask the person anew"),
        Some(json!({ "confirmation": code })),
    )
}

/// The first round: what would be sent and to whom, and the sealed state to answer with.
async fn ask(
    h: &StatusgateMcp,
    c: &McpCaller,
    spec: &'static ToolSpec,
    raw: &Map<String, Value>,
) -> Result<CallToolResponse, ErrorData> {
    let preview = match preview(h, c, spec.name, raw).await {
        Ok(p) => p,
        Err(e) => {
            let r = tool_result(Err(e));
            metrics::tool_call(
                spec.name,
                if r.is_ok() {
                    ToolOutcome::ToolError
                } else {
                    ToolOutcome::Refused
                },
            );
            return Ok(r?.into());
        }
    };
    let (state, _) = match h.services.seal_confirmation(&c.principal, spec.name, raw) {
        Ok(sealed) => sealed,
        Err(e) => return Ok(tool_result(Err(e.into()))?.into()),
    };
    metrics::tool_call(spec.name, ToolOutcome::Ok);
    let result: InputRequiredResult = from_json(json!({
        "resultType": "input_required",
        "inputRequests": {
            INPUT_KEY: {
                "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": message(&preview),
                    "requestedSchema": {
                        "type": "object",
                        "properties": {
                            FIELD: {
                                "type": "boolean",
                                "title": "Publish and notify",
                                "description": "Publish this and send it to the subscribers counted above.",
                                "default": false,
                            }
                        },
                        "required": [FIELD],
                    },
                },
            }
        },
        "requestState": state,
        "_meta": { "statusgate/notify": {
            "page": preview.page, "channels": preview.counts(), "total": preview.total(),
        } },
    }))?;
    Ok(result.into())
}

/// The form's text: the email as subscribers would get it, and the count on every channel.
fn message(p: &NotifyPreview) -> String {
    let counts = p
        .channels
        .iter()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let reach = if p.total() == 0 {
        format!("This would reach nobody: {counts} confirmed subscribers.")
    } else {
        format!(
            "This would reach {} confirmed subscribers: {counts}.",
            p.total()
        )
    };
    format!(
        "Publish this on {} and notify its subscribers? Nothing is published until you confirm.\n\n\
         Email subject: {}\n\n{}\nWebhooks receive the same update as JSON.\n\n{reach}",
        p.page, p.subject, p.body
    )
}

/// The update the call would post, as the permission-checked services describe it.
async fn preview(
    h: &StatusgateMcp,
    c: &McpCaller,
    tool: &str,
    raw: &Map<String, Value>,
) -> Result<NotifyPreview, ToolError> {
    let (s, who) = (&h.services, &c.principal);
    let incident = Permission::IncidentManage;
    let maintenance = Permission::MaintenanceManage;
    match tool {
        args::CreateIncident::TOOL => {
            let a: args::CreateIncident = parse(raw)?;
            let stage = IncidentStage::from(a.stage).label();
            let say = Announcement {
                page_id: &a.page_id.0,
                permission: incident,
                title: &a.title,
                stage,
                message: a.message.as_str(),
            };
            Ok(s.notify_preview(who, &say).await?)
        }
        args::AddIncidentUpdate::TOOL => {
            let a: args::AddIncidentUpdate = parse(raw)?;
            let (existing, _) = s.incident(who, &a.incident_id.0, Some(1)).await?;
            if existing.page_id != a.page_id.0 {
                return Err(ServiceError::NotFound("incident").into());
            }
            let say = Announcement {
                page_id: &a.page_id.0,
                permission: incident,
                title: &existing.title,
                stage: IncidentStage::from(a.stage).label(),
                message: a.message.as_str(),
            };
            Ok(s.notify_preview(who, &say).await?)
        }
        args::ScheduleMaintenance::TOOL => {
            let a: args::ScheduleMaintenance = parse(raw)?;
            let say = Announcement {
                page_id: &a.page_id.0,
                permission: maintenance,
                title: &a.title,
                stage: MaintenanceState::Scheduled.label(),
                message: a.message.as_str(),
            };
            Ok(s.notify_preview(who, &say).await?)
        }
        _ => {
            let a: args::AddMaintenanceUpdate = parse(raw)?;
            let (existing, _) = s.maintenance(who, &a.maintenance_id.0, Some(1)).await?;
            if existing.page_id != a.page_id.0 {
                return Err(ServiceError::NotFound("maintenance").into());
            }
            let say = Announcement {
                page_id: &a.page_id.0,
                permission: maintenance,
                title: &existing.title,
                stage: MaintenanceState::from(a.state).label(),
                message: a.message.as_str(),
            };
            Ok(s.notify_preview(who, &say).await?)
        }
    }
}
