//! Sign-in and sign-out. The sign-in form is guarded like the public forms (`public_form`: a token
//! bound to a `SameSite=Strict` cookie nonce), not by a session, so showing it or refusing a wrong
//! password writes nothing; the session row is written by a successful sign-in alone.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::form::Fields;
use super::public_form;
use super::session::{safe_next, WebSession};
use super::{render, WebError};
use crate::config::Config;
use crate::ratelimit::ClientAddr;
use crate::service::{ServiceError, Services};

/// What the sign-in form's token is made for.
const PURPOSE: &str = "sign-in";

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    /// The form token (the field keeps the name `csrf` every other form uses).
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
    /// "Forgot your password?" emails a link (SMTP is set), else the page names the operator's command.
    reset_by_email: bool,
}

/// The sign-in page with a fresh form token, and the form cookie when the visitor has none yet.
fn login_page(
    services: &Services,
    config: &Config,
    headers: &HeaderMap,
    next: String,
    email: String,
    error: Option<String>,
) -> Result<Response, WebError> {
    let guard = public_form::issue(services, headers, PURPOSE, config.is_https())?;
    let page = LoginPage {
        csrf: guard.token.clone(),
        next,
        email,
        error,
        reset_by_email: services.reset_by_email(),
    };
    Ok(guard.set_on(render(&page)))
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn show(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    session: WebSession,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if session.user_id().await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    login_page(&services, &config, &headers, next, String::new(), None)
}

pub async fn submit(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    client: ClientAddr,
    session: WebSession,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    public_form::check(&services, &headers, PURPOSE, form.get("csrf"))?;
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    let password = form.get("password").unwrap_or_default();
    let next = safe_next(form.get("next"));
    match services.authenticate(&email, password, &client.key()).await {
        Ok(user) => {
            session.sign_in(&user.id).await?;
            Ok(Redirect::to(&next).into_response())
        }
        Err(e @ (ServiceError::BadCredentials | ServiceError::TooManyAttempts { .. })) => {
            let (status, retry) = match &e {
                ServiceError::TooManyAttempts { retry_after_secs } => {
                    (StatusCode::TOO_MANY_REQUESTS, Some(*retry_after_secs))
                }
                _ => (StatusCode::UNAUTHORIZED, None),
            };
            let mut resp = login_page(
                &services,
                &config,
                &headers,
                next,
                email,
                Some(e.to_string()),
            )?;
            *resp.status_mut() = status;
            if let Some(secs) = retry {
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    session: WebSession,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    session.check_csrf(Fields(form).get("csrf")).await?;
    session.sign_out().await?;
    Ok(Redirect::to("/login").into_response())
}
