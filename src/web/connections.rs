//! Connected applications: `/account/connections` (a person's own) and `/admin/hosted-mcp` (an
//! organisation's, with its Hosted MCP settings), plus the JSON routes the same UI can use. All of them
//! need a browser session and its CSRF token; API keys and connector tokens are not accepted here.

use super::form::SignedForm;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::admin::SignedIn;
use super::form::Fields;
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::connector::{ClientKind, Connection, OrgSettings};
use crate::domain::Permission;
use crate::ids::{ClientId, GrantId, OrgId};
use crate::oauth::{redirect, AuthServer};
use crate::service::ServiceError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/connections", get(mine))
        .route("/account/connections/{id}/revoke", post(revoke_form))
        .route("/admin/hosted-mcp", get(console))
        .route(
            "/admin/hosted-mcp/connections/{id}/revoke",
            post(revoke_form),
        )
        .route("/admin/hosted-mcp/clients/revoke", post(revoke_client_form))
        .route("/admin/hosted-mcp/settings", post(settings_form))
        .route("/admin/hosted-mcp/clients", post(add_client_form))
        .route(
            "/api/v1/admin/hosted-mcp/settings",
            get(settings_json).put(put_settings_json),
        )
        .route(
            "/api/v1/admin/hosted-mcp/connections/{id}/revoke",
            post(revoke_json),
        )
}

struct Row {
    id: String,
    client: String,
    kind: &'static str,
    redirect_host: String,
    user: String,
    scopes: String,
    tools: String,
    created: String,
    last_used: String,
    calls_30d: i64,
}

fn row(c: Connection) -> Row {
    Row {
        id: c.grant_id.to_string(),
        kind: match c.client_kind {
            ClientKind::Document => "verified",
            ClientKind::Dynamic => "self-registered",
            ClientKind::Admin => "pre-registered",
        },
        redirect_host: c
            .redirect_uris
            .first()
            .map(|r| redirect::host_of(r))
            .unwrap_or_default(),
        client: c.client_name,
        user: c.user_email,
        scopes: c.scopes.to_string(),
        tools: c.tools.join(", "),
        created: human_time(c.created_at),
        last_used: c
            .last_used_at
            .map(human_time)
            .unwrap_or_else(|| "never".into()),
        calls_30d: c.calls_30d,
    }
}

/// Identical registrations of one application (same metadata fingerprint) shown as one client.
struct Group {
    /// Any registration of the group: "Revoke all" acts on every registration like it.
    client_id: String,
    client: String,
    kind: &'static str,
    redirect_host: String,
    registrations: usize,
    rows: Vec<Row>,
}

fn grouped(connections: Vec<Connection>) -> Vec<Group> {
    let mut groups: Vec<(String, Vec<String>, Group)> = Vec::new();
    for c in connections {
        let fingerprint = c.fingerprint.clone();
        let client_id = c.client_id.clone();
        let r = row(c);
        match groups.iter_mut().find(|(f, _, _)| *f == fingerprint) {
            Some((_, ids, g)) => {
                if !ids.contains(&client_id) {
                    ids.push(client_id);
                    g.registrations += 1;
                }
                g.rows.push(r);
            }
            None => groups.push((
                fingerprint,
                vec![client_id.clone()],
                Group {
                    client_id,
                    client: r.client.clone(),
                    kind: r.kind,
                    redirect_host: r.redirect_host.clone(),
                    registrations: 1,
                    rows: vec![r],
                },
            )),
        }
    }
    groups.into_iter().map(|(_, _, g)| g).collect()
}

/// The console counts calls over the last 30 days.
#[derive(Template)]
#[template(path = "account/connections.html")]
struct ConnectionsPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    groups: Vec<Group>,
    admin: bool,
    revoke_base: &'static str,
    org_id: String,
    settings: OrgSettings,
    /// The deployment's private-use redirect URIs, each with whether this organisation accepts it.
    private_use: Vec<(String, bool)>,
    dcr_enabled: bool,
    cimd_enabled: bool,
    mcp_url: String,
    created: Option<String>,
    /// The identity providers trusted for enterprise sign-in; `None` for people who may not see them.
    issuers: Option<Vec<super::trusted_issuers::IssuerRow>>,
}

