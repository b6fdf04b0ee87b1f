//! Authorization-server storage: clients, grants, settings and connections (codes and
//! refresh tokens are in `oauth_tokens`, signing keys in `signing_keys`). Secrets are
//! stored as hashes only; single-use and rotation are compare-and-set updates, so every instance and
//! both engines agree on who won a race without any in-process lock.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, StoreError, Tx};
use crate::clock::to_millis;
use crate::domain::connector::*;
use crate::domain::scope::ScopeSet;
use crate::ids::{ApiKeyId, GrantId, OrgId, UserId};

const CLIENT_COLS: &str = "client_id, kind, client_name, client_uri, logo_uri, redirect_uris, auth_method, secret_hash, created_at, owner_org_id, consented_at";

pub(super) fn json_list(r: &AnyRow, col: &str) -> Result<Vec<String>> {
    serde_json::from_str(&row::text(r, col)?)
        .map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub(super) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn client_from(r: &AnyRow) -> Result<Client> {
    Ok(Client {
        id: row::text(r, "client_id")?,
        kind: row::parsed(r, "kind", ClientKind::parse)?,
        name: row::text(r, "client_name")?,
        client_uri: row::opt_text(r, "client_uri")?,
        logo_uri: row::opt_text(r, "logo_uri")?,
        redirect_uris: json_list(r, "redirect_uris")?,
        auth_method: row::parsed(r, "auth_method", AuthMethod::parse)?,
        secret_hash: row::opt_text(r, "secret_hash")?,
        created_at: row::instant(r, "created_at")?,
        owner: row::opt_text(r, "owner_org_id")?.map(OrgId::from_db),
        approved: row::opt_instant(r, "consented_at")?.is_some(),
    })
}

/// A live grant as read, before the connector key's expiry is compared with the clock.
#[derive(Clone, Debug)]
pub struct LiveGrantRow {
    grant: LiveGrant,
    key_expires_at: Option<OffsetDateTime>,
}

/// The stored form of a client, with what the console needs to group identical registrations.
pub struct NewClient<'a> {
    pub client: &'a Client,
    pub fingerprint: &'a str,
    pub metadata: &'a str,
}

