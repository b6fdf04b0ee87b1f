//! API keys: made by a signed-in person (web page or CLI), shown once, stored as a SHA-256 hash. A key
//! acts as the person who made it, inside one organisation (and optionally one page), read-only or
//! read & write, and never beyond that person's current role: the role is read afresh on every use.

use serde_json::json;
use time::Duration;

use super::{Actor, NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::{ApiKeyRow, KeyKind};
use crate::domain::{DomainError, Name, Permission};
use crate::ids::{ApiKeyId, OrgId, PageId};
use crate::store::api_keys::NewApiKey;
use crate::store::StoreError;

/// Every API key starts with this, so `/mcp` can tell keys from OAuth access tokens.
pub const KEY_PREFIX: &str = "sg_";
/// Characters of the secret kept in clear so people can tell keys apart.
const VISIBLE: usize = 10;
/// Longest expiry a key can be given, in days.
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// What a new key may do.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub name: String,
    pub write: bool,
    pub page: Option<PageId>,
    pub expires_in_days: Option<u32>,
}

/// Why a presented key was not accepted. Each is a 401; the wording helps the person fix it.
#[derive(Debug, thiserror::Error)]
pub enum KeyRefusal {
    #[error("unknown API key")]
    Unknown,
    #[error("this API key was revoked")]
    Revoked,
    #[error("this API key has expired")]
    Expired,
    #[error("the key check is unavailable; retry")]
    Unavailable,
}

fn hash(secret: &str) -> String {
    crate::ids::sha256_hex(secret)
}

fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

impl Services {
    /// Makes a key for `who` (a person, not another key) in `org`. Returns the row and the secret,
    /// which is never readable again.
    #[tracing::instrument(skip(self, new), fields(org = %org))]
    pub async fn create_api_key(
        &self,
        who: &Principal,
        org: &OrgId,
        new: NewKey,
    ) -> Result<(ApiKeyRow, String)> {
        if who.actor != Actor::User {
            return Err(ServiceError::Forbidden(
                "keys are made by a signed-in person".into(),
            ));
        }
        let what = if new.write {
            Permission::IncidentManage
        } else {
            Permission::PageRead
        };
        self.require(who, org, what, "organisation").await?;
        let name = Name::parse("name", &new.name)?.into_inner();
        if let Some(page) = &new.page {
            let p = self.store.page(page).await.or_not_found("page")?;
            if &p.org_id != org {
                return Err(ServiceError::NotFound("page"));
            }
        }
        let expires_at = match new.expires_in_days {
            None => None,
            Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => {
                Some(self.clock.now() + Duration::days(i64::from(d)))
            }
            Some(_) => {
                return Err(DomainError::invalid(
                    "expires_in_days",
                    format!("must be between 1 and {MAX_EXPIRY_DAYS}"),
                )
                .into())
            }
        };
        let secret = new_secret();
        let id = ApiKeyId::generate();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.store
            .insert_api_key(
                &mut tx,
                &NewApiKey {
                    id: &id,
                    org_id: org,
                    user_id: &who.user_id,
                    name: &name,
                    prefix: &secret[..VISIBLE],
                    secret_hash: &hash(&secret),
                    can_write: new.write,
                    page_id: new.page.as_ref(),
                    kind: KeyKind::Api,
                    grant_id: None,
                    expires_at,
                },
                now,
            )
            .await?;
        let detail = json!({ "name": name, "write": new.write, "page": new.page });
        self.audit(
            &mut tx,
            who,
            org,
            "api_key.created",
            ("api_key", id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((self.store.api_key(&id).await?, secret))
    }

    /// Checks a presented key and answers the principal it acts as, noting the use (batched). The
    /// lookup is by hash, so comparing secrets never depends on how much of them matched.
    pub async fn verify_api_key(
        &self,
        secret: &str,
    ) -> std::result::Result<(Principal, ApiKeyRow), KeyRefusal> {
        if !secret.starts_with(KEY_PREFIX) || secret.len() > 128 {
            return Err(KeyRefusal::Unknown);
        }
        let row = match self.store.api_key_by_hash(&hash(secret)).await {
            Ok(Some(r)) if r.kind == KeyKind::Api => r,
            Ok(_) => return Err(KeyRefusal::Unknown),
            Err(e) => {
                tracing::warn!(error = %e, "api key lookup failed");
                return Err(KeyRefusal::Unavailable);
            }
        };
        let now = self.clock.now();
        if row.revoked_at.is_some() {
            return Err(KeyRefusal::Revoked);
        }
        if row.expires_at.is_some_and(|e| e <= now) {
            return Err(KeyRefusal::Expired);
        }
        self.usage
            .record_key(row.id.as_str(), crate::clock::to_millis(now));
        let principal = Principal {
            user_id: row.user_id.clone(),
            actor: Actor::ApiKey {
                key_id: row.id.to_string(),
                write: row.can_write,
                org: row.org_id.clone(),
                page: row.page_id.clone(),
                tool: None,
                confirmation: None,
            },
        };
        Ok((principal, row))
    }

    /// An organisation the principal belongs to (and, for a key, the key's own).
    pub async fn org_for(&self, who: &Principal, org: &OrgId) -> Result<crate::domain::Org> {
        self.require(who, org, Permission::PageRead, "organisation")
            .await?;
        self.store.org_by_id(org).await.or_not_found("organisation")
    }

    /// Live keys of `org`: admins see everyone's, others their own. Connector keys are included.
    pub async fn api_keys(&self, who: &Principal, org: &OrgId) -> Result<Vec<ApiKeyRow>> {
        self.require(who, org, Permission::PageRead, "organisation")
            .await?;
        let all = self.can(who, org, Permission::SettingsManage).await?;
        let user = (!all).then_some(&who.user_id);
        Ok(self.store.api_keys_of_org(org, user).await?)
    }

    /// Revokes a key: its owner may, and so may an org admin. A connector key's grant ends with it.
    #[tracing::instrument(skip(self), fields(key = %id))]
    pub async fn revoke_api_key(&self, who: &Principal, id: &ApiKeyId) -> Result<()> {
        let key = self.store.api_key(id).await.or_not_found("key")?;
        self.require(who, &key.org_id, Permission::PageRead, "key")
            .await?;
        if key.user_id != who.user_id {
            self.require(who, &key.org_id, Permission::SettingsManage, "key")
                .await?;
        }
        if key.revoked_at.is_some() {
            return Err(ServiceError::Conflict("this key is already revoked".into()));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if let Some(grant) = self.store.revoke_api_key(&mut tx, id, now).await? {
            self.store
                .revoke_grant(&mut tx, &grant, who.user_id.as_str(), now)
                .await?;
        }
        self.audit(
            &mut tx,
            who,
            &key.org_id,
            "api_key.revoked",
            ("api_key", id.as_str()),
            json!({ "kind": key.kind.as_str() }),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}
