//! API keys: ordinary keys for the REST API (kind `api`) and the connector key each OAuth grant gets
//! (kind `connector`), so one list shows every credential that acts for a user.

use time::OffsetDateTime;

use sqlx::any::AnyRow;

use super::{row, Result, Store, StoreError, Tx};
use crate::clock::to_millis;
use crate::domain::{ApiKeyRow, KeyKind};
use crate::ids::{ApiKeyId, GrantId, OrgId, PageId, UserId};

const KEY_COLUMNS: &str = "key_id, org_id, user_id, name, prefix, can_write, page_id, kind, grant_id, expires_at, last_used_at, revoked_at, created_at";

fn key_row(r: &AnyRow) -> Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        id: ApiKeyId::from_db(row::text(r, "key_id")?),
        org_id: OrgId::from_db(row::text(r, "org_id")?),
        user_id: UserId::from_db(row::text(r, "user_id")?),
        name: row::text(r, "name")?,
        prefix: row::text(r, "prefix")?,
        can_write: row::flag(r, "can_write")?,
        page_id: row::opt_text(r, "page_id")?.map(PageId::from_db),
        kind: row::parsed(r, "kind", KeyKind::parse)?,
        grant_id: row::opt_text(r, "grant_id")?.map(GrantId::from_db),
        expires_at: row::opt_instant(r, "expires_at")?,
        last_used_at: row::opt_instant(r, "last_used_at")?,
        revoked_at: row::opt_instant(r, "revoked_at")?,
        created_at: row::instant(r, "created_at")?,
    })
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
        tx.touches_cached();
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

    /// The key whose secret hashes to `hash`, revoked or not (the caller tells the cases apart).
    /// From the read cache when it has the key: every `/mcp` and `/api/v1` call with a key reads this,
    /// and revoking a key is a tracked write, so a revoked key is never served from memory.
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>> {
        let at = self.cache.generation();
        if let Some(row) = self.cache.api_keys.get(hash, at) {
            return Ok(Some(row));
        }
        let sql = format!("select {KEY_COLUMNS} from api_keys where secret_hash = $1");
        let r = sqlx::query(&sql)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        let row = r.as_ref().map(key_row).transpose()?;
        if let Some(row) = &row {
            self.cache
                .api_keys
                .put(hash.to_owned(), row.clone(), at, &self.cache);
        }
        Ok(row)
    }

    pub async fn api_key(&self, id: &ApiKeyId) -> Result<ApiKeyRow> {
        let sql = format!("select {KEY_COLUMNS} from api_keys where key_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        key_row(&r.ok_or(StoreError::NotFound)?)
    }

    /// Live keys of an organisation (both kinds), oldest first; `user` narrows to one person's keys.
    pub async fn api_keys_of_org(
        &self,
        org: &OrgId,
        user: Option<&UserId>,
    ) -> Result<Vec<ApiKeyRow>> {
        let sql = format!(
            "select {KEY_COLUMNS} from api_keys where org_id = $1 and revoked_at is null
             and ($2 = '' or user_id = $2) order by created_at, key_id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(user.map(|u| u.as_str().to_owned()).unwrap_or_default())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_row).collect()
    }

    /// Moves a key's last-used time forward (never back: instances flush in any order).
    pub async fn touch_api_key(&self, id: &str, last_used_ms: i64) -> Result<()> {
        sqlx::query(
            "update api_keys set last_used_at = $1 where key_id = $2 and (last_used_at is null or last_used_at < $1)",
        )
        .bind(last_used_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The organisation's longest-standing owner: whom a key made from the command line acts as
    /// when no user is named.
    pub async fn first_owner(&self, org: &OrgId) -> Result<UserId> {
        let id: Option<String> = sqlx::query_scalar(
            "select user_id from memberships where org_id = $1 and role = 'owner' order by created_at, user_id limit 1",
        )
        .bind(org.as_str())
        .fetch_optional(&self.pool)
        .await?;
        id.map(UserId::from_db).ok_or(StoreError::NotFound)
    }

    pub async fn user_id_by_email(&self, email: &str) -> Result<UserId> {
        let id: Option<String> = sqlx::query_scalar("select user_id from users where email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        id.map(UserId::from_db).ok_or(StoreError::NotFound)
    }
}
