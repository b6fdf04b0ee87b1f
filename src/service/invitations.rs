//! Following an invitation link: what it leads to, and accepting it, by creating an account or as
//! someone already signed in. Each link is used once; the membership and the audit row are written
//! with it.

use serde_json::json;

use super::accounts::{check_password_shape, hash_password};
use super::members::{may_grant, InvitationLookup, OpenInvitation};
use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::{Invitation, User};
use crate::ids::{sha256_hex, OrgId, UserId};
use crate::store::{StoreError, Tx};

impl Services {
    /// What the invitation link `token` leads to; an unknown token is not found.
    pub async fn invitation(&self, token: &str) -> Result<InvitationLookup> {
        let Some(inv) = self.lookup_invitation(token).await? else {
            return Err(ServiceError::NotFound("invitation"));
        };
        if inv.accepted_at.is_some() {
            return Ok(InvitationLookup::Used);
        }
        if inv.revoked_at.is_some() || inv.expires_at <= self.clock.now() {
            return Ok(InvitationLookup::Expired);
        }
        // A sender since removed or demoted no longer vouches for the link.
        let sender = self.store.role_of(&inv.org_id, &inv.invited_by).await?;
        if !may_grant(sender, inv.role) {
            return Ok(InvitationLookup::Expired);
        }
        let org = self
            .store
            .org_by_id(&inv.org_id)
            .await
            .or_not_found("invitation")?;
        let account_exists = self.store.user_id_by_email(&inv.email).await.is_ok();
        Ok(InvitationLookup::Open(Box::new(OpenInvitation {
            invitation: inv,
            org,
            account_exists,
        })))
    }

    async fn lookup_invitation(&self, token: &str) -> Result<Option<Invitation>> {
        // Only the shape we hand out reaches the database.
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        Ok(self.store.invitation_by_hash(&sha256_hex(token)).await?)
    }

    async fn open_invitation(&self, token: &str) -> Result<OpenInvitation> {
        match self.invitation(token).await? {
            InvitationLookup::Open(o) => Ok(*o),
            _ => Err(ServiceError::Conflict(
                "this invitation has expired or was already used".into(),
            )),
        }
    }

    /// Accepts an invitation for an email with no account yet: the account is made with `password`
    /// and joins the organisation with the invited role.
    pub async fn accept_as_new(&self, token: &str, password: &str) -> Result<User> {
        let open = self.open_invitation(token).await?;
        if open.account_exists {
            return Err(ServiceError::Conflict(
                "an account with this email exists; sign in to accept".into(),
            ));
        }
        check_password_shape(password)?;
        let hash = hash_password(password.to_owned()).await?;
        let inv = open.invitation;
        let user = User {
            id: UserId::generate(),
            email: inv.email.clone(),
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.use_invitation(&mut tx, &inv).await?;
        match self.store.insert_user(&mut tx, &user, &hash, now).await {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(
                    "an account with this email exists; sign in to accept".into(),
                ))
            }
            other => other?,
        }
        self.join(&mut tx, &inv, &user.id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(user)
    }

    /// Accepts an invitation as the signed-in person, who must be the one invited.
    pub async fn accept_as_member(&self, who: &Principal, token: &str) -> Result<OrgId> {
        let inv = self.open_invitation(token).await?.invitation;
        let me = self.user(&who.user_id).await?;
        if me.email != inv.email {
            return Err(ServiceError::Forbidden(format!(
                "this invitation is for {}; sign in as that person to accept it",
                inv.email
            )));
        }
        if self.store.role_of(&inv.org_id, &me.id).await?.is_some() {
            return Err(ServiceError::Conflict(
                "you are already a member of this organisation".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        self.use_invitation(&mut tx, &inv).await?;
        self.join(&mut tx, &inv, &me.id).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(inv.org_id)
    }

    /// Marks the invitation used, in the transaction that adds the member, once more checking its
    /// sender: under the organisation's lock a removal or demotion cannot slip in between.
    async fn use_invitation(&self, tx: &mut Tx, inv: &Invitation) -> Result<()> {
        let now = self.clock.now();
        self.store.lock_org(tx, &inv.org_id, now).await?;
        let sender = self
            .store
            .role_in_tx(tx, &inv.org_id, &inv.invited_by)
            .await?;
        if !may_grant(sender, inv.role) {
            return Err(ServiceError::Conflict(
                "this invitation has expired or was already used".into(),
            ));
        }
        if self.store.use_invitation(tx, &inv.id, now).await? {
            Ok(())
        } else {
            Err(ServiceError::Conflict(
                "this invitation has expired or was already used".into(),
            ))
        }
    }

    async fn join(&self, tx: &mut Tx, inv: &Invitation, user: &UserId) -> Result<()> {
        self.store
            .upsert_membership(tx, &inv.org_id, user, inv.role, self.clock.now())
            .await?;
        let detail = json!({ "invitation": inv.id.as_str(), "role": inv.role.as_str() });
        let as_them = Principal::user(user.clone());
        self.audit(
            tx,
            &as_them,
            &inv.org_id,
            "member.joined",
            ("user", user.as_str()),
            detail,
        )
        .await
    }
}
