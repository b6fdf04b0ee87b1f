//! The authorization endpoint's browser side: `GET /mcp/oauth/authorize` checks the request, sends a
//! signed-out person to sign in and back, and shows the consent page; the POST records the decision and
//! answers 303 to the client's redirect URI. Errors without a trustworthy redirect URI are pages.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use super::admin::{url_encode, SignedIn};
use super::form::Fields;
use super::session::WebSession;
use super::{render, WebError};
use crate::domain::connector::{Client, ClientKind};
use crate::domain::scope::{Scope, ScopeSet};
use crate::ids::OrgId;
use crate::oauth::authorize::{AuthRequest, AuthorizeError};
use crate::oauth::{redirect, AuthServer, OAuthError};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/mcp/oauth/authorize", get(show).post(decide))
}

struct ScopeRow {
    name: &'static str,
    label: &'static str,
    checked: bool,
    tools: &'static [&'static str],
}

#[derive(Template)]
#[template(path = "auth/consent.html")]
struct ConsentPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    client_name: String,
    identity: String,
    redirect_host: String,
    loopback_only: bool,
    params: Vec<(String, String)>,
    orgs: Vec<(String, String)>,
    /// Read scopes, each ticked or not with its tools.
    scopes: Vec<ScopeRow>,
    /// Write scopes this person may grant here: shown under an explicit "read and write" choice, of
    /// which neither side is preselected. Empty: the page says who can turn writing on.
    writes: Vec<ScopeRow>,
}

fn failure(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(msg) => WebError::BadRequest(msg).into_response(),
        AuthorizeError::Redirect(to) => Redirect::to(&to).into_response(),
        AuthorizeError::Busy(secs) => WebError::TooManyRequests {
            message: format!(
                "temporarily_unavailable: too many application lookups from here; retry in {secs} seconds"
            ),
            retry_after_secs: secs,
        }
        .into_response(),
        AuthorizeError::Server(e) => {
            WebError::Internal(format!("authorization failed: {e:?}")).into_response()
        }
    }
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

const UNVERIFIED: &str =
    "Self-registered application, unverified: statusgate cannot confirm who made it.";

/// Who the person is dealing with: a verified domain for metadata-document clients, a plain warning for
/// self-registered ones. An admin-registered client is vouched for only in the organisation whose
/// administrator registered it, and only when that organisation is one of `orgs` (those offered here);
/// to anyone else it is as unverified as a self-registered one.
fn identity(client: &Client, orgs: &[(String, String)]) -> String {
    match client.kind {
        ClientKind::Document => format!("Verified domain: {}", redirect::host_of(&client.id)),
        ClientKind::Dynamic => UNVERIFIED.into(),
        ClientKind::Admin => {
            let owner = client
                .owner
                .as_ref()
                .and_then(|o| orgs.iter().find(|(id, _)| *id == o.as_str()));
            match owner {
                Some((_, name)) if orgs.len() == 1 => {
                    format!("Registered by an administrator of {name}.")
                }
                Some((_, name)) => format!(
                    "Registered by an administrator of {name}. To your other organisations it is a self-registered application, unverified."
                ),
                None => UNVERIFIED.into(),
            }
        }
    }
}

/// The consent form posts here and is then redirected to the client, so its CSP must allow that target.
fn form_action_source(redirect_uri: &str) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => String::new(),
    }
}

