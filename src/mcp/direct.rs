//! The direct path for the calls that carry an assistant's steady traffic, `tools/call` and `tools/list`,
//! on the initialize-based revisions. rmcp's stateless transport builds a service, a task and two
//! channels for every request; answering these few methods here, with rmcp's own model types and the same
//! handler code, doubles what one machine serves (BENCHMARKS.md). Everything else, and anything this path
//! is not sure about, goes to rmcp unchanged: the direct path only answers requests rmcp would accept, and
//! answers them with the bytes rmcp would send.

use std::sync::Arc;

use super::catalog::ToolSpec;
use super::handler::{unknown_tool, StatusgateMcp};
use super::incoming::Envelope;
use super::McpCaller;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use rmcp::model::{
    CallToolRequestParams, ErrorData, JsonRpcMessage, ProtocolVersion, RequestId,
    ServerJsonRpcMessage, ServerResult,
};

/// The `_meta` key by which a request negotiates its revision on its own (2026-07-28).
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

pub struct Direct {
    handler: StatusgateMcp,
    transport: Transport,
}

impl Direct {
    pub fn new(handler: StatusgateMcp, hosts: &[String]) -> Self {
        Self {
            handler,
            transport: Transport::new(hosts),
        }
    }

    /// The answer to `msg`, or `None` when rmcp should answer it. `headers` are the request's, with
    /// `Accept` already normalised; `permitted` is the tool a `tools/call` names when the caller may use
    /// it, as the guard found it in the catalog.
    pub async fn answer(
        &self,
        headers: &HeaderMap,
        caller: &McpCaller,
        msg: Envelope<'_>,
        permitted: Option<&'static ToolSpec>,
    ) -> Option<Response> {
        if !self.transport.agrees(headers) || msg.jsonrpc.as_deref() != Some("2.0") {
            return None;
        }
        let id: RequestId = serde_json::from_value(msg.id?).ok()?;
        if msg
            .params
            .get("_meta")
            .and_then(|m| m.get(META_VERSION))
            .is_some()
        {
            return None;
        }
        let result = match msg.method.as_deref()? {
            "tools/call" => {
                // Malformed params get rmcp's own error.
                let params: CallToolRequestParams = serde_json::from_value(msg.params).ok()?;
                match permitted {
                    Some(spec) => self.handler.call_permitted(caller, spec, params).await,
                    None => Err(unknown_tool(None, &params.name)),
                }
                .map(ServerResult::CallToolResult)
            }
            "tools/list" if msg.params.is_null() || msg.params.is_object() => self
                .handler
                .tools_for(caller)
                .map(ServerResult::ListToolsResult),
            _ => return None,
        };
        // The call has run: from here on it is answered here, never handed to rmcp to run again.
        Some(respond(result, id))
    }
}

/// The JSON-RPC answer as rmcp would send it to a peer older than 2026-07-28.
fn respond(result: Result<ServerResult, ErrorData>, id: RequestId) -> Response {
    let message: ServerJsonRpcMessage = match result {
        Ok(mut r) => {
            r.strip_result_type_for_legacy_peer();
            JsonRpcMessage::response(r, id.clone())
        }
        Err(e) => JsonRpcMessage::error(e, Some(id.clone())),
    };
    let body = serde_json::to_vec(&message).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising a direct answer failed");
        let fail = ErrorData::internal_error("could not encode the answer", None);
        let fail: ServerJsonRpcMessage = JsonRpcMessage::error(fail, Some(id));
        serde_json::to_vec(&fail).unwrap_or_default()
    });
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The transport checks rmcp makes before dispatch.
struct Transport {
    /// The `Host` values rmcp accepts, lower-cased; anything else is left to rmcp's 403.
    hosts: Arc<[String]>,
}

impl Transport {
    fn new(hosts: &[String]) -> Self {
        Self {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// `host` is one of the allowed authorities, or its name is an allowed name given without a port.
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => host.as_str(),
        };
        self.hosts
            .iter()
            .any(|a| *a == host || (!a.contains(':') && a == name))
    }

    /// "Yes" only when rmcp would say yes too, and would then answer in JSON without a negotiation.
    fn agrees(&self, headers: &HeaderMap) -> bool {
        let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
        // The initialize-based revisions rmcp knows need nothing from the transport beyond the JSON-RPC
        // framing; 2026-07-28 (per-request `_meta`, `Mcp-*` header checks, `resultType`) stays with rmcp.
        let revision_ok = match text("mcp-protocol-version") {
            None => true,
            Some(v) => ProtocolVersion::KNOWN_VERSIONS
                .iter()
                .any(|p| p.as_str() == v && p.has_initialize()),
        };
        let json_body = text(header::CONTENT_TYPE.as_str()).is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
        });
        let accepts = text(header::ACCEPT.as_str()).is_some_and(|a| {
            let a = a.to_ascii_lowercase();
            a.contains("application/json") && a.contains("text/event-stream")
        });
        let host_ok = text(header::HOST.as_str()).is_some_and(|h| self.host_allowed(h));
        revision_ok && json_body && accepts && host_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    const BASE: [(&str, &str); 3] = [
        ("host", "status.example.com"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];

    fn with(change: (&'static str, &str)) -> HeaderMap {
        let mut pairs: Vec<(&'static str, &str)> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != change.0)
            .collect();
        pairs.push(change);
        headers(&pairs)
    }

    #[test]
    fn answers_only_what_rmcp_would_accept_unchanged() {
        let d = Transport::new(&[
            "status.example.com".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
            "API.example.com:8443".to_owned(),
        ]);
        assert!(d.agrees(&headers(&BASE)));
        for ok in [
            ("mcp-protocol-version", "2025-03-26"),
            ("mcp-protocol-version", "2025-06-18"),
            ("mcp-protocol-version", "2025-11-25"),
            ("content-type", "application/json; charset=utf-8"),
            ("host", "STATUS.example.com:443"),
            ("host", "127.0.0.1:8080"),
            ("host", "api.example.com:8443"),
        ] {
            assert!(d.agrees(&with(ok)), "{ok:?}");
        }
        for left_to_rmcp in [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-protocol-version", "1999-01-01"),
            ("content-type", "text/plain"),
            ("accept", "application/json"),
            ("host", "evil.example"),
            ("host", "api.example.com:9999"),
            ("host", "[::1]:8080"),
        ] {
            assert!(!d.agrees(&with(left_to_rmcp)), "{left_to_rmcp:?}");
        }
        let no_host: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != "host").collect();
        assert!(!d.agrees(&headers(&no_host)));
    }
}
