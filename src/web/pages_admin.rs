//! Admin pages to run a status page: create one, edit its settings and branding, publish it, delete
//! it; add, rename, regroup, reorder, set and delete its components. A refused value comes back as the
//! same form with the typed input kept and the reason beside the field (422).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::admin::{parse_id, SignedIn};
use super::form::{Fields, SignedForm};
use super::{render, WebError};
use crate::domain::{
    Component, ComponentKind, ComponentStatus, DomainError, Org, Page, Permission,
};
use crate::ids::{ComponentId, PageId};
use crate::service::page_admin::{ComponentEdit, NewComponentInput, NewPage, PageEdit};
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/pages/new", get(new_page_form))
        .route("/admin/pages", post(create_page))
        .route(
            "/admin/pages/{page_id}/settings",
            get(settings).post(save_settings),
        )
        .route("/admin/pages/{page_id}/delete", post(delete_page))
        .route("/admin/pages/{page_id}/components", post(add_component))
        .route("/admin/components/{id}", post(edit_component))
        .route("/admin/components/{id}/status", post(set_status))
        .route("/admin/components/{id}/delete", post(delete_component))
}

/// What a refused form shows: the reason beside each field, and the values as typed.
#[derive(Default)]
pub struct FormState {
    errors: Vec<(String, String)>,
    values: Vec<(String, String)>,
    /// A refusal that names no field (a conflict), shown above the form.
    notice: Option<String>,
}

impl FormState {
    pub(super) fn refused(e: ServiceError, form: &Fields) -> Result<Self, WebError> {
        let mut s = Self {
            values: form.0.clone(),
            ..Self::default()
        };
        match e {
            ServiceError::Invalid(DomainError::Invalid { field, reason }) => {
                s.errors.push((field.to_owned(), reason));
            }
            ServiceError::Conflict(m) | ServiceError::Invalid(DomainError::Transition(m)) => {
                s.notice = Some(m);
            }
            other => return Err(other.into()),
        }
        Ok(s)
    }

    /// The refusal that names no field, if any.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The typed value when the form comes back, else `stored`.
    pub fn value<'a>(&'a self, field: &str, stored: &'a str) -> &'a str {
        self.values
            .iter()
            .find(|(f, _)| f == field)
            .map_or(stored, |(_, v)| v.as_str())
    }
}

