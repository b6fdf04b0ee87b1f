//! The admin correction forms: an incident's title and affected components, a maintenance's title,
//! window and components. The service checks them as it checks the REST API and the page MCP server; a
//! refusal comes back as the same page (422) with the reason beside the field and the input kept.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::admin::{incident_view, parse_id};
use super::form::{Fields, SignedForm};
use super::maintenance_admin::{local_value, maintenance_view, parse_local};
use super::pages_admin::{unprocessable, FormState};
use super::WebError;
use crate::domain::DomainError;
use crate::ids::{IncidentId, MaintenanceId};
use crate::service::edits::{IncidentEdit, MaintenanceEdit};
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/incidents/{id}/edit", post(edit_incident))
        .route("/admin/maintenances/{id}/edit", post(edit_maintenance))
}

/// A refusal that names no field (the incident is resolved, the maintenance has started) is shown
/// above the whole form, under the form's own name.
fn refused(e: ServiceError, form: &Fields) -> Result<FormState, WebError> {
    let e = match e {
        ServiceError::Invalid(DomainError::Transition(m)) | ServiceError::Conflict(m) => {
            ServiceError::Invalid(DomainError::invalid("edit", m))
        }
        other => other,
    };
    FormState::refused(e, form)
}

/// The text of an optional field; empty is "not given".
fn given(form: &Fields, name: &str) -> Option<String> {
    form.get(name)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned)
}

/// The `component_<id>` fields that were set, as `(id, value)`.
fn picked(form: &Fields) -> Vec<(String, String)> {
    form.with_prefix("component_")
        .filter(|(_, v)| !v.is_empty())
        .map(|(id, v)| (id.to_owned(), v.to_owned()))
        .collect()
}

async fn edit_incident(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, IncidentId::parse, "incident")?;
    let affected = picked(&form);
    let edit = IncidentEdit {
        title: form.get("title").map(str::to_owned),
        affected: (!affected.is_empty()).then_some(affected),
        message: given(&form, "message"),
        notify: form.checked("notify"),
    };
    match services.edit_incident(&me.principal, &id, edit).await {
        Ok(_) => {
            super::chrome::saved(
                &me.session,
                "Correction saved.",
                &format!("/admin/incidents/{id}"),
            )
            .await
        }
        Err(e) => {
            let state = refused(e, &form)?;
            Ok(unprocessable(
                incident_view(&services, me, &id, state).await?,
            ))
        }
    }
}

/// A window end as typed: unchanged from what the form showed is "not given", so an untouched
/// window never counts as a move.
fn moved_to(
    form: &Fields,
    field: &'static str,
    shown: &str,
) -> Result<Option<time::OffsetDateTime>, ServiceError> {
    match form.get(field).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v == shown => Ok(None),
        Some(v) => Ok(Some(parse_local(field, v)?)),
    }
}

async fn maintenance_edit(
    services: &Services,
    me: &super::admin::SignedIn,
    id: &MaintenanceId,
    form: &Fields,
) -> Result<(), ServiceError> {
    let (m, _) = services.maintenance(&me.principal, id, Some(1)).await?;
    let edit = MaintenanceEdit {
        title: form.get("title").map(str::to_owned),
        starts_at: moved_to(form, "starts_at", &local_value(m.starts_at))?,
        ends_at: moved_to(form, "ends_at", &local_value(m.ends_at))?,
        component_ids: Some(picked(form).into_iter().map(|(id, _)| id).collect()),
        notify: form.checked("notify"),
    };
    services.edit_maintenance(&me.principal, id, edit).await?;
    Ok(())
}

async fn edit_maintenance(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, MaintenanceId::parse, "maintenance")?;
    match maintenance_edit(&services, &me, &id, &form).await {
        Ok(()) => {
            super::chrome::saved(
                &me.session,
                "Correction saved.",
                &format!("/admin/maintenances/{id}"),
            )
            .await
        }
        Err(e) => {
            let state = refused(e, &form)?;
            Ok(unprocessable(
                maintenance_view(&services, me, &id, state).await?,
            ))
        }
    }
}
