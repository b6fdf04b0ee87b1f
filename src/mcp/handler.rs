//! The rmcp `ServerHandler`: protocol framing and version negotiation come from the SDK; every method
//! reads the authenticated `McpCaller` the HTTP layer put into the request and defers to the
//! transport-free catalog, tools, resources and prompts.

use std::sync::{Arc, LazyLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use serde_json::{json, Value};

use super::catalog::ToolSpec;
use super::incoming::Permitted;
use super::resources::{self, ResourceError};
use super::tools::ToolError;
use super::{catalog, prompts, McpCaller};
use crate::mcp_wire::from_json;
use crate::service::{ServiceError, Services};
use crate::telemetry::metrics::{self, ToolOutcome};

/// Cheap to clone: the factory runs once per request in stateless mode.
#[derive(Clone)]
pub struct StatusgateMcp {
    pub services: Services,
    pub base_url: Arc<str>,
    info: Arc<ServerConfig>,
}

impl StatusgateMcp {
    pub fn new(services: Services, base_url: &str) -> Self {
        let info = from_json(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": { "tools": {}, "resources": {}, "prompts": {} },
            "serverInfo": { "name": "statusgate", "title": "statusgate", "version": env!("CARGO_PKG_VERSION") },
            "instructions": "statusgate status pages. Call list_status_pages first; every other tool needs its page_id. \
                Ask the person before any write, and ask whether subscribers should be notified (notify). \
                To let a person review an incident or maintenance first, create it with draft: true.",
        }))
        .unwrap_or_else(|_| ServerConfig::default());
        Self {
            services,
            base_url: base_url.into(),
            info: Arc::new(info),
        }
    }
}

/// Every tool as `tools/list` shows it, built once: a listing filters and clones these.
static LISTED: LazyLock<Result<Vec<Tool>, ErrorData>> = LazyLock::new(|| {
    catalog::TOOLS
        .iter()
        .map(|t| from_json(t.to_json()))
        .collect()
});

impl StatusgateMcp {
    /// `tools/list` for `c`: only the tools its scopes and ticked tool set allow. Shared by the SDK's
    /// dispatch and the direct path in `super::direct`, so both answer the same.
    pub fn tools_for(&self, c: &McpCaller) -> Result<ListToolsResult, ErrorData> {
        let tools = catalog::TOOLS
            .iter()
            .zip(LISTED.as_ref().map_err(Clone::clone)?)
            .filter(|(t, _)| c.may_use(t))
            .map(|(_, listed)| listed.clone())
            .collect();
        // As a result read from JSON would be: no `resultType`, which only 2026-07-28 adds.
        Ok(ListToolsResult {
            result_type: None,
            meta: None,
            next_cursor: None,
            ttl_ms: None,
            cache_scope: None,
            tools,
        })
    }

    /// `tools/call` for `c`, looked up here. A hidden tool is answered exactly like an unknown one.
    pub async fn call_tool_for(
        &self,
        c: &McpCaller,
        req: CallToolRequestParams,
    ) -> Result<CallToolResult, ErrorData> {
        match catalog::tool(&req.name) {
            Some(spec) if c.may_use(spec) => self.call_permitted(c, spec, req).await,
            found => Err(unknown_tool(found, &req.name)),
        }
    }

    /// `tools/call` of a tool `c` was found to be allowed to use, counted for the metrics.
    pub async fn call_permitted(
        &self,
        c: &McpCaller,
        spec: &'static ToolSpec,
        req: CallToolRequestParams,
    ) -> Result<CallToolResult, ErrorData> {
        let args = req.arguments.unwrap_or_default();
        let result = tool_result(
            super::tools::call(&self.services, c, &self.base_url, spec.name, &args).await,
        );
        let outcome = match &result {
            Ok(r) if r.is_error == Some(true) => ToolOutcome::ToolError,
            Ok(_) => ToolOutcome::Ok,
            Err(_) => ToolOutcome::Refused,
        };
        metrics::tool_call(spec.name, outcome);
        result
    }
}

/// The answer to a call of a tool that does not exist or that the caller may not see (counted as
/// refused): the same either way, so a hidden tool's existence is not given away.
pub fn unknown_tool(found: Option<&'static ToolSpec>, asked: &str) -> ErrorData {
    metrics::tool_call(found.map_or("unknown", |t| t.name), ToolOutcome::Refused);
    tracing::debug!(tool = asked, "unknown or hidden tool");
    ErrorData::invalid_params(format!("unknown tool `{asked}`"), None)
}

fn caller(ctx: &RequestContext<RoleServer>) -> Result<McpCaller, ErrorData> {
    ctx.extensions
        .get::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<McpCaller>())
        .cloned()
        .ok_or_else(|| ErrorData::invalid_request("not authenticated", None))
}

