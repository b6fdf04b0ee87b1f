//! Reading the audit log. It is for the organisation's admins: the role must allow settings, and a
//! key must reach the whole organisation (a page-scoped key does not).

use super::{Actor, Principal, Result, ServiceError, Services};
use crate::domain::AuditFilter;
use crate::domain::{ActorType, AuditEntry, Permission};
use crate::ids::OrgId;

/// The furthest a listing may page into the log.
pub const MAX_OFFSET: i64 = 10_000;

impl Services {
    /// Entries newest first, after skipping `offset`; `limit + 1` are read so the caller can tell
    /// whether more follow.
    pub async fn audit_log(
        &self,
        who: &Principal,
        org: &OrgId,
        actor_type: Option<ActorType>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let filter = AuditFilter {
            actor_type,
            ..AuditFilter::default()
        };
        self.audit_search(who, org, &filter, offset, limit).await
    }

    /// [`Services::audit_log`] narrowed to one actor type and a time range.
    pub async fn audit_search(
        &self,
        who: &Principal,
        org: &OrgId,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        // Reading the log changes nothing, so a read-only key of an admin may read it.
        let as_person = Principal::user(who.user_id.clone());
        if !who.actor.reaches_org(org) {
            return Err(ServiceError::NotFound("organisation"));
        }
        if matches!(&who.actor, Actor::ApiKey { page: Some(_), .. }) {
            return Err(ServiceError::Forbidden(
                "a key limited to one page cannot read the audit log".into(),
            ));
        }
        self.require(&as_person, org, Permission::SettingsManage, "organisation")
            .await?;
        let offset = offset.clamp(0, MAX_OFFSET);
        Ok(self
            .store
            .audit_search(org, filter, offset, limit + 1)
            .await?)
    }
}
