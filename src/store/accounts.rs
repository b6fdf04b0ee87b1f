//! Organisations, users, memberships and sign-in attempts.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::{Membership, Org, Role, User};
use crate::ids::{OrgId, UserId};

fn org_from(r: &AnyRow) -> Result<Org> {
    Ok(Org {
        id: OrgId::from_db(row::text(r, "org_id")?),
        slug: row::text(r, "slug")?,
        name: row::text(r, "name")?,
    })
}

impl Store {
    pub async fn insert_org(&self, tx: &mut Tx, org: &Org, now: OffsetDateTime) -> Result<()> {
        const SQL: &str = "insert into orgs (org_id, slug, name, created_at, updated_at) values ($1, $2, $3, $4, $4)";
        sqlx::query(SQL)
            .bind(org.id.as_str())
            .bind(&org.slug)
            .bind(&org.name)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Org> {
        const SQL: &str = "select org_id, slug, name from orgs where slug = $1";
        let r = sqlx::query(SQL).bind(slug).fetch_one(&self.pool).await?;
        org_from(&r)
    }

    pub async fn org_by_id(&self, id: &OrgId) -> Result<Org> {
        const SQL: &str = "select org_id, slug, name from orgs where org_id = $1";
        let r = sqlx::query(SQL)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        org_from(&r)
    }

    pub async fn count_orgs(&self) -> Result<i64> {
        let r = sqlx::query("select count(*) as n from orgs")
            .fetch_one(&self.pool)
            .await?;
        row::int(&r, "n")
    }

    pub async fn insert_user(
        &self,
        tx: &mut Tx,
        user: &User,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into users (user_id, email, password_hash, created_at, updated_at) values ($1, $2, $3, $4, $4)";
        sqlx::query(SQL)
            .bind(user.id.as_str())
            .bind(&user.email)
            .bind(password_hash)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The user and their password hash, for sign-in.
    pub async fn user_credentials(&self, email: &str) -> Result<(User, String)> {
        const SQL: &str = "select user_id, email, password_hash from users where email = $1";
        let r = sqlx::query(SQL).bind(email).fetch_one(&self.pool).await?;
        let user = User {
            id: UserId::from_db(row::text(&r, "user_id")?),
            email: row::text(&r, "email")?,
        };
        Ok((user, row::text(&r, "password_hash")?))
    }

    pub async fn user_by_id(&self, id: &UserId) -> Result<User> {
        const SQL: &str = "select user_id, email from users where user_id = $1";
        let r = sqlx::query(SQL)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(User {
            id: UserId::from_db(row::text(&r, "user_id")?),
            email: row::text(&r, "email")?,
        })
    }

    /// Creates or changes a membership.
    pub async fn upsert_membership(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        user: &UserId,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into memberships (org_id, user_id, role, created_at, updated_at)
            values ($1, $2, $3, $4, $4)
            on conflict (org_id, user_id) do update set role = excluded.role, updated_at = excluded.updated_at";
        sqlx::query(SQL)
            .bind(org.as_str())
            .bind(user.as_str())
            .bind(role.as_str())
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The user's current role in `org`, read fresh on every check so a demotion applies at once.
    /// (Cached until the next write, so still current: see `cache.rs`.)
    pub async fn role_of(&self, org: &OrgId, user: &UserId) -> Result<Option<Role>> {
        const SQL: &str = "select role from memberships where org_id = $1 and user_id = $2";
        let key = (org.as_str().to_owned(), user.as_str().to_owned());
        let at = self.cache.generation();
        if let Some(role) = self.cache.roles.get(&key, at) {
            return Ok(role);
        }
        let r = sqlx::query(SQL)
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let role = r
            .map(|r| row::parsed(&r, "role", Role::parse))
            .transpose()?;
        self.cache.roles.put(key, role, at, &self.cache);
        Ok(role)
    }

    pub async fn memberships_of(&self, user: &UserId) -> Result<Vec<Membership>> {
        const SQL: &str = "select o.org_id, o.slug, o.name, m.role from memberships m
            join orgs o on o.org_id = m.org_id where m.user_id = $1 order by o.slug";
        let at = self.cache.generation();
        if let Some(list) = self.cache.memberships.get(user.as_str(), at) {
            return Ok(list);
        }
        let rows = sqlx::query(SQL)
            .bind(user.as_str())
            .fetch_all(&self.pool)
            .await?;
        let list = rows
            .iter()
            .map(|r| {
                Ok(Membership {
                    org: org_from(r)?,
                    role: row::parsed(r, "role", Role::parse)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.cache
            .memberships
            .put(user.as_str().to_owned(), list.clone(), at, &self.cache);
        Ok(list)
    }

    /// Counts one sign-in attempt for `key` and returns the attempts in its window and when the window
    /// opened. One statement, so parallel attempts each get their own count; a window that opened
    /// before `expired_before` starts again at this attempt.
    pub async fn count_login_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
    ) -> Result<(i64, OffsetDateTime)> {
        const SQL: &str =
            "insert into login_attempts (login_key, attempts, window_start, updated_at)
            values ($1, 1, $2, $2)
            on conflict (login_key) do update set
                attempts = case when login_attempts.window_start < $3 then 1
                    else login_attempts.attempts + 1 end,
                window_start = case when login_attempts.window_start < $3 then excluded.window_start
                    else login_attempts.window_start end,
                updated_at = excluded.updated_at
            returning attempts, window_start";
        let r = sqlx::query(SQL)
            .bind(key)
            .bind(to_millis(now))
            .bind(to_millis(expired_before))
            .fetch_one(&self.pool)
            .await?;
        Ok((row::int(&r, "attempts")?, row::instant(&r, "window_start")?))
    }

    /// Forgets `key`'s attempts (after a successful sign-in).
    pub async fn clear_login_attempts(&self, key: &str) -> Result<()> {
        sqlx::query("delete from login_attempts where login_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes windows that opened before `before`; they no longer limit anything.
    pub async fn prune_login_attempts(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("delete from login_attempts where window_start < $1")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
