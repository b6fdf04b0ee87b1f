//! First-run set-up: the hash of the one-time set-up token, whether anyone can sign in yet, and the
//! organisation rename.

use time::OffsetDateTime;

use super::{row, Result, Store, Tx};
use crate::clock::to_millis;
use crate::ids::OrgId;

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        let r = sqlx::query("select count(*) as n from users")
            .fetch_one(&self.pool)
            .await?;
        row::int(&r, "n")
    }

    /// [`Store::count_users`] inside a transaction, so set-up sees a user created just before it.
    pub async fn count_users_in(&self, tx: &mut Tx) -> Result<i64> {
        let r = sqlx::query("select count(*) as n from users")
            .fetch_one(&mut **tx)
            .await?;
        row::int(&r, "n")
    }

    /// Stores `hash` as the one set-up token, replacing any earlier one.
    pub async fn replace_setup_token(&self, hash: &str, now: OffsetDateTime) -> Result<()> {
        const SQL: &str = "insert into setup_tokens (slot, token_hash, created_at) values (1, $1, $2)
            on conflict (slot) do update set token_hash = excluded.token_hash, created_at = excluded.created_at";
        sqlx::query(SQL)
            .bind(hash)
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn setup_token_hash(&self) -> Result<Option<String>> {
        const SQL: &str = "select token_hash from setup_tokens where slot = 1";
        let r = sqlx::query(SQL).fetch_optional(&self.pool).await?;
        r.map(|r| row::text(&r, "token_hash")).transpose()
    }

    /// Deletes the token whose hash is `hash`; true when this call deleted it. Of two concurrent calls
    /// only one deletes the row, so only one set-up goes through.
    pub async fn take_setup_token(&self, tx: &mut Tx, hash: &str) -> Result<bool> {
        const SQL: &str = "delete from setup_tokens where slot = 1 and token_hash = $1";
        let done = sqlx::query(SQL).bind(hash).execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn clear_setup_token(&self) -> Result<()> {
        sqlx::query("delete from setup_tokens")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn rename_org(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "update orgs set name = $2, updated_at = $3 where org_id = $1";
        let done = sqlx::query(SQL)
            .bind(org.as_str())
            .bind(name)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(super::StoreError::NotFound);
        }
        Ok(())
    }
}
