//! The person's organisations: which one the admin pages show (kept in the session), and the rename
//! form for owners.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::admin::{parse_id, SignedIn};
use super::form::SignedForm;
use super::pages_admin::{unprocessable, FormState};
use super::{render, WebError};
use crate::domain::{Membership, Org, Role};
use crate::ids::OrgId;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/orgs", get(list))
        .route("/admin/orgs/switch", post(switch))
        .route("/admin/orgs/{id}/rename", post(rename))
}

/// The organisation chosen in this session, if the person still belongs to it; a choice they lost
/// access to counts as none.
pub(super) async fn current_org(
    services: &Services,
    me: &SignedIn,
) -> Result<Option<Org>, WebError> {
    let Some(id) = me.session.current_org().await? else {
        return Ok(None);
    };
    Ok(services
        .memberships(&me.principal.user_id)
        .await?
        .into_iter()
        .find(|m| m.org.id == id)
        .map(|m| m.org))
}

#[derive(Template)]
#[template(path = "admin/orgs.html")]
struct OrgsView {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    current: Option<Org>,
    memberships: Vec<Membership>,
    /// The organisation whose rename came back refused.
    refused: Option<OrgId>,
    form: FormState,
}

impl OrgsView {
    fn refused_here(&self, org: &OrgId) -> bool {
        self.refused.as_ref() == Some(org)
    }

    fn is_owner(&self, m: &Membership) -> bool {
        m.role == Role::Owner
    }

    fn is_current(&self, org: &OrgId) -> bool {
        self.current.as_ref().is_some_and(|c| c.id == *org)
    }
}

async fn view(
    services: &Services,
    me: SignedIn,
    refused: Option<OrgId>,
    form: FormState,
) -> Result<Response, WebError> {
    let current = current_org(services, &me).await?;
    let memberships = services.memberships(&me.principal.user_id).await?;
    Ok(render(&OrgsView {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        current,
        memberships,
        refused,
        form,
    }))
}

async fn list(State(services): State<Services>, me: SignedIn) -> Result<Response, WebError> {
    view(&services, me, None, FormState::default()).await
}

/// Chooses the organisation the admin pages show; `all` goes back to every one of the person's.
async fn switch(
    State(services): State<Services>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let chosen = match form.required("org")? {
        "all" => None,
        raw => {
            let id = parse_id(raw, OrgId::parse, "organisation")?;
            let mine = services.memberships(&me.principal.user_id).await?;
            if !mine.iter().any(|m| m.org.id == id) {
                return Err(ServiceError::NotFound("organisation").into());
            }
            Some(id)
        }
    };
    me.session.set_current_org(chosen.as_ref()).await?;
    super::chrome::saved(&me.session, "Organisation switched.", "/admin").await
}

async fn rename(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, OrgId::parse, "organisation")?;
    let name = form.get("name").unwrap_or_default();
    match services.rename_org(&me.principal, &id, name).await {
        Ok(_) => super::chrome::saved(&me.session, "Organisation renamed.", "/admin/orgs").await,
        Err(e) => {
            let state = FormState::refused(e, &form)?;
            Ok(unprocessable(view(&services, me, Some(id), state).await?))
        }
    }
}
