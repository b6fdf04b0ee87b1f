//! The key itself, organisations and pages: summaries, status definitions, lifecycle stages, the
//! component hierarchy.

use axum::extract::{Path, State};
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::{path_id, ApiError, ApiResult, Query};
use super::{op, ApiState, Op};
use crate::domain::MaintenanceFilter;
use crate::domain::{ComponentStatus, IncidentStage, MaintenanceState, Permission};
use crate::ids::PageId;
use crate::service::pages::hierarchy;
use crate::views;

pub fn ops() -> Vec<Op> {
    vec![
        op!(GET, "/me", "getMe", "keys", "The key making the call", me),
        op!(
            GET,
            "/orgs",
            "listOrgs",
            "pages",
            "Organisations the key reaches",
            orgs
        ),
        op!(
            GET,
            "/pages",
            "listPages",
            "pages",
            "Pages the key can see",
            list,
            query = PagesQuery
        ),
        op!(
            GET,
            "/pages/{page_id}",
            "getPage",
            "pages",
            "Page summary: status, components, incidents, maintenances",
            get
        ),
        op!(
            GET,
            "/pages/by-slug/{org_slug}/{public_slug}",
            "getPageBySlug",
            "pages",
            "Page summary, found by slugs",
            by_slug
        ),
        op!(
            GET,
            "/pages/{page_id}/status-definitions",
            "getStatusDefinitions",
            "pages",
            "Component statuses, by severity",
            status_definitions
        ),
        op!(
            GET,
            "/pages/{page_id}/lifecycle-stages",
            "getLifecycleStages",
            "pages",
            "Incident stages and maintenance states",
            lifecycle_stages
        ),
        op!(
            GET,
            "/pages/{page_id}/hierarchy",
            "getHierarchy",
            "pages",
            "Component groups and their components",
            tree
        ),
        op!(
            GET,
            "/pages/{page_id}/components",
            "listComponents",
            "pages",
            "Components, flat",
            components
        ),
    ]
}

/// Parses a page id from the path.
pub fn page_id(raw: &str) -> ApiResult<PageId> {
    path_id(raw, PageId::parse, "page")
}

async fn me(State(s): State<ApiState>, c: Caller) -> ApiResult<Json<Value>> {
    let org = s.services.org_for(&c.principal, &c.key.org_id).await?;
    Ok(Json(json!({
        "key_id": c.key.id,
        "name": c.key.name,
        "scope": if c.key.can_write { "write" } else { "read" },
        "page_id": c.key.page_id,
        "expires_at": c.key.expires_at.map(crate::clock::rfc3339),
        "org": { "id": org.id, "slug": org.slug, "name": org.name },
        "user_id": c.key.user_id,
    })))
}

async fn orgs(State(s): State<ApiState>, c: Caller) -> ApiResult<Json<Value>> {
    let org = s.services.org_for(&c.principal, &c.key.org_id).await?;
    Ok(Json(
        json!({ "items": [{ "id": org.id, "slug": org.slug, "name": org.name }] }),
    ))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagesQuery {
    /// Only pages of this organisation (its slug).
    org: Option<String>,
}

async fn list(
    State(s): State<ApiState>,
    c: Caller,
    Query(q): Query<PagesQuery>,
) -> ApiResult<Json<Value>> {
    let pages = s.services.list_pages(&c.principal).await?;
    let items: Vec<Value> = pages
        .iter()
        .filter(|(o, _)| q.org.as_deref().is_none_or(|slug| o.slug == slug))
        .map(|(o, p)| views::page(o, p, &s.public_url))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// What `GET /pages/{id}` answers: the page, its overall status, the component tree, active
/// incidents, and active and upcoming maintenances.
async fn summary(s: &ApiState, c: &Caller, id: &PageId) -> ApiResult<Value> {
    let who = &c.principal;
    let page = s.services.page_for(who, id, Permission::PageRead).await?;
    let tree = hierarchy(&s.services.components(who, id).await?);
    let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
    let active = s.services.active_incidents(who, id).await?;
    let mut maint = Vec::new();
    for f in [MaintenanceFilter::Active, MaintenanceFilter::Upcoming] {
        maint.extend(s.services.maintenances(who, id, f, Some(20)).await?);
    }
    Ok(json!({
        "page_id": page.id,
        "name": page.name,
        "slug": page.slug,
        "public_slug": page.public_slug,
        "public_url": format!("{}/status/{}", s.public_url, page.public_slug),
        "overall_status": overall.as_str(),
        "components": views::tree(&tree),
        "active_incidents": active.iter().map(views::incident).collect::<Vec<_>>(),
        "maintenances": maint.iter().map(views::maintenance).collect::<Vec<_>>(),
    }))
}

async fn get(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(summary(&s, &c, &page_id(&id)?).await?))
}

async fn by_slug(
    State(s): State<ApiState>,
    c: Caller,
    Path((org, slug)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let pages = s.services.list_pages(&c.principal).await?;
    let (_, page) = pages
        .iter()
        .find(|(o, p)| o.slug == org && (p.public_slug == slug || p.slug == slug))
        .ok_or_else(|| ApiError::not_found("page"))?;
    Ok(Json(summary(&s, &c, &page.id).await?))
}

async fn status_definitions(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    s.services
        .page_for(&c.principal, &page_id(&id)?, Permission::PageRead)
        .await?;
    let items: Vec<Value> = ComponentStatus::ALL
        .iter()
        .enumerate()
        .map(|(i, st)| json!({ "status": st.as_str(), "label": st.label(), "severity": i }))
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn lifecycle_stages(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    s.services
        .page_for(&c.principal, &page_id(&id)?, Permission::PageRead)
        .await?;
    let incident: Vec<Value> = IncidentStage::ALL
        .iter()
        .map(|st| json!({ "stage": st.as_str(), "label": st.label(), "open": st.is_open() }))
        .collect();
    let maintenance: Vec<Value> = MaintenanceState::ALL
        .iter()
        .map(|st| json!({ "state": st.as_str(), "label": st.label(), "open": st.is_open() }))
        .collect();
    Ok(Json(
        json!({ "incident_stages": incident, "maintenance_states": maintenance }),
    ))
}

async fn tree(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = s.services.components(&c.principal, &page_id(&id)?).await?;
    Ok(Json(json!({ "items": views::tree(&hierarchy(&list)) })))
}

async fn components(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let list = s.services.components(&c.principal, &page_id(&id)?).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|comp| {
            let mut v = views::component(comp);
            v["parent_id"] = json!(comp.parent_id);
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
