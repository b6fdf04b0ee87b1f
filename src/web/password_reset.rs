//! "Forgot your password?": `/login/forgot` asks for the email and always gives the same answer;
//! `/login/reset/{token}` is the emailed link's set-new-password form. Both are session-less
//! (`public_form`), and neither signs anyone in: afterwards the person signs in as usual. Without SMTP
//! the forgot page names the operator's command instead of offering a form.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};

use super::form::Fields;
use super::pages_admin::{unprocessable, FormState};
use super::public_form;
use super::{render, WebError};
use crate::config::Config;
use crate::domain::DomainError;
use crate::ratelimit::ClientAddr;
use crate::service::password_reset::LINK_MINUTES;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

const FORGOT: &str = "forgot-password";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/forgot", get(forgot_form).post(forgot))
        .route("/login/reset/{token}", get(reset_form).post(reset))
}

/// The reset form's token is made for its own link only.
fn reset_purpose(token: &str) -> String {
    format!("reset-password:{token}")
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    by_email: bool,
    token: String,
    sent: bool,
    form: FormState,
    minutes: i64,
}

fn forgot_page(
    services: &Services,
    config: &Config,
    headers: &HeaderMap,
    sent: bool,
    form: FormState,
) -> Result<Response, WebError> {
    let guard = public_form::issue(services, headers, FORGOT, config.is_https())?;
    let page = ForgotPage {
        by_email: services.reset_by_email(),
        token: guard.token.clone(),
        sent,
        form,
        minutes: LINK_MINUTES,
    };
    Ok(guard.set_on(render(&page)))
}

async fn forgot_form(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    forgot_page(&services, &config, &headers, false, FormState::default())
}

async fn forgot(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    from: ClientAddr,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    public_form::check(&services, &headers, FORGOT, form.get("form_token"))?;
    let email = form.get("email").unwrap_or_default();
    match services.request_password_reset(&from, email).await {
        Ok(()) => forgot_page(&services, &config, &headers, true, FormState::default()),
        Err(e @ ServiceError::Invalid(_)) => {
            let state = FormState::refused(e, &form)?;
            Ok(unprocessable(forgot_page(
                &services, &config, &headers, false, state,
            )?))
        }
        Err(e) => Err(e.into()),
    }
}

/// What the link's page shows.
#[derive(PartialEq, Eq)]
enum Step {
    Choose,
    Done,
    /// Unknown, forged, expired or used: one answer for all.
    Gone,
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    step: Step,
    action: String,
    token: String,
    form: FormState,
    by_email: bool,
}

fn reset_page(
    services: &Services,
    step: Step,
    action: String,
    token: String,
    form: FormState,
) -> Response {
    let status = match step {
        Step::Gone => StatusCode::NOT_FOUND,
        Step::Choose | Step::Done => StatusCode::OK,
    };
    let mut r = render(&ResetPage {
        step,
        action,
        token,
        form,
        by_email: services.reset_by_email(),
    });
    *r.status_mut() = status;
    r
}

fn gone(services: &Services) -> Response {
    reset_page(
        services,
        Step::Gone,
        String::new(),
        String::new(),
        FormState::default(),
    )
}

/// The set-new-password form for an open link, with a token made for that link.
fn choose(
    services: &Services,
    config: &Config,
    headers: &HeaderMap,
    link: &str,
    form: FormState,
) -> Result<Response, WebError> {
    let guard = public_form::issue(services, headers, &reset_purpose(link), config.is_https())?;
    let page = reset_page(
        services,
        Step::Choose,
        format!("/login/reset/{link}"),
        guard.token.clone(),
        form,
    );
    Ok(guard.set_on(page))
}

async fn reset_form(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    Path(link): Path<String>,
) -> Result<Response, WebError> {
    // Showing the form does not use the link up, so a mail scanner that follows it spends nothing.
    match services.password_reset_open(&link).await {
        Ok(()) => choose(&services, &config, &headers, &link, FormState::default()),
        Err(ServiceError::NotFound(_)) => Ok(gone(&services)),
        Err(e) => Err(e.into()),
    }
}

async fn reset(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    Path(link): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    public_form::check(
        &services,
        &headers,
        &reset_purpose(&link),
        form.get("form_token"),
    )?;
    let password = form.get("password").unwrap_or_default();
    let done = match services.password_reset_open(&link).await {
        Ok(()) if form.get("repeat").unwrap_or_default() != password => {
            Err(DomainError::invalid("repeat", "does not match the password").into())
        }
        Ok(()) => services.reset_password(&link, password).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(reset_page(
            &services,
            Step::Done,
            String::new(),
            String::new(),
            FormState::default(),
        )),
        Err(ServiceError::NotFound(_)) => Ok(gone(&services)),
        Err(e @ ServiceError::Invalid(_)) => {
            // Passwords are never sent back in the form.
            let state = FormState::refused(e, &Fields(Vec::new()))?;
            Ok(unprocessable(choose(
                &services, &config, &headers, &link, state,
            )?))
        }
        Err(e) => Err(e.into()),
    }
}
