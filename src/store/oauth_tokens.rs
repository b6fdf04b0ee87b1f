//! Authorization codes and refresh tokens, stored as hashes. Single use and rotation are
//! compare-and-set updates, so every instance and both engines agree on who won a race.

use time::OffsetDateTime;

use super::{row, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::connector::{CodeRow, RefreshRow};
use crate::domain::scope::ScopeSet;
use crate::ids::GrantId;

impl Store {
    pub async fn insert_code(
        &self,
        tx: &mut Tx,
        hash: &str,
        c: &CodeRow,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into oauth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, null, $7, $7)";
        sqlx::query(SQL)
            .bind(hash)
            .bind(c.grant_id.as_str())
            .bind(&c.client_id)
            .bind(&c.redirect_uri)
            .bind(&c.code_challenge)
            .bind(to_millis(c.expires_at))
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Marks a code used: `true` for the first use only, so exactly one exchange can win.
    pub async fn use_code(&self, tx: &mut Tx, hash: &str, now: OffsetDateTime) -> Result<bool> {
        const SQL: &str = "update oauth_codes set used_at = $2, updated_at = $2 where code_hash = $1 and used_at is null";
        let done = sqlx::query(SQL)
            .bind(hash)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn code(&self, hash: &str) -> Result<CodeRow> {
        const SQL: &str = "select grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at from oauth_codes where code_hash = $1";
        let r = sqlx::query(SQL).bind(hash).fetch_one(&self.pool).await?;
        Ok(CodeRow {
            grant_id: GrantId::from_db(row::text(&r, "grant_id")?),
            client_id: row::text(&r, "client_id")?,
            redirect_uri: row::text(&r, "redirect_uri")?,
            code_challenge: row::text(&r, "code_challenge")?,
            expires_at: row::instant(&r, "expires_at")?,
            used_at: row::opt_instant(&r, "used_at")?,
        })
    }

    pub async fn insert_refresh(
        &self,
        tx: &mut Tx,
        hash: &str,
        r: &RefreshRow,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into oauth_refresh_tokens (token_hash, grant_id, client_id, scopes, expires_at, superseded_at, successor_hash, created_at, updated_at)
            values ($1, $2, $3, $4, $5, null, null, $6, $6)";
        sqlx::query(SQL)
            .bind(hash)
            .bind(r.grant_id.as_str())
            .bind(&r.client_id)
            .bind(r.scopes.to_string())
            .bind(to_millis(r.expires_at))
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The compare-and-set at the heart of rotation: only one caller can supersede a token.
    pub async fn supersede_refresh(
        &self,
        tx: &mut Tx,
        hash: &str,
        successor: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "update oauth_refresh_tokens set superseded_at = $2, successor_hash = $3, updated_at = $2
            where token_hash = $1 and superseded_at is null";
        let done = sqlx::query(SQL)
            .bind(hash)
            .bind(to_millis(now))
            .bind(successor)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Rotation's fast path in one statement: supersedes the token only if it is live, unexpired and
    /// `client`'s, and answers its grant and scopes. `None`: not claimed; the caller reads the row to
    /// find out why (unknown, another client's, expired, or already rotated).
    pub async fn claim_refresh(
        &self,
        tx: &mut Tx,
        hash: &str,
        successor: &str,
        client: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(GrantId, ScopeSet)>> {
        const SQL: &str = "update oauth_refresh_tokens set superseded_at = $2, successor_hash = $3, updated_at = $2
            where token_hash = $1 and superseded_at is null and client_id = $4 and expires_at > $2
            returning grant_id, scopes";
        let r = sqlx::query(SQL)
            .bind(hash)
            .bind(to_millis(now))
            .bind(successor)
            .bind(client)
            .fetch_optional(&mut **tx)
            .await?;
        r.map(|r| {
            Ok((
                GrantId::from_db(row::text(&r, "grant_id")?),
                ScopeSet::parse_known(&row::text(&r, "scopes")?),
            ))
        })
        .transpose()
    }

    /// A refresh token by hash, read inside `tx` when given (to see the outcome of a race), else from the pool.
    pub async fn refresh_token(&self, tx: Option<&mut Tx>, hash: &str) -> Result<RefreshRow> {
        const SQL: &str =
            "select grant_id, client_id, scopes, expires_at, superseded_at, successor_hash
            from oauth_refresh_tokens where token_hash = $1";
        let q = sqlx::query(SQL).bind(hash);
        let r = match tx {
            Some(tx) => q.fetch_one(&mut **tx).await?,
            None => q.fetch_one(&self.pool).await?,
        };
        Ok(RefreshRow {
            grant_id: GrantId::from_db(row::text(&r, "grant_id")?),
            client_id: row::text(&r, "client_id")?,
            scopes: ScopeSet::parse_known(&row::text(&r, "scopes")?),
            expires_at: row::instant(&r, "expires_at")?,
            superseded_at: row::opt_instant(&r, "superseded_at")?,
            successor_hash: row::opt_text(&r, "successor_hash")?,
        })
    }
}
