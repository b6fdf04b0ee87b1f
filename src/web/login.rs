//! Sign-in and sign-out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::form::Fields;
use super::session::{safe_next, WebSession};
use super::{render, WebError};
use crate::ratelimit::ClientAddr;
use crate::service::{ServiceError, Services};

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn show(session: WebSession, Query(q): Query<NextQuery>) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if session.user_id().await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let page = LoginPage {
        csrf: session.csrf_token().await?,
        next,
        email: String::new(),
        error: None,
    };
    Ok(render(&page))
}

pub async fn submit(
    State(services): State<Services>,
    client: ClientAddr,
    session: WebSession,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    session.check_csrf(form.get("csrf")).await?;
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
            let page = LoginPage {
                csrf: session.csrf_token().await?,
                next,
                email,
                error: Some(e.to_string()),
            };
            let mut resp = render(&page);
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
