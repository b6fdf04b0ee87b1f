//! The audit log: written in the same transaction as the change it records.

use time::OffsetDateTime;

use super::{row, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::{ActorType, AuditEntry, AuditFilter};
use crate::ids::{AuditId, OrgId, UserId};

/// One row to write.
#[derive(Clone, Debug)]
pub struct AuditRecord<'a> {
    pub org_id: &'a OrgId,
    pub actor_type: ActorType,
    pub actor_id: &'a str,
    pub user_id: Option<&'a UserId>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    /// A JSON object with whatever else the action needs remembered.
    pub detail: String,
}

impl Store {
    pub async fn insert_audit(
        &self,
        tx: &mut Tx,
        rec: &AuditRecord<'_>,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into audit_log (audit_id, org_id, actor_type, actor_id, user_id, action, target_type, target_id, detail, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
        sqlx::query(SQL)
            .bind(AuditId::generate().as_str())
            .bind(rec.org_id.as_str())
            .bind(rec.actor_type.as_str())
            .bind(rec.actor_id)
            .bind(rec.user_id.map(|u| u.as_str().to_owned()))
            .bind(rec.action)
            .bind(rec.target_type)
            .bind(rec.target_id)
            .bind(&rec.detail)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Newest first, optionally only one actor type.
    pub async fn audit_entries(
        &self,
        org: &OrgId,
        actor_type: Option<ActorType>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let filter = AuditFilter {
            actor_type,
            ..AuditFilter::default()
        };
        self.audit_search(org, &filter, 0, limit).await
    }

    /// Newest first, matching `filter`, after skipping `offset` rows.
    pub async fn audit_search(
        &self,
        org: &OrgId,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        const SQL: &str = "select audit_id, org_id, actor_type, actor_id, user_id, action, target_type, target_id, detail, created_at
            from audit_log where org_id = $1 and ($2 = '' or actor_type = $2)
                and created_at >= $3 and created_at < $4
            order by created_at desc, audit_id desc limit $5 offset $6";
        let rows = sqlx::query(SQL)
            .bind(org.as_str())
            .bind(filter.actor_type.map(ActorType::as_str).unwrap_or(""))
            .bind(filter.from.map_or(i64::MIN, to_millis))
            .bind(filter.until.map_or(i64::MAX, to_millis))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry_from).collect()
    }
}

fn entry_from(r: &super::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId::from_db(row::text(r, "audit_id")?),
        org_id: OrgId::from_db(row::text(r, "org_id")?),
        actor_type: row::parsed(r, "actor_type", |s| {
            ActorType::parse(s).ok_or("unknown actor type")
        })?,
        actor_id: row::text(r, "actor_id")?,
        user_id: row::opt_text(r, "user_id")?.map(UserId::from_db),
        action: row::text(r, "action")?,
        target_type: row::text(r, "target_type")?,
        target_id: row::text(r, "target_id")?,
        detail: row::text(r, "detail")?,
        created_at: row::instant(r, "created_at")?,
    })
}
