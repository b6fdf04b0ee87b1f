//! Members of an organisation: invitations by link (valid seven days, emailed when SMTP is set), role
//! changes and removal, with the last owner kept; and a person's own password. Managing members needs
//! settings-manage (admins and owners); only an owner may grant, change or remove ownership.

use serde_json::json;
use time::Duration;

use super::accounts::{check_password_shape, hash_password, verify_password};
use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::{DomainError, Email, Invitation, Member, Org, Permission, Role};
use crate::ids::{random_hex, sha256_hex, InvitationId, OrgId, UserId};
use crate::store::{StoreError, Tx};

/// How long an invitation link stays valid.
pub const INVITATION_DAYS: i64 = 7;

/// What an invitation link leads to.
pub enum InvitationLookup {
    Open(Box<OpenInvitation>),
    /// Past its seven days, or withdrawn by an admin.
    Expired,
    /// Already accepted.
    Used,
}

pub struct OpenInvitation {
    pub invitation: Invitation,
    pub org: Org,
    /// Whether an account with the invited email exists (then accepting needs signing in as it).
    pub account_exists: bool,
}

/// A new invitation: its link is shown once, to the person who sent it.
pub struct Invited {
    pub email: String,
    pub link: String,
    pub emailed: bool,
}

/// Whether `mine` may move `theirs` to `new` (`None`: removal). Ownership is an owner's to give or
/// take; the last owner stays, so an organisation always has someone who can manage everything.
fn check_owner_rules(
    mine: Option<Role>,
    theirs: Role,
    new: Option<Role>,
    owners: i64,
) -> Result<()> {
    let touches_owner = theirs == Role::Owner || new == Some(Role::Owner);
    if touches_owner && mine != Some(Role::Owner) {
        return Err(ServiceError::Forbidden(
            "only an owner can change ownership".into(),
        ));
    }
    if theirs == Role::Owner && new != Some(Role::Owner) && owners <= 1 {
        return Err(ServiceError::Conflict(
            "this is the organisation's last owner; make someone else an owner first".into(),
        ));
    }
    Ok(())
}

/// Whether someone with role `mine` (`None`: not a member) may invite someone as `role`: asked when the
/// invitation is sent and again when it is accepted, since the link speaks for its sender.
pub(super) fn may_grant(mine: Option<Role>, role: Role) -> bool {
    mine.is_some_and(|m| {
        m.allows(Permission::SettingsManage) && (role != Role::Owner || m == Role::Owner)
    })
}

impl Services {
    /// Everyone in `org`, for its admins.
    pub async fn members(&self, who: &Principal, org: &OrgId) -> Result<Vec<Member>> {
        self.require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        Ok(self.store.members(org).await?)
    }

    pub async fn pending_invitations(
        &self,
        who: &Principal,
        org: &OrgId,
    ) -> Result<Vec<Invitation>> {
        self.require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        Ok(self
            .store
            .pending_invitations(org, self.clock.now())
            .await?)
    }

