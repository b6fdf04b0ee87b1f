//! An organisation's members and its invitations, and a person's password.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::Role;
use crate::domain::{Invitation, Member};
use crate::ids::{InvitationId, OrgId, UserId};

const INVITATION_COLUMNS: &str =
    "invitation_id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

fn invitation_from(r: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: InvitationId::from_db(row::text(r, "invitation_id")?),
        org_id: OrgId::from_db(row::text(r, "org_id")?),
        email: row::text(r, "email")?,
        role: row::parsed(r, "role", Role::parse)?,
        invited_by: UserId::from_db(row::text(r, "invited_by")?),
        created_at: row::instant(r, "created_at")?,
        expires_at: row::instant(r, "expires_at")?,
        accepted_at: row::opt_instant(r, "accepted_at")?,
        revoked_at: row::opt_instant(r, "revoked_at")?,
    })
}

impl Store {
    /// Everyone in `org`, owners first, then by email.
    pub async fn members(&self, org: &OrgId) -> Result<Vec<Member>> {
        const SQL: &str = "select u.user_id, u.email, m.role, m.created_at from memberships m
            join users u on u.user_id = m.user_id where m.org_id = $1 order by u.email";
        let rows = sqlx::query(SQL)
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut list = rows
            .iter()
            .map(|r| {
                Ok(Member {
                    user_id: UserId::from_db(row::text(r, "user_id")?),
                    email: row::text(r, "email")?,
                    role: row::parsed(r, "role", Role::parse)?,
                    since: row::instant(r, "created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        list.sort_by(|a, b| b.role.cmp(&a.role).then_with(|| a.email.cmp(&b.email)));
        Ok(list)
    }

    /// Serialises membership changes of one organisation: the first statement of the transaction
    /// takes the org row's lock (PostgreSQL; SQLite has one writer anyway), so two owners demoting
    /// each other at once cannot both see the other still an owner.
    pub async fn lock_org(&self, tx: &mut Tx, org: &OrgId, now: OffsetDateTime) -> Result<()> {
        sqlx::query("update orgs set updated_at = $2 where org_id = $1")
            .bind(org.as_str())
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The role of a member read inside `tx` (after [`Store::lock_org`], so it cannot change under us).
    pub async fn role_in_tx(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<Role>> {
        let r = sqlx::query("select role from memberships where org_id = $1 and user_id = $2")
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        r.map(|r| row::parsed(&r, "role", Role::parse)).transpose()
    }

    pub async fn count_owners(&self, tx: &mut Tx, org: &OrgId) -> Result<i64> {
        let r = sqlx::query(
            "select count(*) as n from memberships where org_id = $1 and role = 'owner'",
        )
        .bind(org.as_str())
        .fetch_one(&mut **tx)
        .await?;
        row::int(&r, "n")
    }

    /// Ends a membership and, with it, every key and connector grant the person held in `org`.
    pub async fn delete_membership(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        user: &UserId,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<()> {
        tx.touches_cached();
        let now = to_millis(now);
        sqlx::query("delete from memberships where org_id = $1 and user_id = $2")
            .bind(org.as_str())
            .bind(user.as_str())
            .execute(&mut **tx)
            .await?;
        sqlx::query("update api_keys set revoked_at = $3, updated_at = $3 where org_id = $1 and user_id = $2 and revoked_at is null")
            .bind(org.as_str())
            .bind(user.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query("update oauth_grants set revoked_at = $3, revoked_by = $4, updated_at = $3 where org_id = $1 and user_id = $2 and revoked_at is null")
            .bind(org.as_str())
            .bind(user.as_str())
            .bind(now)
            .bind(by.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn insert_invitation(
        &self,
        tx: &mut Tx,
        inv: &Invitation,
        token_hash: &str,
    ) -> Result<()> {
        const SQL: &str = "insert into invitations (invitation_id, org_id, email, role, token_hash, invited_by, created_at, expires_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $7)";
        sqlx::query(SQL)
            .bind(inv.id.as_str())
            .bind(inv.org_id.as_str())
            .bind(&inv.email)
            .bind(inv.role.as_str())
            .bind(token_hash)
            .bind(inv.invited_by.as_str())
            .bind(to_millis(inv.created_at))
            .bind(to_millis(inv.expires_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Invitations of `org` neither accepted nor revoked nor expired, newest first (at most 200).
    pub async fn pending_invitations(
        &self,
        org: &OrgId,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>> {
        let sql = format!(
            "select {INVITATION_COLUMNS} from invitations where org_id = $1 and accepted_at is null
            and revoked_at is null and expires_at > $2 order by created_at desc limit 200"
        );
        let rows = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(to_millis(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invitation_from).collect()
    }

    /// Pending invitations of `org` for `email`: one is enough, a second is refused.
    pub async fn count_pending_invitations(
        &self,
        org: &OrgId,
        email: &str,
        now: OffsetDateTime,
    ) -> Result<i64> {
        const SQL: &str = "select count(*) as n from invitations where org_id = $1 and email = $2
            and accepted_at is null and revoked_at is null and expires_at > $3";
        let r = sqlx::query(SQL)
            .bind(org.as_str())
            .bind(email)
            .bind(to_millis(now))
            .fetch_one(&self.pool)
            .await?;
        row::int(&r, "n")
    }

    /// The invitation whose token hashes to `hash`. The lookup is by hash, so comparing tokens never
    /// depends on how much of them matched.
    pub async fn invitation_by_hash(&self, hash: &str) -> Result<Option<Invitation>> {
        let sql = format!("select {INVITATION_COLUMNS} from invitations where token_hash = $1");
        let r = sqlx::query(&sql)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(invitation_from).transpose()
    }

    /// Marks an open invitation used. Compare-and-set, so a link accepted twice at once joins once.
    pub async fn use_invitation(
        &self,
        tx: &mut Tx,
        id: &InvitationId,
        now: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "update invitations set accepted_at = $2, updated_at = $2
            where invitation_id = $1 and accepted_at is null and revoked_at is null and expires_at > $2";
        let done = sqlx::query(SQL)
            .bind(id.as_str())
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Withdraws a pending invitation of `org`; answers whether there was one.
    pub async fn revoke_invitation(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        id: &InvitationId,
        now: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "update invitations set revoked_at = $3, updated_at = $3
            where invitation_id = $1 and org_id = $2 and accepted_at is null and revoked_at is null";
        let done = sqlx::query(SQL)
            .bind(id.as_str())
            .bind(org.as_str())
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_password_hash(
        &self,
        tx: &mut Tx,
        user: &UserId,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("update users set password_hash = $2, updated_at = $3 where user_id = $1")
            .bind(user.as_str())
            .bind(hash)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Ends every browser session of `user` but `keep` (the one that asked).
    pub async fn end_other_sessions(&self, tx: &mut Tx, user: &UserId, keep: &str) -> Result<u64> {
        let done = sqlx::query("delete from sessions where user_id = $1 and session_id <> $2")
            .bind(user.as_str())
            .bind(keep)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }
}
