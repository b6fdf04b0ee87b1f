//! An organisation's Hosted MCP settings and what the connections console lists: every live grant
//! with its client, person, scopes and recent use.

use sqlx::Row;
use time::OffsetDateTime;

use super::oauth::{json_list, words};
use super::{row, Result, Store, StoreError, Tx};
use crate::clock::to_millis;
use crate::domain::connector::*;
use crate::domain::scope::ScopeSet;
use crate::ids::{GrantId, OrgId, UserId};

impl Store {
    /// An organisation's Hosted MCP settings (defaults when it never saved any). Read on every `/mcp` call
    /// made with an API key, so answered from the read cache until the next write.
    pub async fn org_settings(&self, org: &OrgId) -> Result<OrgSettings> {
        let at = self.cache.generation();
        if let Some(s) = self.cache.org_settings.get(org.as_str(), at) {
            return Ok(s);
        }
        let s = self.read_org_settings(org).await?;
        self.cache
            .org_settings
            .put(org.as_str().to_owned(), s.clone(), at, &self.cache);
        Ok(s)
    }

    async fn read_org_settings(&self, org: &OrgId) -> Result<OrgSettings> {
        const SQL: &str =
            "select enabled, allow_write, allow_dynamic, allow_documents, private_use_redirects
            from hosted_mcp_settings where org_id = $1";
        let r = sqlx::query(SQL)
            .bind(org.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else {
            return Ok(OrgSettings::default());
        };
        let private_use_redirects = match row::opt_text(&r, "private_use_redirects")? {
            Some(list) => Some(
                serde_json::from_str(&list)
                    .map_err(|e| StoreError::Corrupt(format!("private_use_redirects: {e}")))?,
            ),
            None => None,
        };
        Ok(OrgSettings {
            enabled: row::flag(&r, "enabled")?,
            allow_write: row::flag(&r, "allow_write")?,
            allow_dynamic: row::flag(&r, "allow_dynamic")?,
            allow_documents: row::flag(&r, "allow_documents")?,
            private_use_redirects,
        })
    }

    pub async fn put_org_settings(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        s: &OrgSettings,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into hosted_mcp_settings (org_id, enabled, allow_write, allow_dynamic, allow_documents, private_use_redirects, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $7)
            on conflict (org_id) do update set enabled = $2, allow_write = $3, allow_dynamic = $4, allow_documents = $5,
                private_use_redirects = $6, updated_at = $7";
        let list = s
            .private_use_redirects
            .as_ref()
            .map(|l| serde_json::Value::from(l.clone()).to_string());
        sqlx::query(SQL)
            .bind(org.as_str())
            .bind(i64::from(s.enabled))
            .bind(i64::from(s.allow_write))
            .bind(i64::from(s.allow_dynamic))
            .bind(i64::from(s.allow_documents))
            .bind(list)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Live connections of an organisation, or of one user when `user` is given, with their calls
    /// since `calls_since` (whole UTC days).
    pub async fn connections(
        &self,
        org: Option<&OrgId>,
        user: Option<&UserId>,
        calls_since: OffsetDateTime,
    ) -> Result<Vec<Connection>> {
        // An admin-registered client counts as self-registered outside the organisation that owns it.
        const SQL: &str = "select g.grant_id, g.client_id, c.client_name,
            case when c.kind = 'admin' and coalesce(c.owner_org_id, '') <> g.org_id then 'dcr' else c.kind end as kind, c.redirect_uris, c.fingerprint, u.email, g.scopes, g.tools, g.created_at, g.last_used_at,
            (select cast(coalesce(sum(n.calls), 0) as bigint) from grant_usage n where n.grant_id = g.grant_id and n.day >= $3) as calls_30d
            from oauth_grants g join oauth_clients c on c.client_id = g.client_id join users u on u.user_id = g.user_id
            where g.revoked_at is null and ($1 = '' or g.org_id = $1) and ($2 = '' or g.user_id = $2)
            order by g.created_at desc";
        let since = crate::clock::to_millis(calls_since);
        let rows = sqlx::query(SQL)
            .bind(org.map(|o| o.as_str().to_owned()).unwrap_or_default())
            .bind(user.map(|u| u.as_str().to_owned()).unwrap_or_default())
            .bind(since - since.rem_euclid(super::usage::DAY_MS))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Connection {
                    grant_id: GrantId::from_db(row::text(r, "grant_id")?),
                    client_id: row::text(r, "client_id")?,
                    client_name: row::text(r, "client_name")?,
                    client_kind: row::parsed(r, "kind", ClientKind::parse)?,
                    redirect_uris: json_list(r, "redirect_uris")?,
                    fingerprint: row::text(r, "fingerprint")?,
                    user_email: row::text(r, "email")?,
                    scopes: ScopeSet::parse_known(&row::text(r, "scopes")?),
                    tools: words(&row::text(r, "tools")?),
                    created_at: row::instant(r, "created_at")?,
                    last_used_at: row::opt_instant(r, "last_used_at")?,
                    calls_30d: row::int(r, "calls_30d")?,
                })
            })
            .collect()
    }

    /// Which organisation a grant belongs to and whose it is (for permission checks on revoke).
    pub async fn grant_owner(&self, id: &GrantId) -> Result<(OrgId, UserId)> {
        let r = sqlx::query("select org_id, user_id from oauth_grants where grant_id = $1")
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok((
            OrgId::from_db(r.try_get("org_id")?),
            UserId::from_db(r.try_get("user_id")?),
        ))
    }
}
