//! `/mcp` over Streamable HTTP, stateless: any instance answers any request. In front of the SDK's
//! service, one guard does what the protocol and RFC 6750 ask of a protected resource, in this order:
//! CORS preflight (never auth-gated), `Origin` check, method check (only POST), bearer authentication on
//! every request, scope check of the call inside the body (403 `insufficient_scope` so clients can step
//! up), and a lenient `Accept`. The authenticated `McpCaller` rides in the request extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
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

use super::direct::{Direct, Envelope};
use super::handler::StatusgateMcp;
use super::resources::scope_for;
use super::{catalog, prompts, McpCaller, McpScope};
use crate::service::Services;

/// Why a bearer token was not accepted.
#[derive(Debug)]
pub enum AuthFailure {
    /// Unknown, expired, revoked or not for this resource: 401 `invalid_token`.
    InvalidToken(String),
    /// The check itself failed (database down): 503, the token may be fine.
    Unavailable,
}

pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<McpCaller, AuthFailure>> + Send + 'a>>;

/// Turns a bearer credential into a caller: OAuth access tokens and statusgate API keys.
pub trait Authenticate: Send + Sync + 'static {
    fn authenticate<'a>(&'a self, token: &'a str) -> AuthFuture<'a>;
}

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

/// The header an API key may come in instead of `Authorization: Bearer`.
const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-statusgate-key");

/// Bodies above this are refused with 413 before any parsing.
const MAX_BODY: usize = 256 * 1024;

/// What the guard needs on every request, shared rather than cloned per request.
struct Guarded {
    http: McpHttp,
    direct: Option<Direct>,
}

pub fn router<S: Clone + Send + Sync + 'static>(state: McpHttp, public_url: &str) -> Router<S> {
    let handler = StatusgateMcp::new(state.services.clone(), public_url);
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let hostname = host.split(':').next().unwrap_or_default().to_owned();
    let hosts = [
        host,
        hostname,
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ];
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts.clone());
    let guarded = Arc::new(Guarded {
        http: state.clone(),
        direct: state
            .direct_dispatch
            .then(|| Direct::new(handler.clone(), &hosts)),
    });
    // Behind an `Arc`: axum clones a route's service for every request, and rmcp's clones its config.
    let sdk = Arc::new(StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    ));
    let origins = state.allowed_origins.clone();
    let cors = CorsLayer::new()
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
        ]);
    Router::new()
        .route(
            "/mcp",
            any(move |req: Request| {
                let sdk = sdk.clone();
                async move { sdk.handle(req).await.map(Body::new) }
            }),
        )
        .route("/mcp/tools", get(list_tools))
        .layer(axum::middleware::from_fn_with_state(guarded, guard))
        .layer(cors)
}

fn json_rpc_error(status: StatusCode, code: i64, message: &str) -> Response {
    // JSON-RPC 2.0 §5: an error about a request whose id could not be read carries `"id": null`.
    let body =
        json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

fn challenge(state: &McpHttp, error: Option<&str>, scopes: &[McpScope]) -> HeaderValue {
    let mut v = format!("Bearer resource_metadata=\"{}\"", state.resource_metadata);
    if let Some(e) = error {
        v.push_str(&format!(", error=\"{e}\""));
    }
    if !scopes.is_empty() {
        v.push_str(&format!(", scope=\"{}\"", McpScope::join(scopes)));
    }
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("Bearer"))
}

fn unauthorized(state: &McpHttp, error: Option<&str>, message: &str) -> Response {
    let mut r = json_rpc_error(StatusCode::UNAUTHORIZED, -32001, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        challenge(state, error, &McpScope::READ),
    );
    r
}

/// The bearer token, or the response that refuses the request.
#[allow(clippy::result_large_err)] // The error is the response itself, built once.
fn bearer<'a>(
    state: &McpHttp,
    headers: &'a HeaderMap,
    query: Option<&str>,
) -> Result<&'a str, Response> {
    // RFC 6750 §2.3 is not offered: a token in the URL would end up in logs.
    if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("access_token="))) {
        return Err(unauthorized(
            state,
            Some("invalid_request"),
            "tokens are accepted only in the Authorization header",
        ));
    }
    // An API key may come in its own header instead; one credential per request.
    let keys: Vec<&HeaderValue> = headers.get_all(API_KEY_HEADER).iter().collect();
    if let [key, rest @ ..] = keys.as_slice() {
        if !rest.is_empty() || headers.contains_key(header::AUTHORIZATION) {
            return Err(json_rpc_error(
                StatusCode::BAD_REQUEST,
                -32600,
                "send one credential",
            ));
        }
        return match key.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() => Ok(k),
            _ => Err(unauthorized(
                state,
                Some("invalid_request"),
                "empty API key",
            )),
        };
    }
    let values: Vec<&HeaderValue> = headers.get_all(header::AUTHORIZATION).iter().collect();
    let value = match values.as_slice() {
        [] => return Err(unauthorized(state, None, "authentication required")),
        [one] => *one,
        _ => {
            return Err(json_rpc_error(
                StatusCode::BAD_REQUEST,
                -32600,
                "more than one Authorization header",
            ))
        }
    };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(unauthorized(
            state,
            Some("invalid_request"),
            "use Authorization: Bearer <token>",
        )),
    }
}

