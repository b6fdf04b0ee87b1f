//! Maintenance windows, their components and updates.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::{Maintenance, MaintenanceFilter, MaintenanceState, MaintenanceUpdate};
use crate::ids::{ComponentId, MaintenanceId, MaintenanceUpdateId, PageId, UserId};

pub(super) const COLS: &str =
    "maintenance_id, page_id, title, state, starts_at, ends_at, updated_at, draft, drafted_via";

pub(super) fn maintenance_from(r: &AnyRow) -> Result<Maintenance> {
    Ok(Maintenance {
        id: MaintenanceId::from_db(row::text(r, "maintenance_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        title: row::text(r, "title")?,
        state: row::parsed(r, "state", MaintenanceState::parse)?,
        starts_at: row::instant(r, "starts_at")?,
        ends_at: row::instant(r, "ends_at")?,
        components: Vec::new(),
        updated_at: row::instant(r, "updated_at")?,
        draft: super::drafts::draft_from(r)?,
    })
}

impl Store {
    pub async fn insert_maintenance(
        &self,
        tx: &mut Tx,
        m: &Maintenance,
        by: Option<&UserId>,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into maintenances (maintenance_id, page_id, title, state, starts_at, ends_at, created_by, created_at, updated_at, draft, drafted_via)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)";
        const COMPONENT: &str =
            "insert into maintenance_components (maintenance_id, component_id) values ($1, $2)";
        sqlx::query(SQL)
            .bind(m.id.as_str())
            .bind(m.page_id.as_str())
            .bind(&m.title)
            .bind(m.state.as_str())
            .bind(to_millis(m.starts_at))
            .bind(to_millis(m.ends_at))
            .bind(by.map(|u| u.as_str().to_owned()))
            .bind(to_millis(now))
            .bind(i64::from(m.draft.is_some()))
            .bind(m.draft.as_ref().map(|d| d.via.clone()))
            .execute(&mut **tx)
            .await?;
        for c in &m.components {
            sqlx::query(COMPONENT)
                .bind(m.id.as_str())
                .bind(c.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn set_maintenance_state(
        &self,
        tx: &mut Tx,
        id: &MaintenanceId,
        state: MaintenanceState,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "update maintenances set state = $1, updated_at = $2 where maintenance_id = $3";
        sqlx::query(SQL)
            .bind(state.as_str())
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn insert_maintenance_update(
        &self,
        tx: &mut Tx,
        u: &MaintenanceUpdate,
        by: Option<&UserId>,
    ) -> Result<()> {
        const SQL: &str = "insert into maintenance_updates (update_id, maintenance_id, state, message, notify, created_by, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $7)";
        sqlx::query(SQL)
            .bind(u.id.as_str())
            .bind(u.maintenance_id.as_str())
            .bind(u.state.as_str())
            .bind(&u.message)
            .bind(i64::from(u.notify))
            .bind(by.map(|u| u.as_str().to_owned()))
            .bind(to_millis(u.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn maintenance(&self, id: &MaintenanceId) -> Result<Maintenance> {
        let sql = format!("select {COLS} from maintenances where maintenance_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        let mut m = maintenance_from(&r)?;
        m.components = self.maintenance_components(&m.id).await?;
        Ok(m)
    }

    pub(super) async fn maintenance_components(
        &self,
        id: &MaintenanceId,
    ) -> Result<Vec<ComponentId>> {
        const SQL: &str = "select component_id from maintenance_components where maintenance_id = $1 order by component_id";
        let rows = sqlx::query(SQL)
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(ComponentId::from_db(row::text(r, "component_id")?)))
            .collect()
    }

    /// Maps rows to maintenances, each with its components.
    async fn with_components(&self, rows: &[AnyRow]) -> Result<Vec<Maintenance>> {
        let mut list: Vec<Maintenance> =
            rows.iter().map(maintenance_from).collect::<Result<_>>()?;
        for m in &mut list {
            m.components = self.maintenance_components(&m.id).await?;
        }
        Ok(list)
    }

    /// Published maintenances in `state` (any state when `None`), latest window first, after
    /// skipping `offset`: the history pages.
    pub async fn maintenance_history(
        &self,
        page: &PageId,
        state: Option<MaintenanceState>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Maintenance>> {
        let sql = format!(
            "select {COLS} from maintenances where page_id = $1 and draft = 0 and ($2 = '' or state = $2)
             order by starts_at desc, maintenance_id limit $3 offset $4"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(state.map(MaintenanceState::as_str).unwrap_or(""))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        self.with_components(&rows).await
    }

    /// Published maintenances matching `filter`; drafts are listed by `draft_maintenances`.
    pub async fn maintenances(
        &self,
        page: &PageId,
        filter: MaintenanceFilter,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<Maintenance>> {
        let (cond, order) = match filter {
            MaintenanceFilter::Active => (
                "(state = 'in_progress' or (state = 'scheduled' and starts_at <= $2 and ends_at > $2))",
                "starts_at",
            ),
            MaintenanceFilter::Upcoming => ("state = 'scheduled' and starts_at > $2", "starts_at"),
            MaintenanceFilter::Past => ("state in ('completed', 'cancelled') and $2 = $2", "ends_at desc"),
            MaintenanceFilter::Scheduled => ("state = 'scheduled' and $2 = $2", "starts_at"),
        };
        let sql = format!(
            "select {COLS} from maintenances where page_id = $1 and draft = 0 and {cond} order by {order}, maintenance_id limit $3"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        self.with_components(&rows).await
    }

    pub async fn maintenance_updates(
        &self,
        id: &MaintenanceId,
        limit: i64,
    ) -> Result<Vec<MaintenanceUpdate>> {
        const SQL: &str = "select update_id, maintenance_id, state, message, notify, created_at from maintenance_updates
            where maintenance_id = $1 order by created_at desc, update_id desc limit $2";
        let rows = sqlx::query(SQL)
            .bind(id.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(update_from).collect()
    }

    /// The maintenances a public feed shows: every open one plus the `limit` latest windows,
    /// published only, latest window first, each with its components and `created_at`.
    pub async fn feed_maintenances(
        &self,
        page: &PageId,
        limit: i64,
    ) -> Result<Vec<(Maintenance, OffsetDateTime)>> {
        let sql = format!(
            "select {COLS}, created_at from maintenances m where {FEED_SET} order by starts_at desc, maintenance_id"
        );
        let components_sql = format!(
            "select c.maintenance_id, c.component_id from maintenance_components c
             join maintenances m on m.maintenance_id = c.maintenance_id
             where {FEED_SET} order by c.maintenance_id, c.component_id"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut list = rows
            .iter()
            .map(|r| Ok((maintenance_from(r)?, row::instant(r, "created_at")?)))
            .collect::<Result<Vec<_>>>()?;
        let components = sqlx::query(&components_sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        for r in &components {
            let id = row::text(r, "maintenance_id")?;
            if let Some((m, _)) = list.iter_mut().find(|(m, _)| m.id.as_str() == id) {
                m.components
                    .push(ComponentId::from_db(row::text(r, "component_id")?));
            }
        }
        Ok(list)
    }

    /// Updates of the maintenances [`Store::feed_maintenances`] picks, at most `cap`, newest first,
    /// each with its `updated_at`.
    pub async fn feed_maintenance_updates(
        &self,
        page: &PageId,
        limit: i64,
        cap: i64,
    ) -> Result<Vec<(MaintenanceUpdate, OffsetDateTime)>> {
        let sql = format!(
            "select u.update_id, u.maintenance_id, u.state, u.message, u.notify, u.created_at, u.updated_at
             from maintenance_updates u join maintenances m on m.maintenance_id = u.maintenance_id
             where {FEED_SET} order by u.created_at desc, u.update_id desc limit $3"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .bind(cap)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((update_from(r)?, row::instant(r, "updated_at")?)))
            .collect()
    }
}

fn update_from(r: &AnyRow) -> Result<MaintenanceUpdate> {
    Ok(MaintenanceUpdate {
        id: MaintenanceUpdateId::from_db(row::text(r, "update_id")?),
        maintenance_id: MaintenanceId::from_db(row::text(r, "maintenance_id")?),
        state: row::parsed(r, "state", MaintenanceState::parse)?,
        message: row::text(r, "message")?,
        notify: row::flag(r, "notify")?,
        created_at: row::instant(r, "created_at")?,
    })
}

/// Which maintenances a public feed covers, for a query aliasing `maintenances` as `m` with `$1`
/// the page and `$2` how many recent windows: open ones always.
const FEED_SET: &str = "m.page_id = $1 and m.draft = 0 and (m.state in ('scheduled', 'in_progress')
    or m.maintenance_id in (select maintenance_id from maintenances where page_id = $1 and draft = 0
    order by starts_at desc, maintenance_id limit $2))";
