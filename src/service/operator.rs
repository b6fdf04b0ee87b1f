//! What the command line and the server's own plumbing ask of the data: the operator who runs
//! `statusgate` owns the deployment, so these lookups act for an organisation's owner rather than
//! for a signed-in person; and the liveness and readiness answers for load balancers.

use crate::domain::connector::OrgSettings;
use crate::ids::{OrgId, PageId, UserId};

use super::{NotFoundAs, Result, Services};

impl Services {
    /// The owner an operator's command acts as in `org`: the longest-standing owner.
    pub async fn org_owner(&self, org: &OrgId) -> Result<UserId> {
        self.store.first_owner(org).await.or_not_found("owner")
    }

    /// The account with this email, for an operator's command that names a person.
    pub async fn user_by_email(&self, email: &str) -> Result<crate::domain::User> {
        Ok(self
            .store
            .user_credentials(email)
            .await
            .or_not_found("user")?
            .0)
    }

    /// A member of `org` named by email, for a command that acts as that person.
    pub async fn member_by_email(&self, org: &OrgId, email: &str) -> Result<UserId> {
        let user = self.user_by_email(email).await?.id;
        match self.store.role_of(org, &user).await? {
            Some(_) => Ok(user),
            None => Err(super::ServiceError::NotFound("member")),
        }
    }

    /// Everyone in `org`, owners first, for the operator's `user list`.
    pub async fn org_members(&self, org: &OrgId) -> Result<Vec<crate::domain::Member>> {
        Ok(self.store.members(org).await?)
    }

    /// The page of `org` with this (admin) slug.
    pub async fn page_id_by_slug(&self, org: &OrgId, slug: &str) -> Result<PageId> {
        Ok(self
            .store
            .page_by_slug(org, slug)
            .await
            .or_not_found("page")?
            .id)
    }

    /// Whether a key of `org` may reach Hosted MCP at all, and with writes: its settings as they are now.
    pub async fn hosted_mcp_settings(&self, org: &OrgId) -> Result<OrgSettings> {
        Ok(self.store.org_settings(org).await?)
    }

    /// Notifications queued for one update (`0` when it was posted with `notify: false`).
    pub async fn notifications_queued_for(&self, update_id: &str) -> Result<i64> {
        Ok(self.store.count_notifications_for(update_id).await?)
    }

    /// Whether the database answers: the liveness probe's one read.
    pub async fn database_answers(&self) -> bool {
        self.store.ping().await
    }

    /// `sqlite` or `postgres`.
    pub fn database_engine(&self) -> &'static str {
        self.store.backend().as_str()
    }

    /// Whether the database has every migration this build knows and none it does not.
    pub async fn schema_current(&self) -> Result<bool> {
        Ok(self.store.schema_current().await?)
    }

    /// Closes the pool once requests have drained (after the last flush).
    pub async fn close(&self) {
        self.store.close().await;
    }
}
