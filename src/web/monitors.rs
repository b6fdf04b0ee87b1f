//! Admin pages for monitors: the page's monitors with analytics and pending actions (Approve/Reject), one
//! monitor with its recent events and Run now, and the subscribers and deliveries of a page.

use super::form::SignedForm;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::admin::{parse_id, SignedIn};
use super::form::Fields;
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::monitor::{MonitorInput, PendingAction};
use crate::domain::{Component, ComponentKind, Page, Permission};
use crate::ids::{ComponentId, MonitorGroupId, MonitorId, PageId, PendingActionId};
use crate::service::analytics::AnalyticsSummary;
use crate::service::Services;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/pages/{page_id}/monitors", get(list).post(create))
        .route("/admin/pages/{page_id}/monitor-groups", post(create_group))
        .route("/admin/monitors/{id}", get(show).post(update))
        .route("/admin/monitors/{id}/run", post(run_now))
        .route("/admin/monitors/{id}/delete", post(delete))
        .route("/admin/monitors/{id}/enabled", post(set_enabled))
        .route("/admin/actions/{id}/approve", post(approve))
        .route("/admin/actions/{id}/reject", post(reject))
}

pub struct MonitorRow {
    pub id: String,
    pub name: String,
    pub url: String,
    pub state: &'static str,
    pub interval_secs: i64,
    pub uptime: String,
    pub component: String,
}

pub struct ActionRow {
    pub id: String,
    pub what: String,
    pub reason: String,
    pub state: &'static str,
    pub at: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "admin/monitors.html")]
struct MonitorsPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    monitors: Vec<MonitorRow>,
    groups: Vec<(String, String)>,
    components: Vec<Component>,
    actions: Vec<ActionRow>,
    analytics: AnalyticsSummary,
    mttr: String,
    can_manage: bool,
}

fn pct(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.2}%"))
        .unwrap_or_else(|| "no data".into())
}

fn component_name(components: &[Component], id: Option<&ComponentId>) -> String {
    id.and_then(|id| components.iter().find(|c| c.id == *id))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "—".into())
}

fn action_row(a: &PendingAction, components: &[Component]) -> ActionRow {
    let name = component_name(components, Some(&a.component_id));
    let what = match a.kind {
        crate::domain::monitor::ActionKind::OpenIncident => {
            format!("Open an incident: {name} {}", a.status.label())
        }
        crate::domain::monitor::ActionKind::SetStatus => {
            format!("Set {name} to {}", a.status.label())
        }
        crate::domain::monitor::ActionKind::ResolveIncident => {
            format!(
                "Resolve the open incident on {name} and set it to {}",
                a.status.label()
            )
        }
    };
    ActionRow {
        id: a.id.to_string(),
        what,
        reason: a.reason.clone(),
        state: a.state.as_str(),
        at: human_time(a.created_at),
        note: a.decision_note.clone().unwrap_or_default(),
    }
}

async fn list(
    State(services): State<Services>,
    me: SignedIn,
    Path(page_id): Path<String>,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let who = &me.principal;
    let page = services
        .page_for(who, &page_id, Permission::MonitorRead)
        .await?;
    let components: Vec<Component> = services
        .components(who, &page_id)
        .await?
        .into_iter()
        .filter(|c| c.kind == ComponentKind::Component)
        .collect();
    let analytics = services.analytics_summary(who, &page_id, None).await?;
    let monitors = services
        .monitors(who, &page_id)
        .await?
        .iter()
        .map(|m| MonitorRow {
            id: m.id.to_string(),
            name: m.spec.name.clone(),
            url: m.spec.url.clone(),
            state: match (m.spec.enabled, m.last_ok) {
                (false, _) => "paused",
                (true, None) => "waiting",
                (true, Some(true)) => "up",
                (true, Some(false)) => "down",
            },
            interval_secs: m.spec.interval_secs,
            uptime: pct(analytics
                .monitors
                .iter()
                .find(|u| u.id == m.id.as_str())
                .and_then(|u| u.uptime_percent)),
            component: component_name(&components, m.spec.component_id.as_ref()),
        })
        .collect();
    let groups = services
        .monitor_groups(who, &page_id)
        .await?
        .into_iter()
        .map(|g| (g.id.to_string(), g.name))
        .collect();
    let actions = services
        .pending_actions(who, &page_id, None, Some(20))
        .await?
        .iter()
        .map(|a| action_row(a, &components))
        .collect();
    let can_manage = services
        .can(who, &page.org_id, Permission::MonitorManage)
        .await?;
    let mttr = analytics
        .mean_time_to_resolve_minutes
        .map(|m| format!("{m:.0} min"))
        .unwrap_or_else(|| "—".into());
    Ok(render(&MonitorsPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        page,
        monitors,
        groups,
        components,
        actions,
        analytics,
        mttr,
        can_manage,
    }))
}

fn number(form: &Fields, name: &'static str, default: i64) -> Result<i64, WebError> {
    match form.get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| WebError::BadRequest(format!("{name} must be a whole number"))),
    }
}

/// The monitor form's fields as domain input; `enabled` is not on the form (Pause/Resume set it).
fn monitor_input(form: &Fields, enabled: bool) -> Result<MonitorInput<'_>, WebError> {
    let component_id = match form.get("component").filter(|v| !v.is_empty()) {
        Some(c) => Some(parse_id(c, ComponentId::parse, "component")?),
        None => None,
    };
    let group_id = match form.get("group").filter(|v| !v.is_empty()) {
        Some(g) => Some(parse_id(g, MonitorGroupId::parse, "monitor group")?),
        None => None,
    };
    Ok(MonitorInput {
        name: form.get("name").unwrap_or_default(),
        method: form.get("method").unwrap_or("GET"),
        url: form.get("url").unwrap_or_default(),
        expect_min: number(form, "expect_min", 200)?,
        expect_max: number(form, "expect_max", 299)?,
        body_contains: form.get("body_contains"),
        timeout_ms: number(form, "timeout_ms", 10_000)?,
        interval_secs: number(form, "interval_secs", 60)?,
        enabled,
        component_id,
        group_id,
    })
}

