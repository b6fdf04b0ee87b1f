//! Drafts in the admin pages: the rows the dashboard and the item pages show, and the Publish and
//! Discard forms. Publishing asks whether to notify subscribers, with no answer chosen in advance.

use super::form::SignedForm;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use axum::Router;

use super::admin::{parse_id, SignedIn};
use super::form::Fields;
use super::status_page::human_time;
use super::WebError;
use crate::domain::DraftKind;
use crate::domain::{Draft, Incident, Maintenance};
use crate::ids::{IncidentId, MaintenanceId, PageId};
use crate::service::{Principal, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    use DraftKind::{Incident, Maintenance};
    Router::new()
        .route("/admin/incidents/{id}/publish", decision(Incident, true))
        .route("/admin/incidents/{id}/discard", decision(Incident, false))
        .route(
            "/admin/maintenances/{id}/publish",
            decision(Maintenance, true),
        )
        .route(
            "/admin/maintenances/{id}/discard",
            decision(Maintenance, false),
        )
}

/// The POST handler of one draft form: publish or discard a draft of `kind`.
fn decision(kind: DraftKind, publish: bool) -> MethodRouter<AppState> {
    post(
        move |State(services): State<Services>,
              Path(id): Path<String>,
              SignedForm { me, form }: SignedForm| async move {
            decide(&services, &me, kind, &id, &form, publish).await
        },
    )
}

/// One draft as the admin pages list it, with what is needed for its forms.
pub struct DraftRow {
    /// `incidents` or `maintenances`: the path segment of its pages and forms.
    pub kind: &'static str,
    pub id: String,
    pub title: String,
    /// Stage or state, and for maintenance the window.
    pub summary: String,
    /// The assistant's client name, "API key" or "web".
    pub via: String,
    pub by: String,
    pub at: String,
    pub can_manage: bool,
}

impl DraftRow {
    pub fn incident(i: &Incident, d: &Draft, by: Option<String>, can_manage: bool) -> Self {
        Self {
            kind: "incidents",
            id: i.id.to_string(),
            title: i.title.clone(),
            summary: i.stage.label().to_owned(),
            via: d.via.clone(),
            by: by.unwrap_or_default(),
            at: human_time(i.updated_at),
            can_manage,
        }
    }

    pub fn maintenance(m: &Maintenance, d: &Draft, by: Option<String>, can_manage: bool) -> Self {
        Self {
            kind: "maintenances",
            id: m.id.to_string(),
            title: m.title.clone(),
            summary: format!(
                "{}, {} to {}",
                m.state.label(),
                human_time(m.starts_at),
                human_time(m.ends_at)
            ),
            via: d.via.clone(),
            by: by.unwrap_or_default(),
            at: human_time(m.updated_at),
            can_manage,
        }
    }
}

/// A page's drafts, incidents first, for someone who may read both.
pub async fn page_drafts(
    services: &Services,
    who: &Principal,
    page: &PageId,
    can_manage: bool,
) -> Result<Vec<DraftRow>, WebError> {
    let mut rows = Vec::new();
    for (i, by) in services.draft_incidents(who, page).await? {
        if let Some(d) = &i.draft {
            rows.push(DraftRow::incident(&i, d, by, can_manage));
        }
    }
    for (m, by) in services.draft_maintenances(who, page).await? {
        if let Some(d) = &m.draft {
            rows.push(DraftRow::maintenance(&m, d, by, can_manage));
        }
    }
    Ok(rows)
}

/// The publisher's explicit choice: the form has two radio buttons and neither is preselected.
fn notify_choice(form: &Fields) -> Result<bool, WebError> {
    match form.get("notify") {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(WebError::BadRequest(
            "choose whether to notify subscribers before publishing".into(),
        )),
    }
}

/// Publishes (then shows the item) or discards (then back to the dashboard) a draft.
async fn decide(
    services: &Services,
    me: &SignedIn,
    kind: DraftKind,
    raw_id: &str,
    form: &Fields,
    publish: bool,
) -> Result<Response, WebError> {
    let who = &me.principal;
    let shown = match kind {
        DraftKind::Incident => {
            let id = parse_id(raw_id, IncidentId::parse, "incident")?;
            if !publish {
                services.discard_incident(who, &id).await?;
                return super::chrome::saved(&me.session, "Draft discarded.", "/admin").await;
            }
            services
                .publish_incident(who, &id, notify_choice(form)?)
                .await?;
            format!("/admin/incidents/{id}")
        }
        DraftKind::Maintenance => {
            let id = parse_id(raw_id, MaintenanceId::parse, "maintenance")?;
            if !publish {
                services.discard_maintenance(who, &id).await?;
                return super::chrome::saved(&me.session, "Draft discarded.", "/admin").await;
            }
            services
                .publish_maintenance(who, &id, notify_choice(form)?)
                .await?;
            format!("/admin/maintenances/{id}")
        }
    };
    super::chrome::saved(&me.session, "Published.", &shown).await
}