async fn mine(State(oauth): State<AuthServer>, me: SignedIn) -> Result<Response, WebError> {
    let rows = oauth.my_connections(&me.principal).await?;
    Ok(render(&ConnectionsPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        groups: grouped(rows),
        admin: false,
        revoke_base: "/account/connections",
        org_id: String::new(),
        settings: OrgSettings::default(),
        private_use: Vec::new(),
        dcr_enabled: oauth.config.dcr_enabled,
        cimd_enabled: oauth.config.cimd_enabled,
        mcp_url: oauth.resource.clone(),
        created: None,
        issuers: None,
    }))
}

#[derive(Deserialize)]
struct OrgQuery {
    org: Option<String>,
    /// A client the admin just added, shown once with its id.
    created: Option<String>,
}

/// The organisation an admin page is about: the one asked for, else the first the user may administer.
async fn admin_org(
    oauth: &AuthServer,
    me: &SignedIn,
    asked: Option<&str>,
) -> Result<OrgId, WebError> {
    org_to_manage(
        &oauth.services,
        me,
        asked,
        "only organisation admins manage Hosted MCP",
    )
    .await
}

/// The organisation an admin page is about: `asked` (checked for settings-manage), else the first
/// the person may administer; none is 403 with `refusal`.
pub(super) async fn org_to_manage(
    services: &crate::service::Services,
    me: &SignedIn,
    asked: Option<&str>,
    refusal: &str,
) -> Result<OrgId, WebError> {
    let memberships = services.memberships(&me.principal.user_id).await?;
    let org = match asked.and_then(OrgId::parse) {
        Some(o) => o,
        None => memberships
            .iter()
            .find(|m| m.role.allows(Permission::SettingsManage))
            .map(|m| m.org.id.clone())
            .ok_or_else(|| WebError::Service(ServiceError::Forbidden(refusal.into())))?,
    };
    services
        .require(
            &me.principal,
            &org,
            Permission::SettingsManage,
            "organisation",
        )
        .await?;
    Ok(org)
}

async fn console(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let org = admin_org(&oauth, &me, q.org.as_deref()).await?;
    let (settings, rows) = oauth.org_connections(&me.principal, &org).await?;
    let issuers = super::trusted_issuers::rows(&oauth, &me.principal, &org).await?;
    Ok(render(&ConnectionsPage {
        issuers,
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        groups: grouped(rows),
        admin: true,
        revoke_base: "/admin/hosted-mcp/connections",
        org_id: org.to_string(),
        private_use: oauth
            .config
            .private_use_redirect_uris
            .iter()
            .map(|u| {
                let on = settings
                    .private_use_redirects
                    .as_ref()
                    .is_none_or(|l| l.contains(u));
                (u.clone(), on)
            })
            .collect(),
        settings,
        dcr_enabled: oauth.config.dcr_enabled,
        cimd_enabled: oauth.config.cimd_enabled,
        mcp_url: oauth.resource.clone(),
        created: q
            .created
            .filter(|c| c.starts_with(ClientId::PREFIX) && c.len() < 40),
    }))
}

fn grant_id(raw: &str) -> Result<GrantId, WebError> {
    GrantId::parse(raw).ok_or(WebError::Service(ServiceError::NotFound("connection")))
}

async fn revoke_form(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    me.session.check_csrf(Fields(form).get("csrf")).await?;
    oauth
        .revoke_connection(&me.principal, &grant_id(&id)?)
        .await?;
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .filter(|r| r.contains("/admin/hosted-mcp"))
        .map_or("/account/connections", |_| "/admin/hosted-mcp");
    super::chrome::saved(&me.session, "Connection revoked.", back).await
}

async fn revoke_client_form(
    State(oauth): State<AuthServer>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let org = admin_org(&oauth, &me, form.get("org")).await?;
    oauth
        .revoke_client(
            &me.principal,
            &org,
            form.get("client_id").unwrap_or_default(),
        )
        .await?;
    super::chrome::saved(
        &me.session,
        "Every connection of that client revoked.",
        "/admin/hosted-mcp",
    )
    .await
}

