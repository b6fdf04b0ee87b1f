//! The authorization server's HTTP face: well-known documents, registration, token and revocation, with
//! CORS answered before anything else, and the one place where an `OAuthError` becomes a response.
//! The browser-facing authorize and consent pages are in `web::consent`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;

use super::token::{
    AssertionGrant, ClientCredentials, CodeGrant, GrantRequest, RefreshGrant, TokenRequest,
    JWT_BEARER,
};
use super::{AuthServer, OAuthError};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route(
            "/.well-known/oauth-authorization-server/mcp",
            get(as_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(resource_metadata),
        )
        .route("/mcp/oauth/register", post(register))
        .route("/mcp/oauth/token", post(token))
        .route("/mcp/oauth/revoke", post(revoke))
        .layer(axum::middleware::from_fn(cors))
}

/// Any origin, no credentials: these endpoints never read cookies. Preflights end here, before auth.
async fn cors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    }
    resp
}

async fn as_metadata(State(oauth): State<AuthServer>) -> Response {
    Json(oauth.as_metadata()).into_response()
}

async fn resource_metadata(State(oauth): State<AuthServer>) -> Response {
    Json(oauth.resource_metadata()).into_response()
}

fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Server(e) => {
                tracing::error!(error = ?e, "oauth request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({ "error": self.to_string(), "error_description": self.description() });
        let mut resp = no_store((status, Json(body)).into_response());
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"statusgate\""),
            );
        }
        if let Self::TooManyRequests(secs) = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

fn content_type_is(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

/// RFC 7591 §3: dynamic client registration. Refused before anything is stored when the body is larger
/// than [`MAX_BODY`](crate::service::connector::registration::MAX_BODY); registrations that store a new client are limited
/// per client address.
async fn register(
    State(oauth): State<AuthServer>,
    from: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > crate::service::connector::registration::MAX_BODY {
        return OAuthError::InvalidClientMetadata(format!(
            "the registration is larger than {} KiB",
            crate::service::connector::registration::MAX_BODY / 1024
        ))
        .into_response();
    }
    if !content_type_is(&headers, "application/json") {
        return OAuthError::InvalidClientMetadata(
            "send the client metadata as application/json".into(),
        )
        .into_response();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return OAuthError::InvalidClientMetadata("the body is not JSON".into()).into_response();
    };
    match oauth.register(&value, &from.key()).await {
        Ok(r) => no_store((StatusCode::CREATED, Json(r.response)).into_response()),
        Err(e) => e.into_response(),
    }
}

/// The token and revocation endpoints' form, as sent: every parameter either endpoint reads.
#[derive(Default)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    /// RFC 7523's `assertion` (the jwt-bearer grant).
    assertion: Option<String>,
    /// RFC 7009's `token` (the hint is ignored, §2.1).
    token: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    client: ClientCredentials,
}

impl TokenForm {
    /// The grant the form asks for, with the parameters that grant requires.
    fn into_request(self) -> Result<TokenRequest, OAuthError> {
        let missing = |what: &str| OAuthError::InvalidRequest(format!("{what} is missing"));
        let grant = match self.grant_type.as_deref() {
            Some("authorization_code") => GrantRequest::AuthorizationCode(CodeGrant {
                code: self.code.ok_or_else(|| missing("code"))?,
                code_verifier: self.code_verifier.ok_or_else(|| missing("code_verifier"))?,
                redirect_uri: self.redirect_uri,
                resource: self.resource,
            }),
            Some("refresh_token") => GrantRequest::RefreshToken(RefreshGrant {
                refresh_token: self.refresh_token.ok_or_else(|| missing("refresh_token"))?,
                scope: self.scope,
                resource: self.resource,
            }),
            Some(JWT_BEARER) => GrantRequest::JwtBearer(AssertionGrant {
                assertion: self.assertion.ok_or_else(|| missing("assertion"))?,
                scope: self.scope,
                resource: self.resource,
            }),
            None => return Err(missing("grant_type")),
            Some(_) => return Err(OAuthError::UnsupportedGrantType),
        };
        Ok(TokenRequest {
            client: self.client,
            grant,
        })
    }
}

/// Reads a form body; a repeated parameter is an error (RFC 6749 §3.2).
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<TokenForm, OAuthError> {
    if !content_type_is(headers, "application/x-www-form-urlencoded") {
        return Err(OAuthError::InvalidRequest(
            "send the request as application/x-www-form-urlencoded".into(),
        ));
    }
    let mut req = TokenForm::default();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if seen.iter().any(|s| *s == k) {
            return Err(OAuthError::InvalidRequest(format!(
                "{k} appears more than once"
            )));
        }
        seen.push(k.to_string());
        let slot = match k.as_ref() {
            "grant_type" => &mut req.grant_type,
            "code" => &mut req.code,
            "redirect_uri" => &mut req.redirect_uri,
            "code_verifier" => &mut req.code_verifier,
            "refresh_token" => &mut req.refresh_token,
            "assertion" => &mut req.assertion,
            "token" => &mut req.token,
            "scope" => &mut req.scope,
            "resource" => &mut req.resource,
            "client_id" => &mut req.client.client_id,
            "client_secret" => &mut req.client.client_secret,
            _ => continue,
        };
        // No identifier or secret holds a NUL, and PostgreSQL refuses one in any lookup.
        if v.contains('\0') {
            return Err(OAuthError::InvalidRequest(format!(
                "{k} contains a NUL character"
            )));
        }
        *slot = Some(v.into_owned());
    }
    req.client.basic = basic_credentials(headers)?;
    Ok(req)
}

/// HTTP Basic client credentials, form-decoded as RFC 6749 §2.3.1 requires.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let bad = || OAuthError::InvalidClient("malformed Basic credentials".into());
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (decode(id), decode(secret));
    if id.contains('\0') || secret.contains('\0') {
        return Err(bad());
    }
    Ok(Some((id, secret)))
}

async fn token(State(oauth): State<AuthServer>, headers: HeaderMap, body: Bytes) -> Response {
    let result = match parse_form(&headers, &body).and_then(TokenForm::into_request) {
        Ok(req) => oauth.token(&req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn revoke(State(oauth): State<AuthServer>, headers: HeaderMap, body: Bytes) -> Response {
    let result = match parse_form(&headers, &body) {
        Ok(form) => {
            oauth
                .revoke_token(&form.client, form.token.as_deref())
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}
