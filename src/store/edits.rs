//! Edits to incidents and maintenances beyond posting updates (renaming, moving a window, changing a
//! maintenance's components, deleting),
//! and the subscriber counts the REST API summarises.

use time::OffsetDateTime;

use super::{row, Result, StoreError, Tx};
use crate::clock::to_millis;
use crate::ids::{ComponentId, IncidentId, MaintenanceId, PageId};
use crate::store::Store;

/// Runs a delete of one row by id; no row is `NotFound`.
async fn delete_one(tx: &mut Tx, sql: &str, id: &str) -> Result<()> {
    let done = sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Store {
    pub async fn rename_incident(
        &self,
        tx: &mut Tx,
        id: &IncidentId,
        title: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("update incidents set title = $1, updated_at = $2 where incident_id = $3")
            .bind(title)
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes the incident; its updates go with it (foreign keys cascade).
    pub async fn delete_incident(&self, tx: &mut Tx, id: &IncidentId) -> Result<()> {
        delete_one(
            tx,
            "delete from incidents where incident_id = $1",
            id.as_str(),
        )
        .await
    }

    /// Renames a maintenance and moves its window.
    pub async fn edit_maintenance(
        &self,
        tx: &mut Tx,
        id: &MaintenanceId,
        title: &str,
        window: (OffsetDateTime, OffsetDateTime),
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "update maintenances set title = $1, starts_at = $2, ends_at = $3, updated_at = $4 where maintenance_id = $5",
        )
        .bind(title)
        .bind(to_millis(window.0))
        .bind(to_millis(window.1))
        .bind(to_millis(now))
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Replaces the components a maintenance covers.
    pub async fn set_maintenance_components(
        &self,
        tx: &mut Tx,
        id: &MaintenanceId,
        components: &[ComponentId],
    ) -> Result<()> {
        sqlx::query("delete from maintenance_components where maintenance_id = $1")
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        for c in components {
            sqlx::query(
                "insert into maintenance_components (maintenance_id, component_id) values ($1, $2)",
            )
            .bind(id.as_str())
            .bind(c.as_str())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub async fn delete_maintenance(&self, tx: &mut Tx, id: &MaintenanceId) -> Result<()> {
        const SQL: &str = "delete from maintenances where maintenance_id = $1";
        delete_one(tx, SQL, id.as_str()).await
    }

    /// Subscribers of a page per kind: `(kind, confirmed, pending)`.
    pub async fn subscriber_counts(&self, page: &PageId) -> Result<Vec<(String, i64, i64)>> {
        const SQL: &str = "select kind, cast(sum(confirmed) as bigint) as confirmed, cast(count(*) as bigint) as total
            from subscribers where page_id = $1 group by kind order by kind";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let confirmed = row::int(r, "confirmed")?;
                Ok((
                    row::text(r, "kind")?,
                    confirmed,
                    row::int(r, "total")? - confirmed,
                ))
            })
            .collect()
    }
}
