//! `/mcp` over Streamable HTTP, stateless: any instance answers any request. One handler does what the
//! protocol and RFC 6750 ask of a protected resource, in this order: CORS preflight (the layer in front,
//! never auth-gated), `Origin` check, method check (only POST), bearer authentication on every request
//! (`super::admit`), the body read once (`super::incoming`) and the scope check of the call inside it
//! (403 `insufficient_scope` so clients can step up), and a lenient `Accept`. Then the direct path answers,
//! or the SDK's service does, with the authenticated `McpCaller` in the request extensions.

use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Value};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::field::Empty;

use super::admit::{authenticate, check_origin, json_rpc_error, API_KEY_HEADER};
pub use super::admit::{AuthFailure, AuthFuture, Authenticate};
use super::direct::Direct;
use super::handler::StatusgateMcp;
use super::incoming::{Incoming, Permitted};
use super::{catalog, McpCaller, McpScope};
use crate::service::Services;

#[derive(Clone)]
pub struct McpHttp {
    pub auth: Arc<dyn Authenticate>,
    pub services: Services,
    /// `{public_url}/.well-known/oauth-protected-resource/mcp`.
    pub resource_metadata: Arc<str>,
    /// Origins allowed to call from a browser: our own plus configured ones.
    pub allowed_origins: Arc<[String]>,
    /// Whether `mcp::direct` answers what it can (`[mcp] direct_dispatch`).
    pub direct_dispatch: bool,
}

/// Bodies above this are refused with 413 before any parsing.
const MAX_BODY: usize = 256 * 1024;

/// The SDK's service, answering what the direct path leaves.
type Sdk = StreamableHttpService<StatusgateMcp, LocalSessionManager>;

/// What `/mcp` needs on every request, shared rather than cloned per request.
struct Mcp {
    http: McpHttp,
    direct: Option<Direct>,
    sdk: Sdk,
}

pub fn router<S: Clone + Send + Sync + 'static>(state: McpHttp, public_url: &str) -> Router<S> {
    let handler = StatusgateMcp::new(state.services.clone(), public_url);
    let hosts = hosts(public_url);
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts.clone());
    let direct = state
        .direct_dispatch
        .then(|| Direct::new(handler.clone(), &hosts));
    let sdk = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let cors = cors(state.allowed_origins.clone());
    // Behind an `Arc`: axum clones a route's state for every request, and rmcp's service its config.
    let mcp = Arc::new(Mcp {
        http: state,
        direct,
        sdk,
    });
    // The listing is guarded as a layer around the whole method router, so a wrong method is still
    // asked for credentials first.
    let tools = get(list_tools).layer(axum::middleware::from_fn_with_state(mcp.clone(), admit));
    Router::new()
        .route("/mcp", any(serve))
        .route("/mcp/tools", tools)
        .with_state(mcp)
        .layer(cors)
}

/// The `Host` values rmcp accepts: the public URL's authority and name, and loopback.
fn hosts(public_url: &str) -> [String; 5] {
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let hostname = host.split(':').next().unwrap_or_default().to_owned();
    [
        host,
        hostname,
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ]
}

fn cors(origins: Arc<[String]>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |o: &HeaderValue, _| {
            o.to_str().is_ok_and(|o| origins.iter().any(|a| a == o))
        }))
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            API_KEY_HEADER,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-method"),
            HeaderName::from_static("mcp-name"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("mcp-protocol-version"),
        ])
}

