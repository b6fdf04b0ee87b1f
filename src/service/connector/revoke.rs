//! RFC 7009 revocation, and the revocations people do from the console. Revoking any token ends its
//! grant: the refresh chain, every access token (checked live on each call) and the connector key.

use crate::telemetry::metrics::{self, OAuthEvent};
use serde_json::json;

use super::token::ClientCredentials;
use super::{hash_secret, AuthServer, OAuthError, Result};
use crate::domain::Permission;
use crate::ids::GrantId;
use crate::service::{Principal, ServiceError};
use crate::store::StoreError;

impl AuthServer {
    /// Revokes `token` for the authenticated client. Unknown tokens are a success (RFC 7009 §2.2); a
    /// token of another client is refused and stays valid.
    pub async fn revoke_token(&self, req: &ClientCredentials, token: Option<&str>) -> Result<()> {
        let client = self.authenticate_client(req).await?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest("token is missing".into()))?;
        let store = &self.services.store;
        // The hint is only a hint: look the token up as both kinds.
        let grant = match store.refresh_token(None, &hash_secret(token)).await {
            Ok(row) => Some((row.grant_id, row.client_id)),
            Err(StoreError::NotFound) => match self.decode_access(token).await {
                Ok(c) => GrantId::parse(&c.grant).map(|g| (g, c.client_id.clone())),
                Err(_) => None,
            },
            Err(e) => return Err(e.into()),
        };
        let Some((grant, owner)) = grant else {
            return Ok(());
        };
        if owner != client.id {
            return Err(OAuthError::UnauthorizedClient(
                "the token belongs to another client".into(),
            ));
        }
        let mut tx = store.begin().await?;
        let ended = self.end_grant(&mut tx, &grant, "client").await?;
        tx.commit().await.map_err(StoreError::from)?;
        if ended {
            metrics::oauth(OAuthEvent::Revocation);
        }
        Ok(())
    }

    /// Revokes one connection from the console: its owner may, and so may an org admin.
    pub async fn revoke_connection(
        &self,
        who: &Principal,
        grant: &GrantId,
    ) -> Result<(), ServiceError> {
        let (org, owner) = self
            .services
            .store
            .grant_owner(grant)
            .await
            .map_err(|e| not_found(e, "connection"))?;
        if owner != who.user_id {
            self.services
                .require(who, &org, Permission::SettingsManage, "connection")
                .await?;
        }
        self.revoke_grants(who, &org, std::slice::from_ref(grant))
            .await
    }

    /// Revokes every connection of one client in `org` (the console's "revoke all").
    pub async fn revoke_client(
        &self,
        who: &Principal,
        org: &crate::ids::OrgId,
        client: &str,
    ) -> Result<(), ServiceError> {
        self.services
            .require(who, org, Permission::SettingsManage, "client")
            .await?;
        // Identical re-registrations are one client to the people who manage them.
        let ids = self
            .services
            .store
            .live_grant_ids_like(client, Some(org), None)
            .await?;
        self.revoke_grants(who, org, &ids).await
    }

    async fn revoke_grants(
        &self,
        who: &Principal,
        org: &crate::ids::OrgId,
        grants: &[GrantId],
    ) -> Result<(), ServiceError> {
        let store = &self.services.store;
        let now = self.services.clock.now();
        let mut tx = store.begin().await?;
        let mut ended = 0;
        for g in grants {
            if store
                .revoke_grant(&mut tx, g, who.user_id.as_str(), now)
                .await?
            {
                ended += 1;
                self.services
                    .audit(
                        &mut tx,
                        who,
                        org,
                        "oauth.grant_revoked",
                        ("oauth_grant", g.as_str()),
                        json!({ "by": who.user_id }),
                    )
                    .await?;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        for _ in 0..ended {
            metrics::oauth(OAuthEvent::Revocation);
        }
        Ok(())
    }
}

fn not_found(e: StoreError, what: &'static str) -> ServiceError {
    match e {
        StoreError::NotFound => ServiceError::NotFound(what),
        other => ServiceError::Internal(other),
    }
}
