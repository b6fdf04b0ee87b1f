//! The confirmation step before a destructive action: a GET of the action's own path shows what goes
//! and the real POST form (with its CSRF token), so it works without JavaScript and a stray click on
//! a list changes nothing. The POST stays CSRF-checked on its own; this page adds no bypass.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::admin::{parse_id, SignedIn};
use super::{render, WebError};
use crate::ids::{ApiKeyId, ComponentId, GrantId, IncidentId, MaintenanceId, OrgId, UserId};
use crate::oauth::AuthServer;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/components/{id}/delete", get(component))
        .route("/admin/members/{user}/remove", get(member))
        .route("/admin/api-keys/{id}/revoke", get(api_key))
        .route("/account/connections/{id}/revoke", get(my_connection))
        .route(
            "/admin/hosted-mcp/connections/{id}/revoke",
            get(org_connection),
        )
        .route("/admin/hosted-mcp/clients/revoke", get(client))
        .route("/admin/incidents/{id}/discard", get(incident_draft))
        .route("/admin/maintenances/{id}/discard", get(maintenance_draft))
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    /// "Revoke Claude", the page's heading and the button's label.
    what: String,
    /// What happens, in the person's words: "its tokens stop working now".
    consequence: String,
    action: String,
    hidden: Vec<(&'static str, String)>,
    back: String,
}

struct Ask {
    what: String,
    consequence: &'static str,
    action: String,
    hidden: Vec<(&'static str, String)>,
    back: String,
}

fn show(me: SignedIn, ask: Ask) -> Response {
    render(&ConfirmPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        what: ask.what,
        consequence: ask.consequence.to_owned(),
        action: ask.action,
        hidden: ask.hidden,
        back: ask.back,
    })
}

#[derive(Deserialize)]
struct OrgQuery {
    org: Option<String>,
    client_id: Option<String>,
}

fn org_of(q: &OrgQuery) -> Result<OrgId, WebError> {
    q.org
        .as_deref()
        .and_then(OrgId::parse)
        .ok_or(WebError::Service(ServiceError::NotFound("organisation")))
}

async fn component(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, ComponentId::parse, "component")?;
    let c = services.component(&me.principal, &id).await?;
    Ok(show(
        me,
        Ask {
            what: format!("Delete {}", c.name),
            consequence:
                "it leaves the status page and its status history with it; this cannot be undone",
            action: format!("/admin/components/{id}/delete"),
            hidden: Vec::new(),
            back: format!("/admin/pages/{}/settings", c.page_id),
        },
    ))
}

async fn member(
    State(services): State<Services>,
    me: SignedIn,
    Path(user): Path<String>,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let user = parse_id(&user, UserId::parse, "member")?;
    let org = org_of(&q)?;
    let m = services
        .members(&me.principal, &org)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or(WebError::Service(ServiceError::NotFound("member")))?;
    Ok(show(
        me,
        Ask {
            what: format!("Remove {}", m.email),
            consequence: "they lose access to this organisation now, and their keys and connections here stop working",
            action: format!("/admin/members/{user}/remove"),
            hidden: vec![("org", org.to_string())],
            back: format!("/admin/members?org={org}"),
        },
    ))
}

async fn api_key(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, ApiKeyId::parse, "key")?;
    let org = org_of(&q)?;
    let k = services
        .api_keys(&me.principal, &org)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(WebError::Service(ServiceError::NotFound("key")))?;
    Ok(show(
        me,
        Ask {
            what: format!("Revoke {}", k.name),
            consequence: "anything using this key is refused from now on",
            action: format!("/admin/api-keys/{id}/revoke"),
            hidden: vec![("org", org.to_string())],
            back: format!("/admin/api-keys?org={org}"),
        },
    ))
}

fn connection_ask(name: &str, action: String, back: String) -> Ask {
    Ask {
        what: format!("Revoke {name}"),
        consequence: "its tokens stop working now",
        action,
        hidden: Vec::new(),
        back,
    }
}

async fn my_connection(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, GrantId::parse, "connection")?;
    let c = oauth
        .my_connections(&me.principal)
        .await?
        .into_iter()
        .find(|c| c.grant_id == id)
        .ok_or(WebError::Service(ServiceError::NotFound("connection")))?;
    let action = format!("/account/connections/{id}/revoke");
    let ask = connection_ask(&c.client_name, action, "/account/connections".into());
    Ok(show(me, ask))
}

async fn org_connection(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, GrantId::parse, "connection")?;
    let org = org_of(&q)?;
    let (_, rows) = oauth.org_connections(&me.principal, &org).await?;
    let c = rows
        .into_iter()
        .find(|c| c.grant_id == id)
        .ok_or(WebError::Service(ServiceError::NotFound("connection")))?;
    let name = format!("{} for {}", c.client_name, c.user_email);
    let action = format!("/admin/hosted-mcp/connections/{id}/revoke");
    let ask = connection_ask(&name, action, format!("/admin/hosted-mcp?org={org}"));
    Ok(show(me, ask))
}

async fn client(
    State(oauth): State<AuthServer>,
    me: SignedIn,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let org = org_of(&q)?;
    let client_id = q.client_id.clone().unwrap_or_default();
    let (_, rows) = oauth.org_connections(&me.principal, &org).await?;
    let c = rows
        .into_iter()
        .find(|c| c.client_id == client_id)
        .ok_or(WebError::Service(ServiceError::NotFound("client")))?;
    Ok(show(
        me,
        Ask {
            what: format!("Revoke every connection of {}", c.client_name),
            consequence: "every person's tokens for it in this organisation stop working now",
            action: "/admin/hosted-mcp/clients/revoke".into(),
            hidden: vec![("org", org.to_string()), ("client_id", client_id)],
            back: format!("/admin/hosted-mcp?org={org}"),
        },
    ))
}

fn draft_ask(title: &str, kind: &str, id: &str) -> Ask {
    Ask {
        what: format!("Discard the draft “{title}”"),
        consequence: "it is deleted without ever being published",
        action: format!("/admin/{kind}/{id}/discard"),
        hidden: Vec::new(),
        back: format!("/admin/{kind}/{id}"),
    }
}

async fn incident_draft(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, IncidentId::parse, "incident")?;
    let (i, _) = services.incident(&me.principal, &id, Some(1)).await?;
    let ask = draft_ask(&i.title, "incidents", id.as_str());
    Ok(show(me, ask))
}

async fn maintenance_draft(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MaintenanceId::parse, "maintenance")?;
    let (m, _) = services.maintenance(&me.principal, &id, Some(1)).await?;
    let ask = draft_ask(&m.title, "maintenances", id.as_str());
    Ok(show(me, ask))
}