    /// Invites `email` into `org` with `role`; answers the link (shown once) and queues the email.
    #[tracing::instrument(skip(self, who), fields(org = %org))]
    pub async fn invite(
        &self,
        who: &Principal,
        org: &OrgId,
        email: &str,
        role: &str,
    ) -> Result<Invited> {
        self.require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        let email = Email::parse(email)?;
        let role = Role::parse(role.trim())?;
        let mine = self.store.role_of(org, &who.user_id).await?;
        if !may_grant(mine, role) {
            return Err(DomainError::invalid("role", "only an owner can invite an owner").into());
        }
        let now = self.clock.now();
        if let Ok(existing) = self.store.user_id_by_email(email.as_str()).await {
            if self.store.role_of(org, &existing).await?.is_some() {
                return Err(DomainError::invalid("email", "is already a member").into());
            }
        }
        if self
            .store
            .count_pending_invitations(org, email.as_str(), now)
            .await?
            > 0
        {
            return Err(DomainError::invalid(
                "email",
                "already has a pending invitation; revoke it to send a new one",
            )
            .into());
        }
        let token = random_hex(32);
        let inv = Invitation {
            id: InvitationId::generate(),
            org_id: org.clone(),
            email: email.as_str().to_owned(),
            role,
            invited_by: who.user_id.clone(),
            created_at: now,
            expires_at: now + Duration::days(INVITATION_DAYS),
            accepted_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .insert_invitation(&mut tx, &inv, &sha256_hex(&token))
            .await?;
        let detail = json!({ "email": inv.email, "role": role.as_str() });
        self.audit(
            &mut tx,
            who,
            org,
            "member.invited",
            ("invitation", inv.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let link = format!("{}/invite/{token}", self.monitoring.public_url);
        let emailed = self.mail_invitation(&inv, org, &link).await;
        Ok(Invited {
            email: inv.email,
            link,
            emailed,
        })
    }

    /// Sends the invitation from a background task when SMTP is set, so a slow relay never holds the
    /// request; a failure is logged and the inviter still has the link.
    async fn mail_invitation(&self, inv: &Invitation, org: &OrgId, link: &str) -> bool {
        if !self.monitoring.smtp.enabled() {
            return false;
        }
        let name = match self.store.org_by_id(org).await {
            Ok(o) => o.name,
            Err(_) => "an organisation".into(),
        };
        let smtp = self.monitoring.smtp.clone();
        let (to, id, date) = (inv.email.clone(), inv.id.to_string(), self.clock.now());
        let subject = format!("You are invited to {name} on statusgate");
        let body = format!(
            "You have been invited to join {name} as {}.\r\n\r\nAccept within {INVITATION_DAYS} days: {link}\r\n",
            inv.role.as_str()
        );
        tokio::spawn(async move {
            let mail = crate::outbound::smtp::Email {
                to: &to,
                subject: &subject,
                body: &body,
                message_id: &id,
                date,
            };
            if let Err(e) = crate::outbound::smtp::send(&smtp, &mail).await {
                tracing::warn!(error = %e, invitation = %id, "invitation email not sent");
            }
        });
        true
    }

    /// Withdraws a pending invitation; one of another organisation is not found.
    pub async fn revoke_invitation(
        &self,
        who: &Principal,
        org: &OrgId,
        id: &InvitationId,
    ) -> Result<()> {
        self.require(who, org, Permission::SettingsManage, "invitation")
            .await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .revoke_invitation(&mut tx, org, id, self.clock.now())
            .await?
        {
            return Err(ServiceError::NotFound("invitation"));
        }
        self.audit(
            &mut tx,
            who,
            org,
            "invitation.revoked",
            ("invitation", id.as_str()),
            json!({}),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Locks the org's memberships for a change to `user`, and checks the owner rules for moving
    /// them to `new` (`None`: removal). Answers their current role.
    async fn member_change(
        &self,
        tx: &mut Tx,
        who: &Principal,
        org: &OrgId,
        user: &UserId,
        new: Option<Role>,
    ) -> Result<Role> {
        self.store.lock_org(tx, org, self.clock.now()).await?;
        let mine = self.store.role_in_tx(tx, org, &who.user_id).await?;
        let theirs = self
            .store
            .role_in_tx(tx, org, user)
            .await?
            .ok_or(ServiceError::NotFound("member"))?;
        let owners = self.store.count_owners(tx, org).await?;
        check_owner_rules(mine, theirs, new, owners)?;
        Ok(theirs)
    }

    /// Changes a member's role; needs settings-manage, and only an owner may grant or remove ownership.
    /// The last owner cannot be demoted.
    pub async fn set_role(
        &self,
        who: &Principal,
        org: &OrgId,
        user: &UserId,
        role: Role,
    ) -> Result<()> {
        self.require(who, org, Permission::SettingsManage, "member")
            .await?;
        let mut tx = self.store.begin().await?;
        let theirs = self
            .member_change(&mut tx, who, org, user, Some(role))
            .await?;
        self.store
            .upsert_membership(&mut tx, org, user, role, self.clock.now())
            .await?;
        let detail = json!({ "from": theirs.as_str(), "to": role.as_str() });
        self.audit(
            &mut tx,
            who,
            org,
            "member.role_changed",
            ("user", user.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Removes a member: their role, keys and connector grants in `org` end together, so each of
    /// them is refused at its next request. The last owner cannot be removed.
    pub async fn remove_member(&self, who: &Principal, org: &OrgId, user: &UserId) -> Result<()> {
        self.require(who, org, Permission::SettingsManage, "member")
            .await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let theirs = self.member_change(&mut tx, who, org, user, None).await?;
        self.store
            .delete_membership(&mut tx, org, user, &who.user_id, now)
            .await?;
        let detail = json!({ "role": theirs.as_str() });
        self.audit(
            &mut tx,
            who,
            org,
            "member.removed",
            ("user", user.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The person's own live keys (REST and connector) in each organisation they belong to.
    pub async fn own_api_keys(
        &self,
        who: &Principal,
    ) -> Result<Vec<(Org, crate::domain::ApiKeyRow)>> {
        let mut all = Vec::new();
        for m in self.store.memberships_of(&who.user_id).await? {
            let keys = self
                .store
                .api_keys_of_org(&m.org.id, Some(&who.user_id))
                .await?;
            all.extend(keys.into_iter().map(|k| (m.org.clone(), k)));
        }
        Ok(all)
    }

    /// Changes the signed-in person's password (the current one required) and ends their other
    /// browser sessions; `keep` is the session that asked. Answers how many sessions ended.
    pub async fn change_password(
        &self,
        who: &Principal,
        current: &str,
        new: &str,
        keep: &str,
    ) -> Result<u64> {
        let me = self.user(&who.user_id).await?;
        let (_, stored) = self
            .store
            .user_credentials(&me.email)
            .await
            .or_not_found("user")?;
        // The current password is a secret like any other: a session left open must not become a way
        // to guess it, so attempts count as sign-in attempts do (per person, not per address).
        let attempt_key = format!("{}|account", me.email);
        self.count_password_attempt(&attempt_key).await?;
        if !verify_password(current.to_owned(), stored).await {
            return Err(DomainError::invalid("current", "is not your current password").into());
        }
        self.store.clear_login_attempts(&attempt_key).await?;
        check_password_shape(new).map_err(|e| match e {
            DomainError::Invalid { reason, .. } => DomainError::invalid("new", reason),
            other => other,
        })?;
        let hash = hash_password(new.to_owned()).await?;
        let now = self.clock.now();
        let orgs = self.store.memberships_of(&me.id).await?;
        let mut tx = self.store.begin().await?;
        self.store
            .set_password_hash(&mut tx, &me.id, &hash, now)
            .await?;
        let ended = self.store.end_other_sessions(&mut tx, &me.id, keep).await?;
        // A reset link sent before this change must not undo it.
        self.store.delete_resets_of(&mut tx, &me.id).await?;
        for m in &orgs {
            let detail = json!({ "sessions_ended": ended });
            self.audit(
                &mut tx,
                who,
                &m.org.id,
                "account.password_changed",
                ("user", me.id.as_str()),
                detail,
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_is_an_owners_to_change_and_the_last_owner_stays() {
        use Role::*;
        let refused = |r: Result<()>| r.is_err();
        assert!(refused(check_owner_rules(
            Some(Admin),
            Owner,
            Some(Admin),
            2
        )));
        assert!(refused(check_owner_rules(Some(Admin), Owner, None, 2)));
        assert!(refused(check_owner_rules(
            Some(Admin),
            Editor,
            Some(Owner),
            1
        )));
        assert!(refused(check_owner_rules(
            Some(Owner),
            Owner,
            Some(Admin),
            1
        )));
        assert!(refused(check_owner_rules(Some(Owner), Owner, None, 1)));
        assert!(check_owner_rules(Some(Owner), Owner, None, 2).is_ok());
        assert!(check_owner_rules(Some(Admin), Editor, Some(Viewer), 1).is_ok());
        assert!(check_owner_rules(Some(Owner), Editor, Some(Owner), 1).is_ok());
    }
}
