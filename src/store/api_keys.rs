//! API keys: ordinary keys for the REST API (kind `api`) and the connector key each OAuth grant gets
//! (kind `connector`), so one list shows every credential that acts for a user.

use time::OffsetDateTime;

use super::{Result, Store, Tx};
use crate::clock::to_millis;
use crate::ids::{ApiKeyId, GrantId, OrgId, PageId, UserId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Api,
    Connector,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Connector => "connector",
        }
    }
}

pub struct NewApiKey<'a> {
    pub id: &'a ApiKeyId,
    pub org_id: &'a OrgId,
    pub user_id: &'a UserId,
    pub name: &'a str,
    /// The first characters of the secret, shown so people can tell keys apart.
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub can_write: bool,
    pub page_id: Option<&'a PageId>,
    pub kind: KeyKind,
    pub grant_id: Option<&'a GrantId>,
    pub expires_at: Option<OffsetDateTime>,
}

impl Store {
    pub async fn insert_api_key(
        &self,
        tx: &mut Tx,
        k: &NewApiKey<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into api_keys (key_id, org_id, user_id, name, prefix, secret_hash, can_write, page_id, kind, grant_id, expires_at, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";
        sqlx::query(SQL)
            .bind(k.id.as_str())
            .bind(k.org_id.as_str())
            .bind(k.user_id.as_str())
            .bind(k.name)
            .bind(k.prefix)
            .bind(k.secret_hash)
            .bind(i64::from(k.can_write))
            .bind(k.page_id.map(|p| p.as_str().to_owned()))
            .bind(k.kind.as_str())
            .bind(k.grant_id.map(|g| g.as_str().to_owned()))
            .bind(k.expires_at.map(to_millis))
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Revokes a key; answers the grant it carried, if it was a connector key, so the caller ends it too.
    pub async fn revoke_api_key(
        &self,
        tx: &mut Tx,
        id: &ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<Option<GrantId>> {
        sqlx::query("update api_keys set revoked_at = $2, updated_at = $2 where key_id = $1 and revoked_at is null")
            .bind(id.as_str())
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        let grant: Option<Option<String>> =
            sqlx::query_scalar("select grant_id from api_keys where key_id = $1")
                .bind(id.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        Ok(grant.flatten().map(GrantId::from_db))
    }

    /// Connector keys of a user's org, named "MCP — {client}": what the API-keys page lists.
    pub async fn key_names(&self, org: &OrgId) -> Result<Vec<(ApiKeyId, String, bool)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "select key_id, name, can_write from api_keys where org_id = $1 and revoked_at is null order by created_at",
        )
        .bind(org.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(k, n, w)| (ApiKeyId::from_db(k), n, w != 0))
            .collect())
    }
}
