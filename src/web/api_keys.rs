//! `/admin/api-keys`: the organisation's keys (REST keys and the connector keys of MCP connections),
//! a form to make a key (shown once, in the answer to the form and nowhere else), and revocation.
//! Revoking a connector key ends its connection too.

use super::form::SignedForm;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::admin::SignedIn;
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::Org;
use crate::domain::{ApiKeyRow, KeyKind};
use crate::ids::{ApiKeyId, OrgId, PageId};
use crate::service::api_keys::NewKey;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api-keys", get(show).post(create))
        .route("/admin/api-keys/{id}/revoke", post(revoke))
}

struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scope: &'static str,
    page: String,
    connector: bool,
    expires: String,
    last_used: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/api_keys.html")]
struct KeysPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    org: Org,
    orgs: Vec<Org>,
    pages: Vec<(String, String)>,
    keys: Vec<KeyRow>,
    can_write: bool,
}

#[derive(Deserialize)]
struct OrgQuery {
    org: Option<String>,
}

/// The organisation the page is about: the one asked for, else the user's first.
async fn pick_org(
    services: &Services,
    me: &SignedIn,
    asked: Option<&str>,
) -> Result<Org, WebError> {
    let memberships = services.memberships(&me.principal.user_id).await?;
    let chosen = match asked {
        Some(id) => memberships.iter().find(|m| m.org.id.as_str() == id),
        None => memberships.first(),
    };
    chosen
        .map(|m| m.org.clone())
        .ok_or(WebError::Service(ServiceError::NotFound("organisation")))
}

async fn page_for(services: &Services, me: SignedIn, org: Org) -> Result<Response, WebError> {
    let pages: Vec<(String, String)> = services
        .list_pages(&me.principal)
        .await?
        .into_iter()
        .filter(|(o, _)| o.id == org.id)
        .map(|(_, p)| (p.id.to_string(), p.name))
        .collect();
    let keys = services.api_keys(&me.principal, &org.id).await?;
    let keys = keys.into_iter().map(|k| key_row(k, &pages)).collect();
    let orgs = services
        .memberships(&me.principal.user_id)
        .await?
        .into_iter()
        .map(|m| m.org)
        .collect();
    let can_write = services
        .can(
            &me.principal,
            &org.id,
            crate::domain::Permission::IncidentManage,
        )
        .await?;
    Ok(render(&KeysPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        org,
        orgs,
        pages,
        keys,
        can_write,
    }))
}

fn key_row(k: ApiKeyRow, pages: &[(String, String)]) -> KeyRow {
    let page = k.page_id.as_ref().map_or("All pages".to_owned(), |p| {
        pages
            .iter()
            .find(|(id, _)| id == p.as_str())
            .map_or(p.to_string(), |(_, n)| n.clone())
    });
    KeyRow {
        id: k.id.to_string(),
        name: k.name,
        prefix: k.prefix,
        scope: if k.can_write { "read & write" } else { "read" },
        page,
        connector: k.kind == KeyKind::Connector,
        expires: k.expires_at.map_or("never".into(), human_time),
        last_used: k.last_used_at.map_or("never".into(), human_time),
        created: human_time(k.created_at),
    }
}

async fn show(
    State(services): State<Services>,
    me: SignedIn,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let org = pick_org(&services, &me, q.org.as_deref()).await?;
    page_for(&services, me, org).await
}

async fn create(
    State(services): State<Services>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let org = pick_org(&services, &me, form.get("org")).await?;
    let page = match form.get("page").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(PageId::parse(p).ok_or(WebError::Service(ServiceError::NotFound("page")))?),
    };
    let expires_in_days =
        match form.get("expires_days").map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(d.parse::<u32>().map_err(|_| {
                WebError::BadRequest("expiry must be a whole number of days".into())
            })?),
        };
    let new = NewKey {
        name: form.required("name")?.to_owned(),
        write: form.get("scope") == Some("write"),
        page,
        expires_in_days,
    };
    let org_id: OrgId = org.id.clone();
    let (_, secret) = services.create_api_key(&me.principal, &org_id, new).await?;
    // The secret goes through the flash, read once, so a reload neither shows it again nor makes a key.
    let flash = super::chrome::Flash::with_secret(
        "Key created. Copy it now: it cannot be read again.",
        secret,
    );
    super::chrome::done(
        &me.session,
        flash,
        &format!("/admin/api-keys?org={}", org.id),
    )
    .await
}

async fn revoke(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = ApiKeyId::parse(&id).ok_or(WebError::Service(ServiceError::NotFound("key")))?;
    services.revoke_api_key(&me.principal, &id).await?;
    let back = match form.get("org").and_then(OrgId::parse) {
        Some(o) => format!("/admin/api-keys?org={o}"),
        None => "/admin/api-keys".into(),
    };
    super::chrome::saved(&me.session, "Key revoked.", &back).await
}
