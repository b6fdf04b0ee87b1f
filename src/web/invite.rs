//! `/invite/{token}`: the page an invitation link opens. For an email with no account it asks for a
//! password and makes the account; for an existing account it asks that person to sign in and then
//! adds the membership. An unknown link is 404, an expired, withdrawn or used one 410.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};

use super::admin::url_encode;
use super::form::Fields;
use super::members::refusal;
use super::pages_admin::{unprocessable, FormState};
use super::session::WebSession;
use super::{render, WebError};
use crate::domain::DomainError;
use crate::service::members::{InvitationLookup, OpenInvitation};
use crate::service::{Principal, ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/invite/{token}", get(show).post(accept))
}

/// What the page offers.
#[derive(PartialEq, Eq)]
enum Step {
    /// No account yet: choose a password.
    Create,
    /// Signed in as the invited person: one button joins.
    Join,
    /// The account exists; sign in first.
    SignIn,
    /// Signed in as someone else.
    WrongPerson,
    /// Expired, withdrawn or used.
    Gone,
}

#[derive(Template)]
#[template(path = "auth/invite.html")]
struct InvitePage {
    step: Step,
    csrf: String,
    action: String,
    org: String,
    role: &'static str,
    invited: String,
    signed_in_as: String,
    message: String,
    form: FormState,
    notice: Option<String>,
}

/// The page for a link that no longer works: it holds no form, so it needs no session.
fn gone(message: &str) -> Response {
    let mut r = render(&InvitePage {
        step: Step::Gone,
        csrf: String::new(),
        action: String::new(),
        org: String::new(),
        role: "",
        invited: String::new(),
        signed_in_as: String::new(),
        message: message.into(),
        form: FormState::default(),
        notice: None,
    });
    *r.status_mut() = StatusCode::GONE;
    r
}

/// The open invitation behind `token`, or the page to show instead.
async fn lookup(
    services: &Services,
    token: &str,
) -> Result<Result<OpenInvitation, Response>, WebError> {
    // An anonymous visitor with a wrong link makes no session row: the token is checked first.
    Ok(match services.invitation(token).await? {
        InvitationLookup::Open(o) => Ok(*o),
        InvitationLookup::Expired => Err(gone(
            "This invitation has expired or was withdrawn. Ask for a new one.",
        )),
        InvitationLookup::Used => Err(gone("This invitation has already been used.")),
    })
}

async fn view(
    services: &Services,
    session: &WebSession,
    token: &str,
    open: OpenInvitation,
    form: FormState,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let me = match session.user_id().await? {
        Some(id) => services.user(&id).await.ok(),
        None => None,
    };
    let inv = &open.invitation;
    let step = match (&me, open.account_exists) {
        (Some(u), _) if u.email == inv.email => Step::Join,
        (Some(_), _) => Step::WrongPerson,
        (None, true) => Step::SignIn,
        (None, false) => Step::Create,
    };
    let status = if step == Step::WrongPerson {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    let mut r = render(&InvitePage {
        step,
        csrf: session.csrf_token().await?,
        action: format!("/invite/{token}"),
        org: open.org.name.clone(),
        role: inv.role.as_str(),
        invited: inv.email.clone(),
        signed_in_as: me.map(|u| u.email).unwrap_or_default(),
        message: format!("/login?next={}", url_encode(&format!("/invite/{token}"))),
        form,
        notice,
    });
    *r.status_mut() = status;
    Ok(r)
}

async fn show(
    State(services): State<Services>,
    session: WebSession,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match lookup(&services, &token).await? {
        Ok(open) => {
            view(
                &services,
                &session,
                &token,
                open,
                FormState::default(),
                None,
            )
            .await
        }
        Err(page) => Ok(page),
    }
}

async fn accept(
    State(services): State<Services>,
    session: WebSession,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    // A used or expired link is gone whatever session the post comes with (the lookup only reads).
    let open = match lookup(&services, &token).await? {
        Ok(open) => open,
        Err(page) => return Ok(page),
    };
    session.check_csrf(form.get("csrf")).await?;
    let done = match session.user_id().await? {
        Some(me) => services
            .accept_as_member(&Principal::user(me), &token)
            .await
            .map(|_| None),
        None => {
            let password = form.get("password").unwrap_or_default();
            if form.get("repeat").unwrap_or_default() == password {
                services.accept_as_new(&token, password).await.map(Some)
            } else {
                Err(DomainError::invalid("repeat", "does not match the password").into())
            }
        }
    };
    match done {
        Ok(new_user) => {
            if let Some(user) = new_user {
                session.sign_in(&user.id).await?;
            }
            Ok(Redirect::to(&format!("/admin?org={}", open.org.id)).into_response())
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            // Passwords are never sent back in the form.
            let (state, notice) = refusal(e, &Fields(Vec::new()))?;
            let r = view(&services, &session, &token, open, state, notice).await?;
            Ok(unprocessable(r))
        }
        Err(e) => Err(e.into()),
    }
}
