//! The enterprise-managed sign-in part of `/admin/hosted-mcp`: the identity providers an organisation
//! trusts to sign its members in (ID-JAG), each with its JWKS URL and role cap. Owners only; the
//! service checks and audits every change.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;

use super::connections::org_to_manage;
use super::form::SignedForm;
use super::WebError;
use crate::domain::connector::TrustedIssuer;
use crate::ids::OrgId;
use crate::oauth::AuthServer;
use crate::service::{Principal, ServiceError};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/hosted-mcp/issuers", post(add_form))
        .route("/admin/hosted-mcp/issuers/remove", post(remove_form))
}

/// One trusted issuer as the console shows it.
pub(super) struct IssuerRow {
    pub issuer: String,
    pub jwks_uri: String,
    pub role_cap: &'static str,
}

/// The rows for `org`'s console, or `None` when `who` is not an owner there (the page then says who
/// manages them).
pub(super) async fn rows(
    oauth: &AuthServer,
    who: &Principal,
    org: &OrgId,
) -> Result<Option<Vec<IssuerRow>>, WebError> {
    match oauth.trusted_issuers(who, org).await {
        Ok(list) => Ok(Some(list.into_iter().map(row).collect())),
        Err(ServiceError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn row(t: TrustedIssuer) -> IssuerRow {
    IssuerRow {
        issuer: t.issuer,
        jwks_uri: t.jwks_uri,
        role_cap: t.role_cap.as_str(),
    }
}

const REFUSAL: &str = "only organisation owners manage enterprise sign-in";

async fn add_form(
    State(oauth): State<AuthServer>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let org = org_to_manage(&oauth.services, &me, form.get("org"), REFUSAL).await?;
    oauth
        .add_trusted_issuer(
            &me.principal,
            &org,
            form.get("issuer").unwrap_or_default(),
            form.get("jwks_uri").unwrap_or_default(),
            form.get("role_cap").unwrap_or_default(),
        )
        .await?;
    Ok(Redirect::to("/admin/hosted-mcp#enterprise-sign-in").into_response())
}

async fn remove_form(
    State(oauth): State<AuthServer>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let org = org_to_manage(&oauth.services, &me, form.get("org"), REFUSAL).await?;
    oauth
        .remove_trusted_issuer(&me.principal, &org, form.get("issuer").unwrap_or_default())
        .await?;
    Ok(Redirect::to("/admin/hosted-mcp#enterprise-sign-in").into_response())
}
