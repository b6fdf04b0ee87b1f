//! What the connections console reads and changes: a person's own connections, an organisation's
//! connections and its Hosted MCP settings. Organisation views and changes need settings-manage there.

use serde_json::json;

use super::AuthServer;
use crate::domain::connector::{Connection, OrgSettings};
use crate::domain::Permission;
use crate::ids::OrgId;
use crate::service::{Principal, Result};

impl AuthServer {
    /// Usage counts on the console cover this many days.
    const USAGE_DAYS: i64 = 30;

    fn usage_since(&self) -> time::OffsetDateTime {
        self.services.clock.now() - time::Duration::days(Self::USAGE_DAYS)
    }

    /// The connections `who` made, in every organisation.
    pub async fn my_connections(&self, who: &Principal) -> Result<Vec<Connection>> {
        Ok(self
            .services
            .store
            .connections(None, Some(&who.user_id), self.usage_since())
            .await?)
    }

    /// Every connection in `org`, with its Hosted MCP settings.
    pub async fn org_connections(
        &self,
        who: &Principal,
        org: &OrgId,
    ) -> Result<(OrgSettings, Vec<Connection>)> {
        let settings = self.org_settings(who, org).await?;
        let rows = self
            .services
            .store
            .connections(Some(org), None, self.usage_since())
            .await?;
        Ok((settings, rows))
    }

    /// `org`'s Hosted MCP settings.
    pub async fn org_settings(&self, who: &Principal, org: &OrgId) -> Result<OrgSettings> {
        self.services
            .require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        Ok(self.services.store.org_settings(org).await?)
    }

    /// Replaces `org`'s Hosted MCP settings, with an audit row carrying the new ones.
    pub async fn save_org_settings(
        &self,
        who: &Principal,
        org: &OrgId,
        settings: &OrgSettings,
    ) -> Result<()> {
        let s = &self.services;
        s.require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        let mut tx = s.store.begin().await?;
        let now = s.clock.now();
        s.store
            .put_org_settings(&mut tx, org, settings, now)
            .await?;
        let target = ("org", org.as_str());
        s.audit(
            &mut tx,
            who,
            org,
            "hosted_mcp.settings_changed",
            target,
            json!(settings),
        )
        .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }
}