/// `/mcp`: every request is checked, read and judged here once, then answered by the direct path or
/// handed to rmcp.
#[tracing::instrument(name = "mcp", skip_all, fields(rpc = Empty, tool = Empty))]
async fn serve(State(mcp): State<Arc<Mcp>>, req: Request) -> Response {
    let state = &mcp.http;
    let caller = match admit_post(state, req.method(), req.headers(), req.uri().query()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match read_body(&parts.headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    normalise_accept(&mut parts.headers);
    let incoming = Incoming::read(&bytes, &caller);
    name_in_span(&incoming);
    if let Some(scopes) = &incoming.lacking {
        return super::refusal::insufficient_scope(state, &incoming, &caller, scopes).await;
    }
    let permitted = incoming.permitted();
    if let (Some(msg), Some(direct)) = (incoming.envelope, &mcp.direct) {
        if let Some(r) = direct.answer(&parts.headers, &caller, msg, permitted).await {
            return r;
        }
    }
    // rmcp reads the body again: only for what the direct path leaves.
    parts.extensions.insert(caller);
    if let Some(tool) = permitted {
        parts.extensions.insert(Permitted(tool));
    }
    let patch = super::revision::needs_result_type(&parts.headers);
    let resp = mcp
        .sdk
        .handle(Request::from_parts(parts, Body::from(bytes)))
        .await
        .map(Body::new);
    if patch {
        super::revision::with_result_type(resp).await
    } else {
        resp
    }
}

/// `Origin`, then the method (only POST: stateless, no GET stream and no sessions to delete), then the
/// credential.
async fn admit_post(
    state: &McpHttp,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<McpCaller, Response> {
    check_origin(state, headers)?;
    if method != Method::POST {
        let mut r = json_rpc_error(StatusCode::METHOD_NOT_ALLOWED, -32600, "use POST");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(r);
    }
    authenticate(state, headers, query).await
}

/// The body, at most `MAX_BODY` bytes, and JSON if it says it is.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Err(json_rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            -32600,
            "request body too large",
        ));
    };
    if declares_json(headers) && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        return Err(json_rpc_error(
            StatusCode::BAD_REQUEST,
            -32700,
            "parse error: the body is not valid JSON",
        ));
    }
    Ok(bytes)
}

/// The method and, for a tool call, the catalog's name of the tool: never text the client chose.
fn name_in_span(incoming: &Incoming<'_>) {
    let span = tracing::Span::current();
    let method = incoming.envelope.as_ref().and_then(|m| m.method());
    let known = [
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/list",
        "prompts/get",
    ];
    if let Some(m) = known.into_iter().find(|k| Some(*k) == method) {
        span.record("rpc", m);
    }
    if let Some(tool) = incoming.tool {
        span.record("tool", tool.name);
    }
}

/// The checks in front of `/mcp/tools`: `Origin` and the credential, whose caller the listing reads.
async fn admit(State(mcp): State<Arc<Mcp>>, mut req: Request, next: Next) -> Response {
    if let Err(r) = check_origin(&mcp.http, req.headers()) {
        return r;
    }
    match authenticate(&mcp.http, req.headers(), req.uri().query()).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(r) => r,
    }
}

/// A body declared as JSON that is not JSON is a JSON-RPC parse error; any other declared type is
/// left to the transport, which answers 415.
fn declares_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

const CANONICAL_ACCEPT: &str = "application/json, text/event-stream";

/// Some clients send only one of the two types the transport names (checklist D9); both are fine here.
fn normalise_accept(headers: &mut HeaderMap) {
    if headers
        .get(header::ACCEPT)
        .is_some_and(|v| v == CANONICAL_ACCEPT)
    {
        return;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*")
        .to_ascii_lowercase();
    let lenient = accept.is_empty()
        || [
            "application/json",
            "text/event-stream",
            "*/*",
            "application/*",
        ]
        .iter()
        .any(|t| accept.contains(t));
    if lenient {
        headers.insert(header::ACCEPT, HeaderValue::from_static(CANONICAL_ACCEPT));
    }
}

/// `GET /mcp/tools`: the tools these credentials can use, for people and scripts.
async fn list_tools(req: Request) -> Response {
    let Some(caller) = req.extensions().get::<McpCaller>() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let tools: Vec<Value> = catalog::TOOLS
        .iter()
        .filter(|t| caller.may_use(t))
        .map(|t| json!({ "name": t.name, "title": t.title, "description": t.description, "scope": t.scope.as_str(), "read_only": t.read_only }))
        .collect();
    Json(json!({ "tools": tools })).into_response()
}

/// OAuth access tokens from statusgate's own authorization server.
impl Authenticate for crate::oauth::AuthServer {
    fn authenticate<'a>(&'a self, token: &'a str) -> AuthFuture<'a> {
        Box::pin(async move {
            use crate::oauth::keys::AccessError;
            match self.verify_access(token).await {
                Ok(grant) => Ok(McpCaller {
                    principal: grant.principal(None),
                    scopes: grant
                        .scopes
                        .iter()
                        .filter_map(|s| McpScope::parse(s.as_str()))
                        .filter(|s| grant.org_allows_write || !s.is_write())
                        .collect(),
                    allowed_tools: Some(grant.tools.clone()),
                }),
                Err(AccessError::Unavailable) => Err(AuthFailure::Unavailable),
                Err(e) => Err(AuthFailure::InvalidToken(e.to_string())),
            }
        })
    }
}
