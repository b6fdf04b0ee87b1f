//! Password reset links (only their tokens' SHA-256 hashes), and what a new password ends: the
//! person's browser sessions and their counted sign-in attempts.

use time::OffsetDateTime;

use super::{Result, Store, Tx};
use crate::clock::to_millis;
use crate::ids::UserId;

impl Store {
    /// Takes `user`'s row lock for the rest of `tx` (a no-op update), so two requests for one person
    /// count that person's recent links one after the other, on every instance.
    pub async fn lock_user(&self, tx: &mut Tx, user: &UserId) -> Result<()> {
        sqlx::query("update users set updated_at = updated_at where user_id = $1")
            .bind(user.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Links sent to `user` since `since`, used or not.
    pub async fn count_resets_since(
        &self,
        tx: &mut Tx,
        user: &UserId,
        since: OffsetDateTime,
    ) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from password_resets where user_id = $1 and created_at > $2",
        )
        .bind(user.as_str())
        .bind(to_millis(since))
        .fetch_one(&mut **tx)
        .await?;
        Ok(n)
    }

    pub async fn insert_reset(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        user: &UserId,
        now: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "insert into password_resets (token_hash, user_id, created_at, expires_at)
            values ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.as_str())
        .bind(to_millis(now))
        .bind(to_millis(expires))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The person an unused, unexpired link belongs to.
    pub async fn open_reset(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>> {
        let id: Option<String> = sqlx::query_scalar(
            "select user_id from password_resets
            where token_hash = $1 and used_at is null and expires_at > $2",
        )
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(UserId::from_db))
    }

    /// Marks an open link used, in one statement, so of two concurrent submits only one gets the
    /// person back; `None` when it was not open.
    pub async fn consume_reset(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<UserId>> {
        let id: Option<String> = sqlx::query_scalar(
            "update password_resets set used_at = $2
            where token_hash = $1 and used_at is null and expires_at > $2
            returning user_id",
        )
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(&mut **tx)
        .await?;
        Ok(id.map(UserId::from_db))
    }

    /// Forgets every link of `user`: after a new password none of them may work again.
    pub async fn delete_resets_of(&self, tx: &mut Tx, user: &UserId) -> Result<()> {
        sqlx::query("delete from password_resets where user_id = $1")
            .bind(user.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes links that expired before `before`.
    pub async fn prune_resets(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("delete from password_resets where expires_at < $1")
            .bind(to_millis(before))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    /// Ends every browser session of `user`; answers how many.
    pub async fn end_sessions_of(&self, tx: &mut Tx, user: &UserId) -> Result<u64> {
        let done = sqlx::query("delete from sessions where user_id = $1")
            .bind(user.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// Forgets the sign-in attempts counted for `email` from every address (keys `email|…`), so a
    /// person locked out by their own guesses signs in at once with the new password.
    pub async fn clear_login_attempts_of(&self, tx: &mut Tx, email: &str) -> Result<()> {
        let prefix = format!("{email}|");
        sqlx::query("delete from login_attempts where substr(login_key, 1, length($1)) = $1")
            .bind(prefix)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
