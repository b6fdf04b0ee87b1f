//! `/admin/members`: an organisation's members with their roles, pending invitations, and the forms
//! to invite, change a role, remove a member and withdraw an invitation. A refused form comes back
//! (422) with the reason beside its field and the input kept.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::admin::{parse_id, SignedIn};
use super::connections::org_to_manage;
use super::form::{Fields, SignedForm};
use super::pages_admin::{unprocessable, FormState};
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::{DomainError, Org, Permission, Role};
use crate::ids::{InvitationId, OrgId, UserId};
use crate::service::members::Invited;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/members", get(show))
        .route("/admin/members/invite", post(invite))
        .route("/admin/members/{user}/role", post(change_role))
        .route("/admin/members/{user}/remove", post(remove))
        .route(
            "/admin/members/invitations/{id}/revoke",
            post(revoke_invitation),
        )
}

struct MemberRow {
    user_id: String,
    email: String,
    role: &'static str,
    since: String,
    me: bool,
}

struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/members.html")]
struct MembersPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    org: Org,
    /// Other organisations the person administers, to switch between.
    orgs: Vec<Org>,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    roles: Vec<&'static str>,
    form: FormState,
    /// A refusal naming no field (the last owner, a conflict), shown above the lists.
    notice: Option<String>,
}

#[derive(Deserialize)]
struct OrgQuery {
    org: Option<String>,
}

/// A refused form's state, and its message when it names no field.
pub(super) fn refusal(
    e: ServiceError,
    form: &Fields,
) -> Result<(FormState, Option<String>), WebError> {
    let notice = match &e {
        ServiceError::Conflict(m) | ServiceError::Invalid(DomainError::Transition(m)) => {
            Some(m.clone())
        }
        _ => None,
    };
    Ok((FormState::refused(e, form)?, notice))
}

async fn page(
    services: &Services,
    me: SignedIn,
    org: &OrgId,
    form: FormState,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let who = &me.principal;
    let members = services.members(who, org).await?;
    let invitations = services.pending_invitations(who, org).await?;
    let mut orgs = Vec::new();
    let mut this = None;
    for m in services.memberships(&who.user_id).await? {
        if m.org.id == *org {
            this = Some(m.org);
        } else if m.role.allows(Permission::SettingsManage) {
            orgs.push(m.org);
        }
    }
    let org = this.ok_or(WebError::Service(ServiceError::NotFound("organisation")))?;
    Ok(render(&MembersPage {
        members: members
            .into_iter()
            .map(|m| MemberRow {
                me: m.user_id == who.user_id,
                user_id: m.user_id.to_string(),
                email: m.email,
                role: m.role.as_str(),
                since: human_time(m.since),
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id.to_string(),
                email: i.email,
                role: i.role.as_str(),
                expires: human_time(i.expires_at),
            })
            .collect(),
        roles: Role::ALL.iter().rev().map(|r| r.as_str()).collect(),
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        org,
        orgs,
        form,
        notice,
    }))
}

async fn show(
    State(services): State<Services>,
    me: SignedIn,
    Query(q): Query<OrgQuery>,
) -> Result<Response, WebError> {
    let refusal = "only organisation admins manage members";
    let org = org_to_manage(&services, &me, q.org.as_deref(), refusal).await?;
    page(&services, me, &org, FormState::default(), None).await
}

fn back(org: &OrgId) -> String {
    format!("/admin/members?org={org}")
}

/// The organisation a form acts in: its `org` field, which must be one the person administers.
async fn form_org(services: &Services, s: &SignedForm) -> Result<OrgId, WebError> {
    let refusal = "only organisation admins manage members";
    org_to_manage(services, &s.me, s.form.get("org"), refusal).await
}

/// After a change: back to the list, or the list again with the refusal shown (422).
async fn answer(
    services: &Services,
    s: SignedForm,
    org: &OrgId,
    done: Result<(), ServiceError>,
    message: &str,
) -> Result<Response, WebError> {
    match done {
        Ok(()) => super::chrome::saved(&s.me.session, message, &back(org)).await,
        Err(e) => {
            let (state, notice) = refusal(e, &s.form)?;
            Ok(unprocessable(
                page(services, s.me, org, state, notice).await?,
            ))
        }
    }
}

async fn invite(State(services): State<Services>, s: SignedForm) -> Result<Response, WebError> {
    let org = form_org(&services, &s).await?;
    let email = s.form.get("email").unwrap_or_default();
    let role = s.form.get("role").unwrap_or_default();
    match services.invite(&s.me.principal, &org, email, role).await {
        Ok(invited) => {
            let flash = invitation_flash(&invited);
            super::chrome::done(&s.me.session, flash, &back(&org)).await
        }
        Err(e) => answer(&services, s, &org, Err(e), "").await,
    }
}

fn member_id(raw: &str) -> Result<UserId, WebError> {
    parse_id(raw, UserId::parse, "member")
}

async fn change_role(
    State(services): State<Services>,
    Path(user): Path<String>,
    s: SignedForm,
) -> Result<Response, WebError> {
    let user = member_id(&user)?;
    let org = form_org(&services, &s).await?;
    let done = match Role::parse(s.form.get("role").unwrap_or_default()) {
        Ok(role) => services.set_role(&s.me.principal, &org, &user, role).await,
        Err(e) => Err(e.into()),
    };
    answer(&services, s, &org, done, "Role changed.").await
}

async fn remove(
    State(services): State<Services>,
    Path(user): Path<String>,
    s: SignedForm,
) -> Result<Response, WebError> {
    let user = member_id(&user)?;
    let org = form_org(&services, &s).await?;
    let done = services.remove_member(&s.me.principal, &org, &user).await;
    answer(&services, s, &org, done, "Member removed.").await
}

async fn revoke_invitation(
    State(services): State<Services>,
    Path(id): Path<String>,
    s: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, InvitationId::parse, "invitation")?;
    let org = form_org(&services, &s).await?;
    let done = services.revoke_invitation(&s.me.principal, &org, &id).await;
    answer(&services, s, &org, done, "Invitation revoked.").await
}

/// The invitation's link, shown once through the flash (never in a URL), so a reload invites no one.
fn invitation_flash(invited: &Invited) -> super::chrome::Flash {
    let emailed = if invited.emailed {
        " It has also been emailed."
    } else {
        ""
    };
    super::chrome::Flash::with_secret(
        format!(
            "Invited {0}. Send this link to {0}: it works once and expires in 7 days.{emailed}",
            invited.email
        ),
        invited.link.clone(),
    )
}