async fn create(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let m = services
        .create_monitor(&me.principal, &page_id, monitor_input(&form, true)?)
        .await?;
    super::chrome::saved(
        &me.session,
        "Monitor created.",
        &format!("/admin/monitors/{}", m.id),
    )
    .await
}

/// The edit form on a monitor's page: every field is replaced, pausing stays as it was.
async fn update(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MonitorId::parse, "monitor")?;
    let (m, _) = services.monitor(&me.principal, &id, Some(1)).await?;
    services
        .update_monitor(&me.principal, &id, monitor_input(&form, m.spec.enabled)?)
        .await?;
    super::chrome::saved(
        &me.session,
        "Monitor saved.",
        &format!("/admin/monitors/{id}"),
    )
    .await
}

async fn create_group(
    State(services): State<Services>,
    Path(page_id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let name = form.required("name")?;
    services
        .create_monitor_group(&me.principal, &page_id, name)
        .await?;
    super::chrome::saved(
        &me.session,
        "Monitor group created.",
        &format!("/admin/pages/{page_id}/monitors"),
    )
    .await
}

pub struct EventRow {
    pub at: String,
    pub ok: bool,
    pub latency_ms: i64,
    pub status: String,
    pub error: String,
    pub trigger: &'static str,
}

#[derive(Template)]
#[template(path = "admin/monitor.html")]
struct MonitorPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    id: String,
    row: MonitorRow,
    method: &'static str,
    expect: String,
    /// The stored settings, to fill the edit form.
    spec: crate::domain::monitor::MonitorSpec,
    selected_component: String,
    selected_group: String,
    body_contains: String,
    components: Vec<Component>,
    groups: Vec<(String, String)>,
    events: Vec<EventRow>,
    can_manage: bool,
}

async fn show(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MonitorId::parse, "monitor")?;
    let (m, events) = services.monitor(&me.principal, &id, Some(50)).await?;
    let page = services
        .page_for(&me.principal, &m.page_id, Permission::MonitorRead)
        .await?;
    let components: Vec<Component> = services
        .components(&me.principal, &m.page_id)
        .await?
        .into_iter()
        .filter(|c| c.kind == ComponentKind::Component)
        .collect();
    let can_manage = services
        .can(&me.principal, &page.org_id, Permission::MonitorManage)
        .await?;
    let groups = services
        .monitor_groups(&me.principal, &m.page_id)
        .await?
        .into_iter()
        .map(|g| (g.id.to_string(), g.name))
        .collect();
    let events = events
        .iter()
        .map(|e| EventRow {
            at: human_time(e.checked_at),
            ok: e.ok,
            latency_ms: e.latency_ms,
            status: e
                .status_code
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".into()),
            error: e.error.clone().unwrap_or_default(),
            trigger: e.trigger.as_str(),
        })
        .collect();
    Ok(render(&MonitorPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        id: m.id.to_string(),
        method: m.spec.method.as_str(),
        expect: format!("{}–{}", m.spec.expect_min, m.spec.expect_max),
        row: MonitorRow {
            id: m.id.to_string(),
            name: m.spec.name.clone(),
            url: m.spec.url.clone(),
            state: if m.spec.enabled { "enabled" } else { "paused" },
            interval_secs: m.spec.interval_secs,
            uptime: String::new(),
            component: component_name(&components, m.spec.component_id.as_ref()),
        },
        selected_component: m
            .spec
            .component_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        selected_group: m
            .spec
            .group_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        body_contains: m.spec.body_contains.clone().unwrap_or_default(),
        spec: m.spec,
        components,
        groups,
        page,
        events,
        can_manage,
    }))
}

async fn run_now(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, .. }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MonitorId::parse, "monitor")?;
    services.run_monitor_now(&me.principal, &id).await?;
    super::chrome::saved(&me.session, "Check run.", &format!("/admin/monitors/{id}")).await
}

async fn set_enabled(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MonitorId::parse, "monitor")?;
    services
        .set_monitor_enabled(&me.principal, &id, form.checked("enabled"))
        .await?;
    super::chrome::saved(
        &me.session,
        "Monitor saved.",
        &format!("/admin/monitors/{id}"),
    )
    .await
}

async fn delete(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, .. }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MonitorId::parse, "monitor")?;
    let (m, _) = services.monitor(&me.principal, &id, Some(1)).await?;
    services.delete_monitor(&me.principal, &id).await?;
    super::chrome::saved(
        &me.session,
        "Monitor deleted.",
        &format!("/admin/pages/{}/monitors", m.page_id),
    )
    .await
}

async fn decide(
    services: &Services,
    me: &SignedIn,
    id: &str,
    form: &Fields,
    approve: bool,
) -> Result<Response, WebError> {
    let id = parse_id(id, PendingActionId::parse, "pending action")?;
    let a = if approve {
        services.approve_action(&me.principal, &id).await?
    } else {
        let note = form.get("note").unwrap_or_default();
        services.reject_action(&me.principal, &id, note).await?
    };
    super::chrome::saved(
        &me.session,
        "Action answered.",
        &format!("/admin/pages/{}/monitors", a.page_id),
    )
    .await
}

async fn approve(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    decide(&services, &me, &id, &form, true).await
}

async fn reject(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    decide(&services, &me, &id, &form, false).await
}