pub(super) fn unprocessable(mut r: Response) -> Response {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

#[derive(Template)]
#[template(path = "admin/page_new.html")]
struct NewPageView {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    orgs: Vec<Org>,
    form: FormState,
}

/// Organisations where the person may create pages.
async fn manageable_orgs(services: &Services, me: &SignedIn) -> Result<Vec<Org>, WebError> {
    Ok(services
        .memberships(&me.principal.user_id)
        .await?
        .into_iter()
        .filter(|m| m.role.allows(Permission::PageManage))
        .map(|m| m.org)
        .collect())
}

async fn new_page_form(
    State(services): State<Services>,
    me: SignedIn,
) -> Result<Response, WebError> {
    let orgs = manageable_orgs(&services, &me).await?;
    if orgs.is_empty() {
        return Err(ServiceError::Forbidden(
            "only an organisation's admins and owners create pages".into(),
        )
        .into());
    }
    Ok(render(&NewPageView {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        orgs,
        form: FormState::default(),
    }))
}

async fn create_page(
    State(services): State<Services>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let orgs = manageable_orgs(&services, &me).await?;
    // A named organisation must be one the person manages; none named means their first.
    let org = match form.get("org") {
        Some(named) => orgs.iter().find(|o| o.id.as_str() == named),
        None => orgs.first(),
    }
    .ok_or_else(|| {
        ServiceError::Forbidden("only an organisation's admins and owners create pages".into())
    })?;
    let new = NewPage {
        name: form.get("name").unwrap_or_default().to_owned(),
        slug: form.get("slug").unwrap_or_default().to_owned(),
        public_slug: form.get("public_slug").map(str::to_owned),
        description: form.get("description").unwrap_or_default().to_owned(),
        published: true,
    };
    match services.new_page(&me.principal, &org.id, new).await {
        Ok(page) => {
            let to = format!("/admin/pages/{}/settings", page.id);
            super::chrome::saved(&me.session, "Page created.", &to).await
        }
        Err(e) => {
            let state = FormState::refused(e, &form)?;
            Ok(unprocessable(render(&NewPageView {
                email: me.email,
                csrf: me.csrf,
                chrome: me.chrome,
                orgs,
                form: state,
            })))
        }
    }
}

/// A component row on the settings page.
struct ComponentRow {
    c: Component,
    depth: u8,
}

#[derive(Template)]
#[template(path = "admin/page_settings.html")]
struct SettingsView {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    rows: Vec<ComponentRow>,
    groups: Vec<Component>,
    statuses: Vec<ComponentStatus>,
    form: FormState,
    /// Which form came back refused: "page", "add", "delete" or a component id.
    refused_in: String,
    can_manage: bool,
}

impl SettingsView {
    fn refused_here(&self, which: &str) -> bool {
        self.refused_in == which
    }
}

async fn settings_view(
    services: &Services,
    me: SignedIn,
    page_id: &PageId,
    form: FormState,
    refused_in: &str,
) -> Result<Response, WebError> {
    let page = services
        .page_for(&me.principal, page_id, Permission::IncidentManage)
        .await?;
    let can_manage = services
        .can(&me.principal, &page.org_id, Permission::PageManage)
        .await?;
    let all = services.components(&me.principal, page_id).await?;
    let mut rows = Vec::new();
    for node in crate::service::pages::hierarchy(&all) {
        rows.push(ComponentRow {
            c: node.component,
            depth: 0,
        });
        rows.extend(
            node.children
                .into_iter()
                .map(|c| ComponentRow { c, depth: 1 }),
        );
    }
    let groups = all
        .into_iter()
        .filter(|c| c.kind == ComponentKind::Group)
        .collect();
    Ok(render(&SettingsView {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        page,
        rows,
        groups,
        statuses: ComponentStatus::ALL.to_vec(),
        form,
        refused_in: refused_in.to_owned(),
        can_manage,
    }))
}

async fn settings(
    State(services): State<Services>,
    me: SignedIn,
    Path(page_id): Path<String>,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    settings_view(&services, me, &page_id, FormState::default(), "").await
}

/// After a change: back to the settings page, or the same page with the refusal beside its field.
async fn settle<T>(
    services: &Services,
    me: SignedIn,
    page_id: &PageId,
    form: &Fields,
    refused_in: &str,
    outcome: Result<T, ServiceError>,
    done: &str,
) -> Result<Response, WebError> {
    match outcome {
        Ok(_) => {
            let to = format!("/admin/pages/{page_id}/settings");
            super::chrome::saved(&me.session, done, &to).await
        }
        Err(e) => {
            let state = FormState::refused(e, form)?;
            let r = settings_view(services, me, page_id, state, refused_in).await?;
            Ok(unprocessable(r))
        }
    }
}

async fn save_settings(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let text = |k: &str| form.get(k).map(str::to_owned);
    let edit = PageEdit {
        name: text("name"),
        description: text("description"),
        public_slug: text("public_slug"),
        time_zone: text("time_zone"),
        logo_url: text("logo_url"),
        accent_color: text("accent_color"),
        support_url: text("support_url"),
        published: Some(form.checked("published")),
    };
    let outcome = services.edit_page(&me.principal, &page_id, edit).await;
    settle(
        &services,
        me,
        &page_id,
        &form,
        "page",
        outcome,
        "Settings saved.",
    )
    .await
}

async fn delete_page(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let typed = form.get("confirm").unwrap_or_default();
    match services
        .delete_page(&me.principal, &page_id, Some(typed))
        .await
    {
        Ok(()) => super::chrome::saved(&me.session, "Page deleted.", "/admin").await,
        Err(e) => settle::<()>(&services, me, &page_id, &form, "delete", Err(e), "").await,
    }
}

async fn add_component(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let new = NewComponentInput {
        name: form.get("name").unwrap_or_default().to_owned(),
        description: form.get("description").unwrap_or_default().to_owned(),
        parent_id: parent_of(&form)?,
        group: form.get("kind") == Some("group"),
    };
    let outcome = services.add_component(&me.principal, &page_id, new).await;
    settle(
        &services,
        me,
        &page_id,
        &form,
        "add",
        outcome,
        "Component added.",
    )
    .await
}

/// The `parent_id` select: empty is "no group".
fn parent_of(form: &Fields) -> Result<Option<ComponentId>, WebError> {
    match form.get("parent_id").filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => ComponentId::parse(p).map(Some).ok_or_else(|| {
            ServiceError::from(DomainError::invalid(
                "parent_id",
                "must be a group on the same page",
            ))
            .into()
        }),
    }
}

/// The component and its page, for the handlers that change one component.
async fn component_page(
    services: &Services,
    me: &SignedIn,
    raw: &str,
) -> Result<(ComponentId, PageId), WebError> {
    let id = parse_id(raw, ComponentId::parse, "component")?;
    let c = services.component(&me.principal, &id).await?;
    Ok((id, c.page_id))
}

async fn edit_component(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let (id, page_id) = component_page(&services, &me, &id).await?;
    let position = match form.get("position").map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(p.parse::<i64>().map_err(|_| {
            ServiceError::from(DomainError::invalid("position", "must be a whole number"))
        })),
    };
    let outcome = match position.transpose() {
        Err(e) => Err(e),
        Ok(position) => {
            let edit = ComponentEdit {
                name: form.get("name").map(str::to_owned),
                description: form.get("description").map(str::to_owned),
                position,
                parent_id: match form.get("parent_id") {
                    Some(_) => Some(parent_of(&form)?),
                    None => None,
                },
            };
            services.edit_component(&me.principal, &id, edit).await
        }
    };
    let done = "Component saved.";
    settle(&services, me, &page_id, &form, id.as_str(), outcome, done).await
}

async fn set_status(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let (id, page_id) = component_page(&services, &me, &id).await?;
    let outcome = match ComponentStatus::parse(form.get("status").unwrap_or_default()) {
        Ok(status) => {
            services
                .set_component_status_by_hand(&me.principal, &id, status)
                .await
        }
        Err(e) => Err(e.into()),
    };
    let done = "Status set.";
    settle(&services, me, &page_id, &form, id.as_str(), outcome, done).await
}

async fn delete_component(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let (id, page_id) = component_page(&services, &me, &id).await?;
    let outcome = services.delete_component(&me.principal, &id).await;
    let done = "Component deleted.";
    settle(&services, me, &page_id, &form, id.as_str(), outcome, done).await
}
