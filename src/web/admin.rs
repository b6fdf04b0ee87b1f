//! Admin pages for signed-in members: a dashboard of the org's pages, incidents and maintenances, and
//! the forms to do by hand what an assistant will do through MCP.

use super::form::SignedForm;
use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::drafts::{page_drafts, DraftRow};
use super::form::Fields;
use super::pages_admin::FormState;
use super::session::WebSession;
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::MaintenanceFilter;
use crate::domain::{
    Component, ComponentKind, ComponentStatus, Incident, IncidentStage, IncidentUpdate,
    Maintenance, Message, NewIncidentUpdate, Page, Permission,
};
use crate::ids::{ComponentId, IncidentId, PageId};
use crate::service::{Principal, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/pages/{page_id}/incidents/new", get(new_incident))
        .route("/admin/pages/{page_id}/incidents", post(create_incident))
        .route("/admin/incidents/{id}", get(incident))
        .route("/admin/incidents/{id}/updates", post(add_incident_update))
        .route("/admin/incidents/{id}/reopen", post(reopen_incident))
        .merge(super::maintenance_admin::router())
}

/// A signed-in member; anyone else is sent to sign in and brought back.
pub struct SignedIn {
    pub principal: Principal,
    pub session: WebSession,
    pub email: String,
    pub csrf: String,
    /// The layout's links by role and the waiting flash (taken on a GET).
    pub chrome: super::chrome::Chrome,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = WebSession::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/admin");
            let q: String = url_encode(next);
            Redirect::to(&format!("/login?next={q}")).into_response()
        };
        let Some(user_id) = session
            .user_id()
            .await
            .map_err(IntoResponse::into_response)?
        else {
            return Err(to_login());
        };
        // A session whose user is gone is treated as signed out.
        let Ok(user) = state.services.user(&user_id).await else {
            return Err(to_login());
        };
        let csrf = session
            .csrf_token()
            .await
            .map_err(IntoResponse::into_response)?;
        let chrome =
            super::chrome::Chrome::load(&state.services, &session, &user.id, &parts.method)
                .await
                .map_err(IntoResponse::into_response)?;
        Ok(Self {
            principal: Principal::user(user.id),
            session,
            email: user.email,
            csrf,
            chrome,
        })
    }
}

pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) fn parse_id<T>(
    raw: &str,
    parse: fn(&str) -> Option<T>,
    what: &'static str,
) -> Result<T, WebError> {
    parse(raw).ok_or(WebError::Service(crate::service::ServiceError::NotFound(
        what,
    )))
}

struct PageSummary {
    page: Page,
    org_name: String,
    can_manage: bool,
    active: Vec<Incident>,
    resolved: Vec<Incident>,
    maintenances: Vec<Maintenance>,
    drafts: Vec<DraftRow>,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    pages: Vec<PageSummary>,
    /// The organisation chosen on /admin/orgs; `None` shows every one of the person's.
    current_org: Option<crate::domain::Org>,
}

async fn dashboard(State(services): State<Services>, me: SignedIn) -> Result<Response, WebError> {
    let mut pages = Vec::new();
    let memberships = services.memberships(&me.principal.user_id).await?;
    let current_org = super::orgs::current_org(&services, &me).await?;
    for (org, page) in services.list_pages(&me.principal).await? {
        if current_org.as_ref().is_some_and(|c| c.id != org.id) {
            continue;
        }
        let role = memberships
            .iter()
            .find(|m| m.org.id == org.id)
            .map(|m| m.role);
        let mut maintenances = services
            .maintenances(&me.principal, &page.id, MaintenanceFilter::Active, None)
            .await?;
        maintenances.extend(
            services
                .maintenances(&me.principal, &page.id, MaintenanceFilter::Upcoming, None)
                .await?,
        );
        let can_manage = role.is_some_and(|r| r.allows(Permission::IncidentManage));
        pages.push(PageSummary {
            drafts: page_drafts(&services, &me.principal, &page.id, can_manage).await?,
            active: services.active_incidents(&me.principal, &page.id).await?,
            resolved: services
                .resolved_incidents(&me.principal, &page.id, Some(5))
                .await?,
            maintenances,
            can_manage,
            org_name: org.name,
            page,
        });
    }
    Ok(render(&Dashboard {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        pages,
        current_org,
    }))
}

#[derive(Template)]
#[template(path = "admin/incident_new.html")]
struct NewIncidentPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    components: Vec<Component>,
    stages: Vec<IncidentStage>,
    statuses: Vec<ComponentStatus>,
}

async fn new_incident(
    State(services): State<Services>,
    me: SignedIn,
    Path(page_id): Path<String>,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let page = services
        .page_for(&me.principal, &page_id, Permission::IncidentManage)
        .await?;
    let components = leaf_components(services.components(&me.principal, &page_id).await?);
    let stages = IncidentStage::ALL
        .iter()
        .copied()
        .filter(|s| s.is_open())
        .collect();
    Ok(render(&NewIncidentPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        page,
        components,
        stages,
        statuses: ComponentStatus::ALL.to_vec(),
    }))
}

