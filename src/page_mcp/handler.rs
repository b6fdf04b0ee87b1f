//! The rmcp `ServerHandler` of the page server: the SDK owns the stdio framing and version
//! negotiation; each method defers to the catalog, tools, resources and prompts of this module.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use serde_json::{json, Value};

use super::catalog::{self, ToolSpec};
use super::client::{ApiClient, ApiError};
use super::config::Settings;
use super::resources::{self, ReadError};
use super::startup::Target;
use super::tools::{self, ToolError};
use super::{prompts, resources::PREFIX};
use crate::mcp_wire::from_json;

#[derive(Clone)]
pub struct PageMcp {
    api: ApiClient,
    target: Arc<Target>,
    /// The tools published: flags (read-only, allowed list) and the key's write right applied.
    tools: Arc<Vec<&'static ToolSpec>>,
    info: Arc<ServerConfig>,
}

/// The tools to publish: nothing writes when the flags or the key say read-only.
pub fn published(settings: &Settings, key_writes: bool) -> Vec<&'static ToolSpec> {
    catalog::TOOLS
        .iter()
        .filter(|t| key_writes && settings.publishes(t.name))
        .collect()
}

impl PageMcp {
    pub fn new(api: ApiClient, target: Target, settings: &Settings) -> Self {
        let tools = published(settings, target.key_writes);
        let writes = if tools.is_empty() {
            "This server is read-only: it offers resources and prompts, no write tools."
        } else {
            "Ask the person before any write, and ask whether subscribers should be notified (notify)."
        };
        let info = from_json(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": { "tools": {}, "resources": {}, "prompts": {} },
            "serverInfo": { "name": "statusgate-page-mcp", "title": "statusgate page", "version": env!("CARGO_PKG_VERSION") },
            "instructions": format!(
                "The statusgate status page \"{}\" ({}). Read statusgate://page/summary first; ids for tools \
                 come from the page's resources. {writes}",
                target.page_name, target.page_id
            ),
        }))
        .unwrap_or_else(|_| ServerConfig::default());
        Self {
            api,
            target: Arc::new(target),
            tools: Arc::new(tools),
            info: Arc::new(info),
        }
    }

    fn tool(&self, name: &str) -> Option<&'static ToolSpec> {
        self.tools.iter().copied().find(|t| t.name == name)
    }
}

/// statusgate's refusals and transport failures go back as tool results the model can act on.
fn tool_result(r: Result<Value, ToolError>) -> Result<CallToolResult, ErrorData> {
    match r {
        Ok(v) => Ok(CallToolResult::structured(v)),
        Err(ToolError::InvalidParams(m)) => Err(ErrorData::invalid_params(m, None)),
        Err(ToolError::Api(e @ ApiError::Transport(_))) => {
            tracing::warn!(error = %e, "tool call did not reach statusgate");
            Ok(CallToolResult::error(vec![ContentBlock::text(
                e.to_string(),
            )]))
        }
        Err(ToolError::Api(e)) => Ok(CallToolResult::structured_error(e.to_json())),
    }
}

fn read_error(e: ReadError, uri: &str) -> ErrorData {
    match e {
        ReadError::NotFound(_) | ReadError::Api(ApiError::Refused { status: 404, .. }) => {
            ErrorData::resource_not_found(
                format!("resource not found: {uri}"),
                Some(json!({ "uri": uri })),
            )
        }
        ReadError::Invalid(m) => ErrorData::invalid_params(m, None),
        ReadError::Api(e @ ApiError::Refused { .. }) => {
            ErrorData::invalid_request(e.to_string(), Some(e.to_json()))
        }
        ReadError::Api(e @ ApiError::Transport(_)) => {
            ErrorData::internal_error(e.to_string(), None)
        }
    }
}

impl ServerHandler for PageMcp {
    fn get_info(&self) -> ServerConfig {
        (*self.info).clone()
    }

    async fn list_tools(
        &self,
        _req: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools: Vec<Value> = self.tools.iter().map(|t| t.to_json()).collect();
        from_json(json!({ "tools": tools }))
    }

    async fn call_tool(
        &self,
        req: CallToolRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // A tool that is not published is answered exactly like an unknown one.
        let Some(spec) = self.tool(&req.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool `{}`", req.name),
                None,
            ));
        };
        let args = req.arguments.unwrap_or_default();
        let r = tools::call(&self.api, &self.target.page_id, spec, &args).await;
        tool_result(r).map(Into::into)
    }

    async fn list_resources(
        &self,
        _req: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let items: Vec<Value> = resources::RESOURCES
            .iter()
            .map(|r| json!({ "uri": r.uri, "name": r.name, "description": r.description, "mimeType": "application/json" }))
            .collect();
        from_json(json!({ "resources": items }))
    }

    async fn list_resource_templates(
        &self,
        _req: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let items: Vec<Value> = resources::TEMPLATES
            .iter()
            .map(|r| json!({ "uriTemplate": r.uri, "name": r.name, "description": r.description, "mimeType": "application/json" }))
            .collect();
        from_json(json!({ "resourceTemplates": items }))
    }

    async fn read_resource(
        &self,
        req: ReadResourceRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if !req.uri.starts_with(PREFIX) {
            return Err(read_error(ReadError::NotFound(req.uri.clone()), &req.uri));
        }
        let v = resources::read(&self.api, &self.target.page_id, &req.uri)
            .await
            .map_err(|e| read_error(e, &req.uri))?;
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        let r: ReadResourceResult = from_json(
            json!({ "contents": [{ "uri": req.uri, "mimeType": "application/json", "text": text }] }),
        )?;
        Ok(r.into())
    }

    async fn list_prompts(
        &self,
        _req: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let items: Vec<Value> = prompts::PROMPTS.iter().map(|p| p.to_json()).collect();
        from_json(json!({ "prompts": items }))
    }

    async fn get_prompt(
        &self,
        req: GetPromptRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let args = req.arguments.unwrap_or_default();
        let (description, text) = prompts::get(&self.api, &self.target.page_id, &req.name, &args)
            .await
            .map_err(|e| match e {
                ReadError::Invalid(m) => ErrorData::invalid_params(m, None),
                other => read_error(other, &req.name),
            })?;
        let r: GetPromptResult = from_json(json!({
            "description": description,
            "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
        }))?;
        Ok(r.into())
    }
}
