//! What a refused `/mcp` call tells the person behind the assistant: the scope or tool it lacks and
//! the one step that gets it, in the JSON-RPC error's message and `data` as well as the 403 challenge.
//! Clients that drop the step-up challenge (and show only the message) still tell the person what to do.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::admit::challenge;
use super::http::McpHttp;
use super::incoming::Incoming;
use super::{McpCaller, McpScope};
use crate::service::Actor;
use crate::telemetry::metrics::{self, ToolOutcome};

/// JSON-RPC's code for a call the server refuses on authorisation grounds (implementation-defined range).
const REFUSED: i64 = -32003;

/// 403 with the scopes to step up to, and words that say how; a refused tool call counts as refused.
pub(super) async fn insufficient_scope(
    state: &McpHttp,
    incoming: &Incoming<'_>,
    caller: &McpCaller,
    scopes: &[McpScope],
) -> Response {
    if let Some(tool) = incoming.tool {
        metrics::tool_call(tool.name, ToolOutcome::Refused);
    }
    let writes_allowed = match caller.principal.actor.bound_org() {
        Some(org) if scopes.iter().any(|s| s.is_write()) => state
            .services
            .hosted_mcp_settings(org)
            .await
            .ok()
            .map(|s| s.allow_write),
        _ => None,
    };
    let (message, step) = explain(incoming, caller, scopes, writes_allowed);
    let id = incoming
        .envelope
        .as_ref()
        .and_then(|e| e.id.clone())
        .unwrap_or(Value::Null);
    tracing::debug!(message, "mcp call refused for scope");
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": REFUSED,
            "message": message,
            "data": {
                "error": "insufficient_scope",
                "required_scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "granted_scopes": caller.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "tool": incoming.tool.map(|t| t.name),
                "writes_allowed": writes_allowed,
                "step": step,
            }
        }
    });
    let mut r = (StatusCode::FORBIDDEN, Json(body)).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        challenge(state, Some("insufficient_scope"), scopes),
    );
    r
}

/// The message and the step, each one sentence. `writes_allowed` is the organisation's switch when a
/// write scope is missing and the credential is a connector grant.
fn explain(
    incoming: &Incoming<'_>,
    caller: &McpCaller,
    scopes: &[McpScope],
    writes_allowed: Option<bool>,
) -> (String, &'static str) {
    let names = McpScope::join(scopes);
    if let Some(tool) = incoming.tool {
        if caller.has(tool.scope) && !caller.ticked(tool.name) {
            return (
                format!(
                    "`{}` was left unticked when this connection was approved: disconnect statusgate \
                     in your assistant, connect again and tick `{}` on the consent page",
                    tool.name, tool.name
                ),
                "reconnect_and_tick_tool",
            );
        }
    }
    let read_only_key = matches!(caller.principal.actor, Actor::ApiKey { write: false, .. });
    let allow =
        "ask one of this organisation's admins or owners to turn on \"Allow write scopes\" under \
                 Hosted MCP";
    match (writes_allowed, read_only_key) {
        (Some(false), true) => (
            format!(
                "this call needs the {names} scope: this organisation does not allow assistants to \
                 write and this API key is read-only; {allow}, then create a write key under API keys"
            ),
            "ask_admin_to_allow_writes",
        ),
        (Some(false), false) => (
            format!(
                "this call needs the {names} scope, and this organisation does not allow assistants \
                 to write: {allow}, then reconnect statusgate and choose read and write"
            ),
            "ask_admin_to_allow_writes",
        ),
        (_, true) => (
            format!(
                "this call needs the {names} scope, which a read-only API key does not have: \
                 create a write key under API keys in statusgate and use it instead"
            ),
            "use_write_key",
        ),
        _ => (
            format!(
                "this call needs the {names} scope, which this connection was not given: disconnect \
                 statusgate in your assistant, connect again and tick {names} on the consent page"
            ),
            "reconnect_and_tick_scope",
        ),
    }
}