async fn show(
    State(oauth): State<AuthServer>,
    from: ClientAddr,
    session: WebSession,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = query_pairs(raw.as_deref());
    let req = match oauth.check_authorize(&params, &from.key()).await {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let user = match session.user_id().await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let next = format!("/mcp/oauth/authorize?{}", raw.unwrap_or_default());
            return Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response();
        }
        Err(e) => return e.into_response(),
    };
    match consent_page(&oauth, &session, &req, &user).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn consent_page(
    oauth: &AuthServer,
    session: &WebSession,
    req: &AuthRequest,
    user: &crate::ids::UserId,
) -> Result<Response, WebError> {
    let services = &oauth.services;
    let me = services.user(user).await?;
    let mut orgs = Vec::new();
    let mut grantable = ScopeSet::default();
    let mut refusals = Vec::new();
    for m in services.memberships(user).await? {
        match oauth
            .grantable(user, &m.org.id, req)
            .await
            .map_err(oauth_internal)?
        {
            Ok(s) => {
                grantable = ScopeSet::of(grantable.iter().chain(s.iter()));
                orgs.push((m.org.id.to_string(), m.org.name));
            }
            Err(why) => refusals.push(format!("{}: {why}.", m.org.name)),
        }
    }
    if orgs.is_empty() {
        return Err(WebError::BadRequest(format!(
            "No organisation you belong to accepts {}. {}",
            req.client.name,
            refusals.join(" ")
        )));
    }
    // Requested reads are pre-ticked; a request naming no read scope gets every read scope pre-ticked.
    let no_reads_asked = !req.scopes.iter().any(|s| !s.is_write());
    let row = |s: Scope| ScopeRow {
        name: s.as_str(),
        label: s.label(),
        checked: !s.is_write() && (no_reads_asked || req.scopes.contains(s)),
        tools: s.tools(),
    };
    let offered = || Scope::ALL.into_iter().filter(|s| grantable.contains(*s));
    let scopes = offered().filter(|s| !s.is_write()).map(row).collect();
    let writes = offered().filter(|s| s.is_write()).map(row).collect();
    let page = ConsentPage {
        email: me.email.clone(),
        csrf: session.csrf_token().await?,
        // The nav only: a flash waits for an admin page.
        chrome: super::chrome::Chrome::load(services, session, user, &axum::http::Method::HEAD)
            .await?,
        client_name: req.client.name.clone(),
        identity: identity(&req.client, &orgs),
        redirect_host: redirect::host_of(&req.redirect_uri),
        loopback_only: redirect::all_loopback(&req.client.redirect_uris),
        params: req.params.clone(),
        orgs,
        scopes,
        writes,
    };
    let mut resp = render(&page);
    let csp = format!(
        "default-src 'self'; frame-ancestors 'none'; form-action 'self' {}; base-uri 'none'",
        form_action_source(&req.redirect_uri)
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(resp)
}

/// The ticked scopes, with the write scopes decided by the "read only" / "read and write" choice:
/// "write" adds every write scope (the service keeps only those this person may grant here), "read"
/// removes any, and no choice leaves only write scopes ticked one by one (older forms), so approving
/// without choosing never grants more than reading.
fn chosen_scopes(form: &Fields) -> ScopeSet {
    let ticked = form
        .0
        .iter()
        .filter(|(k, _)| k == "grant_scope")
        .filter_map(|(_, v)| Scope::parse(v));
    match form.get("access") {
        Some("write") => {
            ScopeSet::of(ticked.chain(Scope::ALL.into_iter().filter(|s| s.is_write())))
        }
        Some("read") => ScopeSet::of(ticked.filter(|s| !s.is_write())),
        _ => ScopeSet::of(ticked),
    }
}

fn oauth_internal(e: OAuthError) -> WebError {
    WebError::Internal(format!("consent failed: {e:?}"))
}

async fn decide(
    State(oauth): State<AuthServer>,
    from: ClientAddr,
    me: SignedIn,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    if let Err(e) = me.session.check_csrf(form.get("csrf")).await {
        return e.into_response();
    }
    let req = match oauth.check_authorize(&form.0, &from.key()).await {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let user = &me.principal.user_id;
    let org = form.get("org").and_then(OrgId::parse);
    let outcome = if form.get("decision") == Some("approve") {
        let Some(org) = org else {
            return WebError::BadRequest("choose an organisation".into()).into_response();
        };
        let scopes = chosen_scopes(&form);
        let tools: Vec<String> = form
            .0
            .iter()
            .filter(|(k, _)| k == "grant_tool")
            .map(|(_, v)| v.clone())
            .collect();
        oauth.approve(&req, user, &org, &scopes, &tools).await
    } else {
        oauth.deny(&req, user, org.as_ref()).await
    };
    match outcome {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e @ OAuthError::Server(_)) => oauth_internal(e).into_response(),
        Err(e) => WebError::BadRequest(e.description()).into_response(),
    }
}
