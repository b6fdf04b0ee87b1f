//! Enterprise-managed sign-in: the issuers each organisation trusts, the assertion ids already redeemed
//! (one row per `(iss, jti)`, so a replay fails on every instance) and the member an assertion names.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, StoreError, Tx};
use crate::clock::to_millis;
use crate::domain::connector::TrustedIssuer;
use crate::domain::Role;
use crate::ids::{OrgId, UserId};

const COLS: &str = "org_id, issuer, jwks_uri, role_cap, created_at";

fn issuer_from(r: &AnyRow) -> Result<TrustedIssuer> {
    Ok(TrustedIssuer {
        org_id: OrgId::from_db(row::text(r, "org_id")?),
        issuer: row::text(r, "issuer")?,
        jwks_uri: row::text(r, "jwks_uri")?,
        role_cap: row::parsed(r, "role_cap", Role::parse)?,
        created_at: row::instant(r, "created_at")?,
    })
}

impl Store {
    /// The issuers `org` trusts, oldest first.
    pub async fn trusted_issuers(&self, org: &OrgId) -> Result<Vec<TrustedIssuer>> {
        let sql = format!(
            "select {COLS} from trusted_issuers where org_id = $1 order by created_at, issuer"
        );
        let rows = sqlx::query(&sql)
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(issuer_from).collect()
    }

    /// Every organisation's entry for `issuer` (usually one: an identity provider is one company's).
    pub async fn issuers_named(&self, issuer: &str) -> Result<Vec<TrustedIssuer>> {
        let sql = format!("select {COLS} from trusted_issuers where issuer = $1 order by org_id");
        let rows = sqlx::query(&sql).bind(issuer).fetch_all(&self.pool).await?;
        rows.iter().map(issuer_from).collect()
    }

    /// Adds a trusted issuer; one `org` already trusts is `Conflict`.
    pub async fn insert_trusted_issuer(&self, tx: &mut Tx, t: &TrustedIssuer) -> Result<()> {
        let sql = format!("insert into trusted_issuers ({COLS}) values ($1, $2, $3, $4, $5)");
        sqlx::query(&sql)
            .bind(t.org_id.as_str())
            .bind(&t.issuer)
            .bind(&t.jwks_uri)
            .bind(t.role_cap.as_str())
            .bind(to_millis(t.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Removes one; `NotFound` when `org` did not trust it.
    pub async fn delete_trusted_issuer(
        &self,
        tx: &mut Tx,
        org: &OrgId,
        issuer: &str,
    ) -> Result<()> {
        const SQL: &str = "delete from trusted_issuers where org_id = $1 and issuer = $2";
        let done = sqlx::query(SQL)
            .bind(org.as_str())
            .bind(issuer)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records that the assertion `(issuer, jti)` was redeemed; `false` when it already was (on any
    /// instance: the primary key decides). Kept until `expires_at`, after which the assertion is refused
    /// as expired anyway and retention removes the row.
    pub async fn use_assertion(
        &self,
        tx: &mut Tx,
        issuer: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str =
            "insert into used_assertions (issuer, jti, expires_at) values ($1, $2, $3)
            on conflict (issuer, jti) do nothing";
        let done = sqlx::query(SQL)
            .bind(issuer)
            .bind(jti)
            .bind(to_millis(expires_at))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The member of `org` an assertion names: by user id, or by email (compared without case).
    pub async fn member_named(
        &self,
        org: &OrgId,
        user_id: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<(UserId, Role)>> {
        const SQL: &str = "select u.user_id, m.role from users u
            join memberships m on m.user_id = u.user_id and m.org_id = $1
            where u.user_id = $2 or lower(u.email) = lower($3)
            order by case when u.user_id = $2 then 0 else 1 end limit 1";
        let r = sqlx::query(SQL)
            .bind(org.as_str())
            .bind(user_id.unwrap_or(""))
            .bind(email.unwrap_or(""))
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| {
            Ok((
                UserId::from_db(row::text(&r, "user_id")?),
                row::parsed(&r, "role", Role::parse)?,
            ))
        })
        .transpose()
    }
}
