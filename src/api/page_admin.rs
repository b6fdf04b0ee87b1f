//! Managing pages and components: create, edit, publish, delete; add, rename, regroup, reorder, set
//! a status by hand, delete. A write key acting for an admin or owner may manage both; a write key
//! of an editor may set statuses; read keys never write.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::auth::Caller;
use super::error::{path_id, ApiResult, Body};
use super::pages::page_id;
use super::{op, ApiState, Op};
use crate::domain::ComponentStatus;
use crate::ids::ComponentId;
use crate::service::page_admin::{ComponentEdit, NewComponentInput, NewPage, PageEdit};
use crate::views;

pub fn ops() -> Vec<Op> {
    vec![
        op!(
            POST,
            "/pages",
            "createPage",
            "pages",
            "Create a status page in the key's organisation",
            create_page,
            body = CreatePage,
            ok = 201,
            write = true
        ),
        op!(
            PATCH,
            "/pages/{page_id}",
            "updatePage",
            "pages",
            "Edit a page: name, description, public slug, time zone, branding, published",
            update_page,
            body = EditPage,
            write = true
        ),
        op!(
            DELETE,
            "/pages/{page_id}",
            "deletePage",
            "pages",
            "Delete a page with its incidents, maintenances, monitors and subscribers",
            delete_page,
            ok = 204,
            write = true
        ),
        op!(
            POST,
            "/pages/{page_id}/components",
            "createComponent",
            "pages",
            "Add a component, or a group, to a page",
            create_component,
            body = CreateComponent,
            ok = 201,
            write = true
        ),
        op!(
            PATCH,
            "/components/{component_id}",
            "updateComponent",
            "pages",
            "Rename, describe, reorder or regroup a component, or set its status by hand (notifies nobody)",
            update_component,
            body = EditComponent,
            write = true
        ),
        op!(
            DELETE,
            "/components/{component_id}",
            "deleteComponent",
            "pages",
            "Delete a component (refused while open work names it)",
            delete_component,
            ok = 204,
            write = true
        ),
    ]
}

fn component_id(raw: &str) -> ApiResult<ComponentId> {
    path_id(raw, ComponentId::parse, "component")
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePage {
    /// Shown as the page's title.
    name: String,
    /// The page's identifier in its organisation: lowercase letters, digits and dashes.
    slug: String,
    /// The page's address under `/status/`; defaults to `slug`. Unique across the deployment.
    public_slug: Option<String>,
    #[serde(default)]
    description: String,
    /// Whether the public can see it; an unpublished page answers 404 publicly.
    #[serde(default = "yes")]
    published: bool,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EditPage {
    name: Option<String>,
    description: Option<String>,
    public_slug: Option<String>,
    /// An IANA time zone name (`UTC`, `Europe/Berlin`): the public page shows times in it.
    time_zone: Option<String>,
    /// An https URL, or empty to remove.
    logo_url: Option<String>,
    /// `#rrggbb`, or empty for the default.
    accent_color: Option<String>,
    /// An https link to the company's site or support, or empty to remove.
    support_url: Option<String>,
    published: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComponent {
    name: String,
    /// The group to put the component in.
    parent_id: Option<String>,
    #[serde(default)]
    description: String,
    /// Create a group (which holds components) rather than a component.
    #[serde(default)]
    group: bool,
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EditComponent {
    name: Option<String>,
    description: Option<String>,
    /// Order on the page among its siblings, 0 first.
    position: Option<i64>,
    /// The component's status, set by hand; notifies nobody.
    status: Option<String>,
    /// The group to move the component into; `null` moves it out of its group.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    parent_id: Option<Option<String>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn page_json(s: &ApiState, p: &crate::domain::Page) -> Value {
    json!({
        "page_id": p.id,
        "name": p.name,
        "slug": p.slug,
        "public_slug": p.public_slug,
        "description": p.description,
        "published": p.published,
        "time_zone": p.time_zone,
        "logo_url": p.branding.logo_url,
        "accent_color": p.branding.accent_color,
        "support_url": p.branding.support_url,
        "public_url": format!("{}/status/{}", s.public_url, p.public_slug),
    })
}

async fn create_page(
    State(s): State<ApiState>,
    c: Caller,
    Body(b): Body<CreatePage>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let new = NewPage {
        name: b.name,
        slug: b.slug,
        public_slug: b.public_slug,
        description: b.description,
        published: b.published,
    };
    let page = s
        .services
        .new_page(&c.principal, &c.key.org_id, new)
        .await?;
    Ok((StatusCode::CREATED, Json(page_json(&s, &page))))
}

async fn update_page(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<EditPage>,
) -> ApiResult<Json<Value>> {
    let edit = PageEdit {
        name: b.name,
        description: b.description,
        public_slug: b.public_slug,
        time_zone: b.time_zone,
        logo_url: b.logo_url,
        accent_color: b.accent_color,
        support_url: b.support_url,
        published: b.published,
    };
    let page = s
        .services
        .edit_page(&c.principal, &page_id(&id)?, edit)
        .await?;
    Ok(Json(page_json(&s, &page)))
}

async fn delete_page(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_page(&c.principal, &page_id(&id)?, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn component_json(c: &crate::domain::Component) -> Value {
    let mut v = views::component(c);
    v["parent_id"] = json!(c.parent_id);
    v["description"] = json!(c.description);
    v["position"] = json!(c.position);
    v
}

async fn create_component(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<CreateComponent>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let parent_id = match b.parent_id.as_deref() {
        Some(p) => Some(component_id(p).map_err(|_| {
            crate::domain::DomainError::invalid("parent_id", "must be a group on the same page")
        })?),
        None => None,
    };
    let new = NewComponentInput {
        name: b.name,
        description: b.description,
        parent_id,
        group: b.group,
    };
    let comp = s
        .services
        .add_component(&c.principal, &page_id(&id)?, new)
        .await?;
    Ok((StatusCode::CREATED, Json(component_json(&comp))))
}

async fn update_component(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
    Body(b): Body<EditComponent>,
) -> ApiResult<Json<Value>> {
    let id = component_id(&id)?;
    // Every value is read before anything is written, so a bad one changes nothing.
    let status = b
        .status
        .as_deref()
        .map(ComponentStatus::parse)
        .transpose()?;
    let parent_id = match b.parent_id {
        Some(Some(p)) => Some(Some(ComponentId::parse(&p).ok_or_else(|| {
            crate::domain::DomainError::invalid("parent_id", "must be a group on the same page")
        })?)),
        Some(None) => Some(None),
        None => None,
    };
    let edit = ComponentEdit {
        name: b.name,
        description: b.description,
        position: b.position,
        parent_id,
    };
    let touches_shape = edit.name.is_some()
        || edit.description.is_some()
        || edit.position.is_some()
        || edit.parent_id.is_some();
    let mut comp = None;
    if touches_shape {
        comp = Some(s.services.edit_component(&c.principal, &id, edit).await?);
    }
    if let Some(st) = status {
        comp = Some(
            s.services
                .set_component_status_by_hand(&c.principal, &id, st)
                .await?,
        );
    }
    let comp = match comp {
        Some(c) => c,
        None => s.services.component(&c.principal, &id).await?,
    };
    Ok(Json(component_json(&comp)))
}

async fn delete_component(
    State(s): State<ApiState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.services
        .delete_component(&c.principal, &component_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
