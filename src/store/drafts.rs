//! Drafts of incidents and maintenances: listing them, and the compare-and-set updates that publish or
//! discard one. Both act only on a row still marked draft, so a repeat (a double click, two admins at
//! once) changes zero rows and the caller reports a conflict instead of acting twice.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::{Draft, DraftKind, Incident, Maintenance};
use crate::ids::PageId;

/// The item table, its key column and its updates table.
fn tables(kind: DraftKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        DraftKind::Incident => ("incidents", "incident_id", "incident_updates"),
        DraftKind::Maintenance => ("maintenances", "maintenance_id", "maintenance_updates"),
    }
}

/// `a, b` as `t.a, t.b`: the draft listings join `users`, which has columns of the same names.
fn qualified(cols: &str, alias: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn draft_from(r: &AnyRow) -> Result<Option<Draft>> {
    if !row::flag(r, "draft")? {
        return Ok(None);
    }
    let via = row::opt_text(r, "drafted_via")?.unwrap_or_else(|| "web".to_owned());
    Ok(Some(Draft { via }))
}

impl Store {
    /// Rows of a page's drafts of one kind, oldest first, each with the drafter's `email`.
    async fn draft_rows(&self, kind: DraftKind, page: &PageId) -> Result<Vec<AnyRow>> {
        let (table, key, _) = tables(kind);
        let cols = match kind {
            DraftKind::Incident => super::incidents::COLS,
            DraftKind::Maintenance => super::maintenances::COLS,
        };
        let sql = format!(
            "select {}, u.email from {table} d left join users u on u.user_id = d.created_by
             where d.page_id = $1 and d.draft = 1 order by d.created_at, d.{key}",
            qualified(cols, "d")
        );
        Ok(sqlx::query(&sql)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?)
    }

    /// Draft incidents of a page, oldest first, each with the email of the person whose credential saved it.
    pub async fn draft_incidents(&self, page: &PageId) -> Result<Vec<(Incident, Option<String>)>> {
        let rows = self.draft_rows(DraftKind::Incident, page).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    super::incidents::incident_from(r)?,
                    row::opt_text(r, "email")?,
                ))
            })
            .collect()
    }

    /// Draft maintenances of a page, oldest first, each with the email of the person who saved it.
    pub async fn draft_maintenances(
        &self,
        page: &PageId,
    ) -> Result<Vec<(Maintenance, Option<String>)>> {
        let rows = self.draft_rows(DraftKind::Maintenance, page).await?;
        let mut list = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = super::maintenances::maintenance_from(r)?;
            m.components = self.maintenance_components(&m.id).await?;
            list.push((m, row::opt_text(r, "email")?));
        }
        Ok(list)
    }

    /// Publishes a draft as of `now`: the item and its first update are dated `now` and the update's
    /// notify flag records the publisher's choice. Run it first in the transaction. `false` when the
    /// item is no longer a draft (published or discarded meanwhile).
    pub async fn publish_draft(
        &self,
        tx: &mut Tx,
        kind: DraftKind,
        id: &str,
        notify: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let (table, key, updates) = tables(kind);
        let started = if kind == DraftKind::Incident {
            ", started_at = $1"
        } else {
            ""
        };
        let sql = format!(
            "update {table} set draft = 0, updated_at = $1{started} where {key} = $2 and draft = 1"
        );
        let changed = sqlx::query(&sql)
            .bind(to_millis(now))
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        let sql = format!(
            "update {updates} set notify = $1, created_at = $2, updated_at = $2 where {key} = $3"
        );
        sqlx::query(&sql)
            .bind(i64::from(notify))
            .bind(to_millis(now))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// Deletes a draft with its updates. `false` when it is no longer a draft.
    pub async fn discard_draft(&self, tx: &mut Tx, kind: DraftKind, id: &str) -> Result<bool> {
        let (table, key, _) = tables(kind);
        let sql = format!("delete from {table} where {key} = $1 and draft = 1");
        let changed = sqlx::query(&sql)
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        Ok(changed > 0)
    }
}
