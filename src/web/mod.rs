//! The HTML side: the public status page, sign-in, and the admin pages. Handlers extract, call one
//! service function and render; `WebError` turns a service error into an error page once.

mod account;
mod admin;
mod api_keys;
mod audit;
mod badge;
pub mod chrome;
mod confirm;
mod connections;
mod consent;
mod deliveries;
mod drafts;
mod edits;
mod feeds;
mod form;
mod history;
mod invite;
mod login;
mod maintenance_admin;
mod members;
mod monitors;
mod orgs;
mod pages_admin;
mod paging;
mod password_reset;
mod public_brand;
pub mod public_cache;
mod public_form;
mod public_history;
mod public_root;
pub mod session;
mod setup;
mod status_page;
mod statuspage_api;
mod subscribe;
mod trusted_issuers;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::service::ServiceError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .merge(password_reset::router())
        .merge(admin::router())
        .merge(edits::router())
        .merge(drafts::router())
        .merge(api_keys::router())
        .merge(consent::router())
        .merge(connections::router())
        .merge(trusted_issuers::router())
        .merge(monitors::router())
        .merge(deliveries::router())
        .merge(subscribe::router())
        .merge(pages_admin::router())
        .merge(setup::router())
        .merge(orgs::router())
        .merge(history::router())
        .merge(audit::router())
        .merge(members::router())
        .merge(account::router())
        .merge(invite::router())
        .merge(confirm::router())
}

/// What the public reads: served from the public cache, outside the session layer and the private
/// headers (these responses are the same for everyone, so they may be cached by anyone).
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/", get(public_root::show))
        .route("/status/{public_slug}", get(status_page::show))
        .route("/status/{public_slug}/badge.svg", get(badge::badge))
        .merge(public_history::router())
        .merge(statuspage_api::router())
        .merge(feeds::router())
}

/// Renders a template; a render failure is logged and becomes a bare 500.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template render failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// What an error page said, left on the response so `chrome::errors_in_layout` can show it again
/// inside the admin layout.
#[derive(Clone, Debug)]
pub struct ErrorShown {
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    /// Where the page's one link leads, and its text.
    home: (&'static str, &'static str),
}

/// Where an error page sends its reader on: the admin side's dashboard, or the public status page.
#[derive(Clone, Copy)]
enum Home {
    Admin,
    Public,
}

impl Home {
    fn link(self) -> (&'static str, &'static str) {
        match self {
            Self::Admin => ("/admin", "Dashboard"),
            Self::Public => ("/", "Status page"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the form has expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    /// A failure that is ours, with its cause for the log (the person sees a generic page).
    #[error("internal error: {0}")]
    Internal(String),
    /// Over a budget: 429 with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Service(e) => match e {
                ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
                ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
                ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ServiceError::Conflict(_) => StatusCode::CONFLICT,
                ServiceError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
                ServiceError::BadCredentials => StatusCode::UNAUTHORIZED,
                ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.respond(Home::Admin)
    }
}

/// An error on a page the public reads (status pages, feeds, subscribing): the same error page, but
/// it leads back to the public status page, never to the admin side.
#[derive(Debug)]
pub struct PublicError(WebError);

impl From<WebError> for PublicError {
    fn from(e: WebError) -> Self {
        Self(e)
    }
}

impl From<ServiceError> for PublicError {
    fn from(e: ServiceError) -> Self {
        Self(WebError::Service(e))
    }
}

impl IntoResponse for PublicError {
    fn into_response(self) -> Response {
        self.0.respond(Home::Public)
    }
}

impl WebError {
    fn respond(self, home: Home) -> Response {
        let status = self.status();
        // The one place a failed request is logged: where it becomes a response.
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        // A 500 never shows its cause.
        let message = if status.is_server_error() {
            "Something went wrong on our side.".to_owned()
        } else {
            self.to_string()
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let mut resp = render(&ErrorPage {
            title,
            message: &message,
            home: home.link(),
        });
        *resp.status_mut() = status;
        resp.extensions_mut().insert(ErrorShown {
            title: title.to_owned(),
            message,
        });
        if let Self::Service(ServiceError::TooManyAttempts { retry_after_secs })
        | Self::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        resp
    }
}

/// Pages that hold forms or private data are never framed and never cached.
pub async fn private_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A handler may set its own policy (the consent page widens form-action to the client's redirect).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        );
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}
