//! What both MCP servers (the hosted `/mcp` and the `statusgate-page-mcp` stdio server) say the same
//! way on the wire: prompt listings, closed object schemas, and the step from JSON to the SDK's
//! model types. It knows nothing of statusgate's data, so either server may use it.

use rmcp::ErrorData;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// One argument of a prompt, as `prompts/list` shows it.
pub struct PromptArg {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
}

/// A prompt as `prompts/list` shows it.
pub fn prompt_json(name: &str, description: &str, args: &[PromptArg]) -> Value {
    json!({
        "name": name,
        "description": description,
        "arguments": args.iter()
            .map(|a| json!({ "name": a.name, "description": a.description, "required": a.required }))
            .collect::<Vec<_>>(),
    })
}

/// A closed object schema: only `props`, with `required` among them.
pub fn object(props: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false })
}

/// An answer we built as JSON, as the SDK's type; a mismatch is our fault, so an internal error.
pub fn from_json<T: DeserializeOwned>(v: Value) -> Result<T, ErrorData> {
    serde_json::from_value(v)
        .map_err(|e| ErrorData::internal_error(format!("building a response: {e}"), None))
}
