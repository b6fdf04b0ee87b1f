//! The first-run page: reached only through the one-time link printed at start-up, it creates the
//! organisation and its owner, signs the owner in and goes on to the new page form. The session the
//! GET opens carries the CSRF token the form posts back.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::form::Fields;
use super::pages_admin::{unprocessable, FormState};
use super::session::WebSession;
use super::{render, WebError};
use crate::service::setup::SetupInput;
use crate::service::Services;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/setup", get(show).post(submit))
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    csrf: String,
    token: String,
    form: FormState,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

async fn show(
    State(services): State<Services>,
    session: WebSession,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    let token = q.token.unwrap_or_default();
    services.check_setup_token(&token).await?;
    Ok(render(&SetupPage {
        csrf: session.csrf_token().await?,
        token,
        form: FormState::default(),
    }))
}

async fn submit(
    State(services): State<Services>,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(pairs);
    let token = form.get("token").unwrap_or_default();
    // A used or wrong link is gone for every form, whatever session it comes with (a read only).
    services.check_setup_token(token).await?;
    session.check_csrf(form.get("csrf")).await?;
    let field = |name| form.get(name).unwrap_or_default();
    let input = SetupInput {
        org_name: field("org_name"),
        org_slug: field("org_slug").trim(),
        email: field("email").trim(),
        password: field("password"),
        password_repeat: field("password_repeat"),
    };
    match services.complete_setup(token, &input).await {
        Ok((_, owner)) => {
            session.sign_in(&owner.id).await?;
            Ok(Redirect::to("/admin/pages/new").into_response())
        }
        Err(e) => {
            let state = FormState::refused(e, &form)?;
            Ok(unprocessable(render(&SetupPage {
                csrf: session.csrf_token().await?,
                token: token.to_owned(),
                form: state,
            })))
        }
    }
}