pub(super) fn leaf_components(all: Vec<Component>) -> Vec<Component> {
    all.into_iter()
        .filter(|c| c.kind == ComponentKind::Component)
        .collect()
}

/// Reads the stage, message, notify flag and `component_<id>` status choices of an update form.
fn update_from_form(form: &Fields) -> Result<NewIncidentUpdate, WebError> {
    let stage = IncidentStage::parse(form.required("stage")?)
        .map_err(crate::service::ServiceError::from)?;
    let message = Message::parse("message", form.get("message").unwrap_or_default())
        .map_err(crate::service::ServiceError::from)?;
    let mut affected = Vec::new();
    for (id, status) in form.with_prefix("component_") {
        if status.is_empty() {
            continue;
        }
        let id = ComponentId::parse(id)
            .ok_or_else(|| WebError::BadRequest(format!("unknown component {id}")))?;
        let status = ComponentStatus::parse(status).map_err(crate::service::ServiceError::from)?;
        affected.push((id, status));
    }
    Ok(NewIncidentUpdate {
        stage,
        message,
        affected,
        notify: form.checked("notify"),
    })
}

async fn create_incident(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let update = update_from_form(&form)?;
    let title = form.get("title").unwrap_or_default();
    let (incident, _) = services
        .create_incident(&me.principal, &page_id, title, update)
        .await?;
    let to = format!("/admin/incidents/{}", incident.id);
    super::chrome::saved(&me.session, "Incident posted.", &to).await
}

struct UpdateRow {
    stage: &'static str,
    message: String,
    at: String,
    notify: bool,
    affected: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "admin/incident.html")]
struct IncidentPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    incident: Incident,
    stage_label: &'static str,
    updates: Vec<UpdateRow>,
    components: Vec<Component>,
    stages: Vec<IncidentStage>,
    open_stages: Vec<IncidentStage>,
    statuses: Vec<ComponentStatus>,
    can_manage: bool,
    draft: Option<DraftRow>,
    /// The correction form as typed, when it came back refused.
    form: FormState,
}

impl IncidentPage {
    fn title_now(&self) -> &str {
        &self.incident.title
    }

    /// Whether the correction form came back refused.
    fn came_back(&self) -> bool {
        self.form.value("edit", "") == "1"
    }

    /// The status picked for `c` in the correction form ("" is unchanged).
    fn picked(&self, c: &Component) -> &str {
        self.form.value(&format!("component_{}", c.id), "")
    }
}

fn update_rows(updates: &[IncidentUpdate], components: &[Component]) -> Vec<UpdateRow> {
    let name = |id: &ComponentId| {
        components
            .iter()
            .find(|c| c.id == *id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    updates
        .iter()
        .map(|u| UpdateRow {
            stage: u.stage.label(),
            message: u.message.clone(),
            at: human_time(u.created_at),
            notify: u.notify,
            affected: u
                .affected
                .iter()
                .map(|(c, s)| (name(c), s.label()))
                .collect(),
        })
        .collect()
}

async fn incident(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, IncidentId::parse, "incident")?;
    incident_view(&services, me, &id, FormState::default()).await
}

/// The incident's admin page, with the correction form as `form` holds it.
pub(super) async fn incident_view(
    services: &Services,
    me: SignedIn,
    id: &IncidentId,
    form: FormState,
) -> Result<Response, WebError> {
    let (incident, updates) = services.incident(&me.principal, id, Some(200)).await?;
    let page = services
        .page_for(&me.principal, &incident.page_id, Permission::IncidentRead)
        .await?;
    let components = leaf_components(services.components(&me.principal, &page.id).await?);
    let can_manage = services
        .can(&me.principal, &page.org_id, Permission::IncidentManage)
        .await?;
    let draft = incident
        .draft
        .as_ref()
        .map(|d| DraftRow::incident(&incident, d, None, can_manage));
    Ok(render(&IncidentPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        draft,
        stage_label: incident.stage.label(),
        updates: update_rows(&updates, &components),
        page,
        incident,
        components,
        stages: IncidentStage::ALL.to_vec(),
        open_stages: IncidentStage::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect(),
        statuses: ComponentStatus::ALL.to_vec(),
        can_manage,
        form,
    }))
}

async fn add_incident_update(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, IncidentId::parse, "incident")?;
    services
        .add_incident_update(&me.principal, &id, update_from_form(&form)?)
        .await?;
    let to = format!("/admin/incidents/{id}");
    super::chrome::saved(&me.session, "Update posted.", &to).await
}

async fn reopen_incident(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, IncidentId::parse, "incident")?;
    services
        .reopen_incident(&me.principal, &id, update_from_form(&form)?)
        .await?;
    let to = format!("/admin/incidents/{id}");
    super::chrome::saved(&me.session, "Incident reopened.", &to).await
}