/// Domain refusals go back as tool results the model can act on; argument errors as -32602. Each
/// error is logged here, where it becomes the answer, and nowhere else.
pub(super) fn tool_result(r: Result<Value, ToolError>) -> Result<CallToolResult, ErrorData> {
    match r {
        Ok(v) => Ok(CallToolResult::structured(v)),
        Err(ToolError::InvalidParams(e)) => {
            tracing::debug!(error = %e, "tool arguments refused");
            Err(ErrorData::invalid_params(e.0, None))
        }
        Err(ToolError::Service(ServiceError::Internal(e))) => {
            tracing::error!(error = ?e, "tool failed");
            Ok(CallToolResult::error(vec![ContentBlock::text(
                "statusgate hit an internal error; try again later",
            )]))
        }
        Err(ToolError::Service(e)) => {
            tracing::debug!(error = %e, "tool refused");
            Ok(CallToolResult::structured_error(
                json!({ "error": e.to_string() }),
            ))
        }
    }
}

fn content_error(e: ResourceError, uri: &str) -> ErrorData {
    match e {
        ResourceError::NotFound(_)
        | ResourceError::Tool(ToolError::Service(ServiceError::NotFound(_))) => {
            ErrorData::resource_not_found(
                format!("resource not found: {uri}"),
                Some(json!({ "uri": uri })),
            )
        }
        ResourceError::Scope(s) => {
            ErrorData::invalid_request(format!("this resource needs the {s} scope"), None)
        }
        e @ ResourceError::Unticked(_) => ErrorData::invalid_request(e.to_string(), None),
        ResourceError::Tool(ToolError::InvalidParams(p)) => ErrorData::invalid_params(p.0, None),
        ResourceError::Tool(ToolError::Service(ServiceError::Internal(e))) => {
            tracing::error!(error = ?e, "resource read failed");
            ErrorData::internal_error("internal error", None)
        }
        ResourceError::Tool(ToolError::Service(e)) => {
            ErrorData::invalid_request(e.to_string(), None)
        }
    }
}

/// Every prompt failure is the arguments' fault as far as the client is told; an internal one is
/// logged here, the one place it becomes an answer.
fn prompt_error(e: ToolError) -> ErrorData {
    match e {
        ToolError::InvalidParams(p) => ErrorData::invalid_params(p.0, None),
        ToolError::Service(e) => {
            if let ServiceError::Internal(cause) = &e {
                tracing::error!(error = ?cause, "prompt failed");
            }
            ErrorData::invalid_params(e.to_string(), None)
        }
    }
}

impl ServerHandler for StatusgateMcp {
    fn get_info(&self) -> ServerConfig {
        (*self.info).clone()
    }

    async fn list_tools(
        &self,
        _req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.tools_for(&caller(&ctx)?)
    }

    async fn call_tool(
        &self,
        req: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let c = caller(&ctx)?;
        // The tool the guard found and allowed for this very name, if it judged the body.
        let judged = ctx
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<Permitted>())
            .filter(|p| p.0.name == req.name);
        let spec = match judged {
            Some(Permitted(spec)) => *spec,
            None => match catalog::tool(&req.name) {
                Some(spec) if c.may_use(spec) => spec,
                found => return Err(unknown_tool(found, &req.name)),
            },
        };
        if super::confirm::engaged(spec, &req, &ctx.meta) {
            return super::confirm::call(self, &c, spec, req).await;
        }
        self.call_permitted(&c, spec, req).await.map(Into::into)
    }

    async fn list_resources(
        &self,
        _req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let c = caller(&ctx)?;
        let listed = resources::list(&self.services, &c)
            .await
            .map_err(|e| content_error(e.into(), "statusgate://"))?;
        let items: Vec<Value> = listed
            .iter()
            .map(|r| json!({ "uri": r.uri, "name": r.name, "description": r.description, "mimeType": "application/json" }))
            .collect();
        from_json(json!({ "resources": items }))
    }

    async fn list_resource_templates(
        &self,
        _req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let c = caller(&ctx)?;
        let items: Vec<Value> = resources::templates(&c)
            .iter()
            .map(|r| json!({ "uriTemplate": r.uri, "name": r.name, "description": r.description, "mimeType": "application/json" }))
            .collect();
        from_json(json!({ "resourceTemplates": items }))
    }

    async fn read_resource(
        &self,
        req: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let c = caller(&ctx)?;
        let v = resources::read(&self.services, &c, &self.base_url, &req.uri)
            .await
            .map_err(|e| content_error(e, &req.uri))?;
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        let r: ReadResourceResult = from_json(
            json!({ "contents": [{ "uri": req.uri, "mimeType": "application/json", "text": text }] }),
        )?;
        Ok(r.into())
    }

    async fn list_prompts(
        &self,
        _req: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let c = caller(&ctx)?;
        let items: Vec<Value> = prompts::visible(&c).map(|p| p.to_json()).collect();
        from_json(json!({ "prompts": items }))
    }

    async fn get_prompt(
        &self,
        req: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let c = caller(&ctx)?;
        let args = req.arguments.unwrap_or_default();
        let (description, text) =
            prompts::get(&self.services, &c, &self.base_url, &req.name, &args)
                .await
                .map_err(prompt_error)?;
        let r: GetPromptResult = from_json(json!({
            "description": description,
            "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
        }))?;
        Ok(r.into())
    }
}