impl Store {
    /// Stores a client under a new id; an id already taken is `Conflict`. The read cache is left alone:
    /// no cached entry can mention an id that did not exist, so a new row makes nothing stale (and a
    /// registration does not make every instance wait, nor send `/mcp` back to the database).
    pub async fn insert_client(&self, new: &NewClient<'_>, now: OffsetDateTime) -> Result<()> {
        const SQL: &str = "insert into oauth_clients (client_id, kind, client_name, client_uri, logo_uri, redirect_uris, auth_method, secret_hash, fingerprint, metadata, owner_org_id, disabled, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12)";
        let c = new.client;
        sqlx::query(SQL)
            .bind(&c.id)
            .bind(c.kind.as_str())
            .bind(&c.name)
            .bind(c.client_uri.clone())
            .bind(c.logo_uri.clone())
            .bind(serde_json::to_string(&c.redirect_uris).unwrap_or_else(|_| "[]".into()))
            .bind(c.auth_method.as_str())
            .bind(c.secret_hash.clone())
            .bind(new.fingerprint)
            .bind(new.metadata)
            .bind(c.owner.as_ref().map(|o| o.as_str().to_owned()))
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a metadata-document client as its document reads now, inside the approval that makes it
    /// known: updates its row, or inserts it on first approval. A disabled row is left alone and is
    /// `Conflict`. The transaction's commit invalidates the read cache like any approval's does.
    pub async fn put_document_client(
        &self,
        tx: &mut Tx,
        new: &NewClient<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        const UPDATE: &str =
            "update oauth_clients set client_name = $2, client_uri = $3, logo_uri = $4,
            redirect_uris = $5, fingerprint = $6, metadata = $7, updated_at = $8
            where client_id = $1 and kind = 'cimd' and disabled = 0";
        const INSERT: &str = "insert into oauth_clients (client_id, kind, client_name, client_uri, logo_uri, redirect_uris, auth_method, secret_hash, fingerprint, metadata, owner_org_id, disabled, created_at, updated_at)
            values ($1, 'cimd', $2, $3, $4, $5, 'none', null, $6, $7, null, 0, $8, $8)";
        tx.touches_cached();
        let c = new.client;
        let uris = serde_json::to_string(&c.redirect_uris).unwrap_or_else(|_| "[]".into());
        for sql in [UPDATE, INSERT] {
            let stored = sqlx::query(sql)
                .bind(&c.id)
                .bind(&c.name)
                .bind(c.client_uri.clone())
                .bind(c.logo_uri.clone())
                .bind(&uris)
                .bind(new.fingerprint)
                .bind(new.metadata)
                .bind(to_millis(now))
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if stored > 0 {
                break;
            }
        }
        Ok(())
    }

    /// A live public self-registered client with exactly this metadata (fingerprint and logo) that an
    /// identical registration may be handed instead of a new row: one someone approved, or else one
    /// made since `fresh_since` (still far from being reaped). Approved ones first, then the oldest.
    pub async fn reusable_client(
        &self,
        fingerprint: &str,
        logo_uri: Option<&str>,
        fresh_since: OffsetDateTime,
    ) -> Result<Option<Client>> {
        let sql = format!(
            "select {CLIENT_COLS} from oauth_clients
            where fingerprint = $1 and kind = 'dcr' and auth_method = 'none' and disabled = 0
              and coalesce(logo_uri, '') = $2 and (consented_at is not null or created_at >= $3)
            order by case when consented_at is null then 1 else 0 end, created_at, client_id limit 1"
        );
        let r = sqlx::query(&sql)
            .bind(fingerprint)
            .bind(logo_uri.unwrap_or_default())
            .bind(to_millis(fresh_since))
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(client_from).transpose()
    }

    /// A client that is not disabled.
    pub async fn client(&self, id: &str) -> Result<Client> {
        let sql = format!(
            "select {CLIENT_COLS} from oauth_clients where client_id = $1 and disabled = 0"
        );
        let at = self.cache.generation();
        if let Some(c) = self.cache.clients.get(id, at) {
            return Ok(c);
        }
        let r = sqlx::query(&sql).bind(id).fetch_one(&self.pool).await?;
        let client = client_from(&r)?;
        self.cache
            .clients
            .put(id.to_owned(), client.clone(), at, &self.cache);
        Ok(client)
    }

    /// How many clients with this metadata fingerprint were registered since `since` and have not
    /// reached consent: a registration loop piles those up, a rollout's people approve theirs.
    pub async fn count_registrations(
        &self,
        fingerprint: &str,
        since: OffsetDateTime,
    ) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from oauth_clients where fingerprint = $1 and created_at >= $2 and consented_at is null",
        )
        .bind(fingerprint)
        .bind(to_millis(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    pub async fn mark_client_consented(
        &self,
        tx: &mut Tx,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("update oauth_clients set consented_at = coalesce(consented_at, $2), updated_at = $2 where client_id = $1")
            .bind(id)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes self-registered and metadata-document clients made before `before` that never reached
    /// consent and hold no grant. A document client comes back on its next use (it is re-read then).
    pub async fn reap_clients(&self, before: OffsetDateTime) -> Result<u64> {
        const SQL: &str = "delete from oauth_clients where kind in ('dcr', 'cimd') and consented_at is null and created_at < $1
            and not exists (select 1 from oauth_grants g where g.client_id = oauth_clients.client_id)";
        let done = sqlx::query(SQL)
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() > 0 {
            self.changed().await?;
        }
        Ok(done.rows_affected())
    }

    pub async fn insert_grant(&self, tx: &mut Tx, g: &Grant) -> Result<()> {
        const SQL: &str = "insert into oauth_grants (grant_id, org_id, user_id, client_id, scopes, tools, resource, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
        sqlx::query(SQL)
            .bind(g.id.as_str())
            .bind(g.org_id.as_str())
            .bind(g.user_id.as_str())
            .bind(&g.client_id)
            .bind(g.scopes.to_string())
            .bind(g.tools.join(" "))
            .bind(&g.resource)
            .bind(to_millis(g.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn grant(&self, id: &GrantId) -> Result<Grant> {
        const SQL: &str =
            "select grant_id, org_id, user_id, client_id, scopes, tools, resource, created_at
            from oauth_grants where grant_id = $1";
        let r = sqlx::query(SQL)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(Grant {
            id: GrantId::from_db(row::text(&r, "grant_id")?),
            org_id: OrgId::from_db(row::text(&r, "org_id")?),
            user_id: UserId::from_db(row::text(&r, "user_id")?),
            client_id: row::text(&r, "client_id")?,
            scopes: ScopeSet::parse_known(&row::text(&r, "scopes")?),
            tools: words(&row::text(&r, "tools")?),
            resource: row::text(&r, "resource")?,
            created_at: row::instant(&r, "created_at")?,
        })
    }

    /// Ends one grant and its connector key. Answers whether it was live.
    pub async fn revoke_grant(
        &self,
        tx: &mut Tx,
        id: &GrantId,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        tx.touches_cached();
        sqlx::query("update api_keys set revoked_at = $2, updated_at = $2 where grant_id = $1 and revoked_at is null")
            .bind(id.as_str())
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        let done = sqlx::query("update oauth_grants set revoked_at = $2, revoked_by = $3, updated_at = $2 where grant_id = $1 and revoked_at is null")
            .bind(id.as_str())
            .bind(to_millis(now))
            .bind(by)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Live grants whose client was registered with the same metadata as `client` (identical
    /// re-registrations count as one client), in one organisation and/or of one user.
    pub async fn live_grant_ids_like(
        &self,
        client: &str,
        org: Option<&OrgId>,
        user: Option<&UserId>,
    ) -> Result<Vec<GrantId>> {
        const SQL: &str = "select g.grant_id from oauth_grants g join oauth_clients c on c.client_id = g.client_id
            where c.fingerprint = (select fingerprint from oauth_clients where client_id = $1)
            and ($2 = '' or g.org_id = $2) and ($3 = '' or g.user_id = $3) and g.revoked_at is null";
        let rows = sqlx::query(SQL)
            .bind(client)
            .bind(org.map(|o| o.as_str().to_owned()).unwrap_or_default())
            .bind(user.map(|u| u.as_str().to_owned()).unwrap_or_default())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(GrantId::from_db(row::text(r, "grant_id")?)))
            .collect()
    }

    /// The grant behind an access token, if it, its connector key, its client, the user's membership and
    /// the organisation's Hosted MCP switch and client-kind policy are all still live. Asked on every
    /// call, on every instance;
    /// answered from the read cache until the next write (see `cache.rs`), the key's expiry checked here.
    pub async fn live_grant(&self, id: &GrantId, now: OffsetDateTime) -> Result<Option<LiveGrant>> {
        const SQL: &str = "select g.grant_id, g.org_id, g.user_id, g.client_id, c.client_name, g.scopes, g.tools, k.key_id, k.can_write, k.expires_at,
                coalesce(s.allow_write, 0) as org_write
            from oauth_grants g
            join api_keys k on k.grant_id = g.grant_id
            join oauth_clients c on c.client_id = g.client_id
            join memberships m on m.org_id = g.org_id and m.user_id = g.user_id
            left join hosted_mcp_settings s on s.org_id = g.org_id
            where g.grant_id = $1 and g.revoked_at is null and k.revoked_at is null and c.disabled = 0
              and coalesce(s.enabled, 1) = 1
              and not ((c.kind = 'dcr' or (c.kind = 'admin' and coalesce(c.owner_org_id, '') <> g.org_id))
                       and coalesce(s.allow_dynamic, 1) = 0)
              and not (c.kind = 'cimd' and coalesce(s.allow_documents, 1) = 0)";
        let at = self.cache.generation();
        let row = match self.cache.live_grants.get(id.as_str(), at) {
            Some(row) => row,
            None => {
                let r = sqlx::query(SQL)
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                let row = r
                    .map(|r| -> Result<LiveGrantRow> {
                        Ok(LiveGrantRow {
                            grant: LiveGrant {
                                grant_id: GrantId::from_db(row::text(&r, "grant_id")?),
                                org_id: OrgId::from_db(row::text(&r, "org_id")?),
                                user_id: UserId::from_db(row::text(&r, "user_id")?),
                                client_id: row::text(&r, "client_id")?,
                                client_name: row::text(&r, "client_name")?,
                                scopes: ScopeSet::parse_known(&row::text(&r, "scopes")?),
                                tools: words(&row::text(&r, "tools")?),
                                key_id: ApiKeyId::from_db(row::text(&r, "key_id")?),
                                can_write: row::flag(&r, "can_write")?,
                                org_allows_write: row::flag(&r, "org_write")?,
                            },
                            key_expires_at: row::opt_instant(&r, "expires_at")?,
                        })
                    })
                    .transpose()?;
                self.cache
                    .live_grants
                    .put(id.as_str().to_owned(), row.clone(), at, &self.cache);
                row
            }
        };
        Ok(row
            .filter(|r| r.key_expires_at.is_none_or(|t| t > now))
            .map(|r| r.grant))
    }
}
