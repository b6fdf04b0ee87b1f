//! What the admin layout shows around every page: the links the person's role may open, and the
//! one-time flash message left by the action that redirected here.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::session::WebSession;
use super::{render, ErrorShown};
use crate::domain::Permission;
use crate::ids::UserId;
use crate::service::{Principal, Services};
use crate::state::AppState;

/// The header's optional links; each is shown only when the page behind it would open.
#[derive(Clone, Debug, Default)]
pub struct Nav {
    /// Members, Hosted MCP and Audit log: settings-manage in some organisation in view.
    pub admin: bool,
    /// New page: page-manage in some organisation in view.
    pub new_page: bool,
}

/// A message shown once after a successful action; `secret` is a link or key shown this one time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub message: String,
    pub secret: Option<String>,
}

impl Flash {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            secret: None,
        }
    }

    pub fn with_secret(message: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            secret: Some(secret.into()),
        }
    }
}

/// The layout's per-request part.
#[derive(Clone, Debug, Default)]
pub struct Chrome {
    pub nav: Nav,
    pub flash: Option<Flash>,
}

impl Chrome {
    /// Asks the services what the person may open in the organisations in view (the chosen one, else
    /// all of theirs), and takes the flash on a GET (a POST that re-renders keeps it for the next page).
    pub async fn load(
        services: &Services,
        session: &WebSession,
        user: &UserId,
        method: &Method,
    ) -> Result<Self, super::WebError> {
        let who = Principal::user(user.clone());
        let current = session.current_org().await?;
        let mut nav = Nav::default();
        for m in services.memberships(user).await? {
            if current.as_ref().is_some_and(|c| *c != m.org.id) {
                continue;
            }
            nav.admin |= services
                .can(&who, &m.org.id, Permission::SettingsManage)
                .await?;
            nav.new_page |= services
                .can(&who, &m.org.id, Permission::PageManage)
                .await?;
        }
        let flash = if method == Method::GET {
            session.take_flash().await?
        } else {
            None
        };
        Ok(Self { nav, flash })
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct AdminError {
    email: String,
    csrf: String,
    chrome: Chrome,
    title: String,
    message: String,
}

/// A refusal or missing thing on an admin page is shown inside the admin layout, so the person keeps
/// the header and can go on; the bare error page stays for the signed-out and for our own failures.
pub async fn errors_in_layout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let resp = next.run(req).await;
    let Some(shown) = resp.extensions().get::<ErrorShown>().cloned() else {
        return resp;
    };
    if !matches!(
        resp.status(),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::CONFLICT
    ) {
        return resp;
    }
    let Some(session) = session.map(WebSession::new) else {
        return resp;
    };
    let Ok(Some(user_id)) = session.user_id().await else {
        return resp;
    };
    let Ok(user) = state.services.user(&user_id).await else {
        return resp;
    };
    let (Ok(csrf), Ok(chrome)) = (
        session.csrf_token().await,
        Chrome::load(&state.services, &session, &user_id, &method).await,
    ) else {
        return resp;
    };
    let mut page = render(&AdminError {
        email: user.email,
        csrf,
        chrome,
        title: shown.title,
        message: shown.message,
    });
    *page.status_mut() = resp.status();
    page
}

/// A successful action's answer: the flash for the next page and a 303 to it, so a reload of that
/// page posts nothing.
pub async fn done(
    session: &WebSession,
    flash: Flash,
    to: &str,
) -> Result<Response, super::WebError> {
    session.set_flash(&flash).await?;
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to(to),
    ))
}

/// [`done`] with a plain message.
pub async fn saved(
    session: &WebSession,
    message: &str,
    to: &str,
) -> Result<Response, super::WebError> {
    done(session, Flash::new(message), to).await
}
