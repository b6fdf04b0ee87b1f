//! Admin pages for maintenances: schedule one, follow it through its window, post its updates.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use time::{OffsetDateTime, PrimitiveDateTime};

use super::admin::{leaf_components, parse_id, SignedIn};
use super::drafts::DraftRow;
use super::form::SignedForm;
use super::pages_admin::FormState;
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::{
    Component, DomainError, Maintenance, MaintenanceState, MaintenanceUpdate, MaintenanceWindow,
    Message, Page, Permission,
};
use crate::ids::{ComponentId, MaintenanceId, PageId};
use crate::service::maintenances::NewMaintenance;
use crate::service::Services;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/pages/{page_id}/maintenances/new",
            get(new_maintenance),
        )
        .route(
            "/admin/pages/{page_id}/maintenances",
            post(create_maintenance),
        )
        .route("/admin/maintenances/{id}", get(maintenance))
        .route(
            "/admin/maintenances/{id}/updates",
            post(add_maintenance_update),
        )
}

#[derive(Template)]
#[template(path = "admin/maintenance_new.html")]
struct NewMaintenancePage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    components: Vec<Component>,
}

async fn new_maintenance(
    State(services): State<Services>,
    me: SignedIn,
    Path(page_id): Path<String>,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let page = services
        .page_for(&me.principal, &page_id, Permission::MaintenanceManage)
        .await?;
    let components = leaf_components(services.components(&me.principal, &page_id).await?);
    Ok(render(&NewMaintenancePage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        page,
        components,
    }))
}

/// `datetime-local` values, read as UTC (the form says so).
pub(super) fn parse_local(field: &'static str, raw: &str) -> Result<OffsetDateTime, DomainError> {
    let with_secs =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let no_secs = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(raw.trim(), &with_secs)
        .or_else(|_| PrimitiveDateTime::parse(raw.trim(), &no_secs))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| DomainError::invalid(field, "must be a date and time like 2026-11-22T14:00"))
}

/// An instant as a `datetime-local` value (UTC, to the minute).
pub(super) fn local_value(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    t.format(&f).unwrap_or_default()
}

async fn create_maintenance(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let starts_at = parse_local("starts_at", form.required("starts_at")?)
        .map_err(crate::service::ServiceError::from)?;
    let ends_at = parse_local("ends_at", form.required("ends_at")?)
        .map_err(crate::service::ServiceError::from)?;
    let window = MaintenanceWindow::new(starts_at, ends_at, services.clock.now())
        .map_err(crate::service::ServiceError::from)?;
    let components = form
        .with_prefix("component_")
        .filter(|(_, v)| !v.is_empty())
        .map(|(id, _)| {
            ComponentId::parse(id)
                .ok_or_else(|| WebError::BadRequest(format!("unknown component {id}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewMaintenance {
        title: form.get("title").unwrap_or_default(),
        window,
        components,
        message: Message::parse("message", form.get("message").unwrap_or_default())
            .map_err(crate::service::ServiceError::from)?,
        notify: form.checked("notify"),
    };
    let (m, _) = services
        .schedule_maintenance(&me.principal, &page_id, new)
        .await?;
    super::chrome::saved(
        &me.session,
        "Maintenance scheduled.",
        &format!("/admin/maintenances/{}", m.id),
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/maintenance.html")]
struct MaintenancePage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    maintenance: Maintenance,
    state_label: &'static str,
    window: String,
    component_names: Vec<String>,
    updates: Vec<(&'static str, String, String)>,
    next_states: Vec<MaintenanceState>,
    can_manage: bool,
    draft: Option<DraftRow>,
    /// Leaf components of the page, for the correction form.
    components: Vec<Component>,
    starts_local: String,
    ends_local: String,
    /// The correction form as typed, when it came back refused.
    form: FormState,
}

impl MaintenancePage {
    fn title_now(&self) -> &str {
        &self.maintenance.title
    }

    /// Whether the correction form came back refused.
    fn came_back(&self) -> bool {
        self.form.value("edit", "") == "1"
    }

    /// Whether the correction form ticks `c`: as typed when it came back, else as stored.
    fn covers(&self, c: &Component) -> bool {
        if self.came_back() {
            !self
                .form
                .value(&format!("component_{}", c.id), "")
                .is_empty()
        } else {
            self.maintenance.components.contains(&c.id)
        }
    }
}

async fn maintenance(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MaintenanceId::parse, "maintenance")?;
    maintenance_view(&services, me, &id, FormState::default()).await
}

/// The maintenance's admin page, with the correction form as `form` holds it.
pub(super) async fn maintenance_view(
    services: &Services,
    me: SignedIn,
    id: &MaintenanceId,
    form: FormState,
) -> Result<Response, WebError> {
    let (m, updates) = services.maintenance(&me.principal, id, Some(200)).await?;
    let page = services
        .page_for(&me.principal, &m.page_id, Permission::MaintenanceRead)
        .await?;
    let components = services.components(&me.principal, &page.id).await?;
    let can_manage = services
        .can(&me.principal, &page.org_id, Permission::MaintenanceManage)
        .await?;
    let component_names = m
        .components
        .iter()
        .filter_map(|c| {
            components
                .iter()
                .find(|k| k.id == *c)
                .map(|k| k.name.clone())
        })
        .collect();
    let updates = updates
        .iter()
        .map(|u: &MaintenanceUpdate| (u.state.label(), u.message.clone(), human_time(u.created_at)))
        .collect();
    let draft = m
        .draft
        .as_ref()
        .map(|d| DraftRow::maintenance(&m, d, None, can_manage));
    Ok(render(&MaintenancePage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        draft,
        state_label: m.state.label(),
        window: format!("{} to {}", human_time(m.starts_at), human_time(m.ends_at)),
        next_states: MaintenanceState::ALL
            .iter()
            .copied()
            .filter(|s| m.state.check_transition(*s).is_ok())
            .collect(),
        starts_local: local_value(m.starts_at),
        ends_local: local_value(m.ends_at),
        components: leaf_components(components),
        page,
        maintenance: m,
        component_names,
        updates,
        can_manage,
        form,
    }))
}

async fn add_maintenance_update(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MaintenanceId::parse, "maintenance")?;
    let state = MaintenanceState::parse(form.required("state")?)
        .map_err(crate::service::ServiceError::from)?;
    let message = Message::parse("message", form.get("message").unwrap_or_default())
        .map_err(crate::service::ServiceError::from)?;
    services
        .add_maintenance_update(&me.principal, &id, state, message, form.checked("notify"))
        .await?;
    super::chrome::saved(
        &me.session,
        "Update posted.",
        &format!("/admin/maintenances/{id}"),
    )
    .await
}
