//! Organisations a person belongs to: renaming one is for its owners only.

use serde_json::json;

use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::{Name, Org, Permission, Role};
use crate::ids::OrgId;
use crate::store::StoreError;

impl Services {
    /// Renames `org`. Only an owner may: admins manage settings but the name is the owners' call.
    #[tracing::instrument(skip(self), fields(org = %org))]
    pub async fn rename_org(&self, who: &Principal, org: &OrgId, name: &str) -> Result<Org> {
        self.require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        if self.store.role_of(org, &who.user_id).await? != Some(Role::Owner) {
            return Err(ServiceError::Forbidden(
                "only an owner can rename the organisation".into(),
            ));
        }
        let name = Name::parse("name", name)?.into_inner();
        let before = self
            .store
            .org_by_id(org)
            .await
            .or_not_found("organisation")?;
        let mut tx = self.store.begin().await?;
        self.store
            .rename_org(&mut tx, org, &name, self.clock.now())
            .await
            .or_not_found("organisation")?;
        let detail = json!({ "name": name, "previous_name": before.name });
        self.audit(
            &mut tx,
            who,
            org,
            "org.renamed",
            ("org", org.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Org { name, ..before })
    }

    /// Creates an organisation from the Organisations page; the person creating it becomes its owner,
    /// in the same transaction, so it is never left without one.
    #[tracing::instrument(skip(self))]
    pub async fn create_org_as(&self, who: &Principal, slug: &str, name: &str) -> Result<Org> {
        if who.actor != super::principal::Actor::User {
            return Err(ServiceError::Forbidden(
                "organisations are created by people signed in, not by keys or connections".into(),
            ));
        }
        let org = Self::new_org("slug", slug, name)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.insert_new_org(&mut tx, &org).await?;
        self.store
            .upsert_membership(&mut tx, &org.id, &who.user_id, Role::Owner, now)
            .await?;
        let detail = json!({ "name": org.name, "slug": org.slug });
        self.audit(
            &mut tx,
            who,
            &org.id,
            "org.created",
            ("org", org.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(org)
    }
}