/// What the call in the body needs beyond what the caller has, if anything.
fn missing_scope(
    caller: &McpCaller,
    method: Option<&str>,
    params: &Value,
) -> Option<Vec<McpScope>> {
    match method? {
        "tools/call" => {
            let tool = catalog::tool(params["name"].as_str()?)?;
            (!caller.may_use(tool)).then(|| vec![tool.scope])
        }
        "resources/read" => {
            let scope = scope_for(params["uri"].as_str()?)?;
            (!caller.has(scope)).then(|| vec![scope])
        }
        "prompts/get" => {
            let spec = prompts::PROMPTS
                .iter()
                .find(|p| Some(p.name) == params["name"].as_str())?;
            let lacking: Vec<McpScope> = spec
                .needs
                .iter()
                .copied()
                .filter(|s| !caller.has(*s))
                .collect();
            (!lacking.is_empty()).then_some(lacking)
        }
        _ => None,
    }
}

async fn guard(State(guarded): State<Arc<Guarded>>, req: Request, next: Next) -> Response {
    let state = &guarded.http;
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| state.allowed_origins.iter().any(|a| a == o));
        if !ok {
            return json_rpc_error(StatusCode::FORBIDDEN, -32600, "origin not allowed");
        }
    }
    let is_mcp = req.uri().path() == "/mcp";
    if is_mcp && req.method() != Method::POST {
        // Stateless: no GET stream and no sessions to delete.
        let mut r = json_rpc_error(StatusCode::METHOD_NOT_ALLOWED, -32600, "use POST");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let token = match bearer(state, req.headers(), req.uri().query()) {
        Ok(t) => t.to_owned(),
        Err(r) => return r,
    };
    let caller = match state.auth.authenticate(&token).await {
        Ok(c) => c,
        Err(AuthFailure::InvalidToken(why)) => {
            return unauthorized(state, Some("invalid_token"), &why)
        }
        Err(AuthFailure::Unavailable) => {
            return json_rpc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                -32603,
                "authentication is unavailable; retry",
            )
        }
    };
    if let crate::service::Actor::Mcp { grant_id, .. } = &caller.principal.actor {
        state.services.record_call(grant_id);
    }
    crate::telemetry::record_principal_kind(match caller.principal.actor {
        crate::service::Actor::User => crate::telemetry::PrincipalKind::User,
        crate::service::Actor::ApiKey { .. } => crate::telemetry::PrincipalKind::ApiKey,
        crate::service::Actor::Mcp { .. } => crate::telemetry::PrincipalKind::Mcp,
    });
    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return json_rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                -32600,
                "request body too large",
            )
        }
    };
    if is_mcp {
        if declares_json(&parts.headers)
            && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err()
        {
            return json_rpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                "parse error: the body is not valid JSON",
            );
        }
        normalise_accept(&mut parts.headers);
        let envelope = serde_json::from_slice::<Envelope<'_>>(&bytes);
        let lacking = match &envelope {
            Ok(msg) => missing_scope(&caller, msg.method(), &msg.params),
            // An odd message (duplicate keys, say) is still checked, then left to rmcp to judge.
            Err(_) => serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| missing_scope(&caller, v["method"].as_str(), &v["params"])),
        };
        if let Some(scopes) = lacking {
            if let Some(tool) = envelope
                .as_ref()
                .ok()
                .filter(|m| m.method() == Some("tools/call"))
                .and_then(|m| catalog::tool(m.params["name"].as_str()?))
            {
                crate::telemetry::metrics::tool_call(
                    tool.name,
                    crate::telemetry::metrics::ToolOutcome::Refused,
                );
            }
            let mut r = json_rpc_error(
                StatusCode::FORBIDDEN,
                -32003,
                "insufficient scope for this call",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                challenge(state, Some("insufficient_scope"), &scopes),
            );
            return r;
        }
        if let (Ok(msg), Some(direct)) = (envelope, &guarded.direct) {
            if let Some(r) = direct.answer(&parts.headers, &caller, msg).await {
                return r;
            }
        }
    }
    parts.extensions.insert(caller);
    let patch = is_mcp && super::revision::needs_result_type(&parts.headers);
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if patch {
        super::revision::with_result_type(resp).await
    } else {
        resp
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