async fn add_client_form(
    State(oauth): State<AuthServer>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let org = admin_org(&oauth, &me, form.get("org")).await?;
    let uris: Vec<String> = form
        .get("redirect_uris")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let logo = form
        .get("logo_uri")
        .map(str::to_owned)
        .filter(|l| !l.is_empty());
    let client = oauth
        .register_admin_client(
            &me.principal,
            &org,
            form.get("name").unwrap_or_default(),
            &uris,
            logo,
        )
        .await?;
    super::chrome::saved(
        &me.session,
        "Client added.",
        &format!("/admin/hosted-mcp?created={}", client.id),
    )
    .await
}

async fn save_settings(
    oauth: &AuthServer,
    me: &SignedIn,
    org: &OrgId,
    mut s: OrgSettings,
) -> Result<OrgSettings, WebError> {
    // An organisation can only narrow the deployment's list: registration already refuses the rest.
    let deployment = &oauth.config.private_use_redirect_uris;
    if let Some(list) = &s.private_use_redirects {
        if let Some(bad) = list.iter().find(|u| !deployment.contains(u)) {
            return Err(WebError::BadRequest(format!(
                "{bad} is not in this deployment's private-use redirect list ([oauth] private_use_redirect_uris)"
            )));
        }
        if deployment.iter().all(|u| list.contains(u)) {
            s.private_use_redirects = None;
        }
    }
    oauth.save_org_settings(&me.principal, org, &s).await?;
    Ok(s)
}

async fn settings_form(
    State(oauth): State<AuthServer>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let org = admin_org(&oauth, &me, form.get("org")).await?;
    let s = OrgSettings {
        enabled: form.checked("enabled"),
        allow_write: form.checked("allow_write"),
        allow_dynamic: form.checked("allow_dynamic"),
        allow_documents: form.checked("allow_documents"),
        private_use_redirects: Some(
            form.0
                .iter()
                .filter(|(k, _)| k == "private_use")
                .map(|(_, v)| v.clone())
                .collect(),
        ),
    };
    save_settings(&oauth, &me, &org, s).await?;
    super::chrome::saved(&me.session, "Settings saved.", "/admin/hosted-mcp").await
}

/// JSON routes carry the session's CSRF token in `X-CSRF-Token`.
async fn json_csrf(me: &SignedIn, headers: &HeaderMap) -> Result<(), WebError> {
    me.session
        .check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .await
}

async fn settings_json(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let org = admin_org(&oauth, &me, q.org.as_deref()).await?;
    let s = oauth.org_settings(&me.principal, &org).await?;
    Ok(settings_body(&oauth, &org, &s))
}

fn settings_body(oauth: &AuthServer, org: &OrgId, s: &OrgSettings) -> Response {
    let effective = s
        .private_use_redirects
        .clone()
        .unwrap_or_else(|| oauth.config.private_use_redirect_uris.clone());
    Json(json!({
        "org_id": org,
        "enabled": s.enabled,
        "allow_write": s.allow_write,
        "allow_dynamic": s.allow_dynamic,
        "allow_documents": s.allow_documents,
        "private_use_redirects": effective,
        "deployment": {
            "dcr_enabled": oauth.config.dcr_enabled,
            "cimd_enabled": oauth.config.cimd_enabled,
            "private_use_redirect_uris": oauth.config.private_use_redirect_uris,
        },
    }))
    .into_response()
}

async fn put_settings_json(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Query(q): Query<OrgQuery>,
    headers: HeaderMap,
    Json(s): Json<OrgSettings>,
) -> Result<Response, WebError> {
    json_csrf(&me, &headers).await?;
    let org = admin_org(&oauth, &me, q.org.as_deref()).await?;
    let saved = save_settings(&oauth, &me, &org, s).await?;
    Ok(settings_body(&oauth, &org, &saved))
}

async fn revoke_json(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    json_csrf(&me, &headers).await?;
    oauth
        .revoke_connection(&me.principal, &grant_id(&id)?)
        .await?;
    Ok(Json(json!({ "revoked": id })).into_response())
}
