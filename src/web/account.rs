//! `/account`: the signed-in person's own page. Changing the password needs the current one and ends
//! the person's other browser sessions; their keys and connections are listed with links to manage them.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use super::admin::SignedIn;
use super::form::SignedForm;
use super::members::refusal;
use super::pages_admin::{unprocessable, FormState};
use super::{render, WebError};
use crate::domain::DomainError;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/password", post(change_password))
}

struct KeyRow {
    org: String,
    name: String,
    prefix: String,
    connector: bool,
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    orgs: Vec<(String, &'static str)>,
    keys: Vec<KeyRow>,
    form: FormState,
    notice: Option<String>,
    /// Set after a successful change: how many other sessions it ended.
    changed: Option<u64>,
}

async fn page(
    services: &Services,
    me: SignedIn,
    form: FormState,
    notice: Option<String>,
    changed: Option<u64>,
) -> Result<Response, WebError> {
    let orgs = services
        .memberships(&me.principal.user_id)
        .await?
        .into_iter()
        .map(|m| (m.org.name, m.role.as_str()))
        .collect();
    let keys = services
        .own_api_keys(&me.principal)
        .await?
        .into_iter()
        .map(|(org, k)| KeyRow {
            org: org.name,
            name: k.name,
            prefix: k.prefix,
            connector: k.kind == crate::domain::KeyKind::Connector,
        })
        .collect();
    Ok(render(&AccountPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        orgs,
        keys,
        form,
        notice,
        changed,
    }))
}

#[derive(serde::Deserialize)]
struct Changed {
    changed: Option<u64>,
}

async fn show(
    State(services): State<Services>,
    me: SignedIn,
    Query(q): Query<Changed>,
) -> Result<Response, WebError> {
    page(&services, me, FormState::default(), None, q.changed).await
}

async fn change_password(
    State(services): State<Services>,
    s: SignedForm,
) -> Result<Response, WebError> {
    let current = s.form.get("current").unwrap_or_default();
    let new = s.form.get("new").unwrap_or_default();
    let done = if s.form.get("repeat").unwrap_or_default() != new {
        Err(DomainError::invalid("repeat", "does not match the new password").into())
    } else {
        let keep =
            s.me.session
                .id()
                .ok_or_else(|| WebError::Internal("a signed-in session without an id".into()))?;
        services
            .change_password(&s.me.principal, current, new, &keep)
            .await
    };
    match done {
        Ok(ended) => {
            let to = format!("/account?changed={ended}");
            Ok(Redirect::to(&to).into_response())
        }
        Err(e @ ServiceError::Invalid(_)) => {
            // Passwords are never sent back in the form.
            let kept = super::form::Fields(Vec::new());
            let (state, notice) = refusal(e, &kept)?;
            Ok(unprocessable(
                page(&services, s.me, state, notice, None).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
