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
        .route("/admin/orgs", get(list).post(create))
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
    /// The new-organisation form, as typed when it came back refused.
    new_org: FormState,
    form: FormState,
}

impl OrgsView {
    fn refused_here(&self, org: &OrgId) -> bool {
        self.refused.as_ref() == Some(org)
    }

    fn is_owner(&self, m: &Membership) -> bool {
        m.role == Role::Owner
    }

    /// The organisation the person is working in: the chosen one, or their only one. It is not
    /// offered as a switch.
    fn is_current(&self, org: &OrgId) -> bool {
        match &self.current {
            Some(c) => c.id == *org,
            None => self.memberships.len() == 1,
        }
    }
}

async fn view(
    services: &Services,
    me: SignedIn,
    refused: Option<OrgId>,
    form: FormState,
    new_org: FormState,
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
        new_org,
    }))
}

async fn list(State(services): State<Services>, me: SignedIn) -> Result<Response, WebError> {
    view(
        &services,
        me,
        None,
        FormState::default(),
        FormState::default(),
    )
    .await
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
            let fresh = FormState::default();
            Ok(unprocessable(
                view(&services, me, Some(id), state, fresh).await?,
            ))
        }
    }
}

/// Creates an organisation with the person as its owner and switches to it; a refusal comes back
/// with what was typed and the reason beside its field, and nothing is made.
async fn create(
    State(services): State<Services>,
    SignedForm { me, form }: SignedForm,
) -> Result<Response, WebError> {
    let slug = form.get("slug").unwrap_or_default();
    let name = form.get("name").unwrap_or_default();
    match services.create_org_as(&me.principal, slug, name).await {
        Ok(org) => {
            me.session.set_current_org(Some(&org.id)).await?;
            let message = format!("Organisation {} created: you are its owner.", org.name);
            super::chrome::saved(&me.session, &message, "/admin/orgs").await
        }
        Err(e) => {
            let state = FormState::refused(e, &form)?;
            let fresh = FormState::default();
            Ok(unprocessable(
                view(&services, me, None, fresh, state).await?,
            ))
        }
    }
}
