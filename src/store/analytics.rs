//! Aggregates for analytics and uptime bars. Sums are cast to bigint: PostgreSQL returns numeric otherwise.

use time::OffsetDateTime;

use super::{row, Result, Store};
use crate::clock::to_millis;
use crate::ids::{ComponentId, MonitorId, PageId};

const DAY_MS: i64 = 86_400_000;

/// Checks and successes in some bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub total: i64,
    pub ok: i64,
}

/// Incident and maintenance spans overlapping a window, as unix ms.
#[derive(Clone, Debug, Default)]
pub struct Spans {
    /// `(started_at, resolved_at)` of incidents started in the window.
    pub incidents: Vec<(i64, Option<i64>)>,
    /// `(starts_at, ends_at)` of maintenances not cancelled that overlap the window.
    pub maintenances: Vec<(i64, i64)>,
}

impl Store {
    /// Adds `views` views of a page to today's count. Nothing about the visitors is stored.
    pub async fn add_page_views(
        &self,
        page: &PageId,
        views: i64,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into page_views (page_id, day, views, created_at, updated_at)
            values ($1, $2, $4, $3, $3)
            on conflict (page_id, day) do update set views = page_views.views + $4, updated_at = $3";
        let ms = to_millis(now);
        sqlx::query(SQL)
            .bind(page.as_str())
            .bind(ms.div_euclid(DAY_MS))
            .bind(ms)
            .bind(views)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn page_views_since(&self, page: &PageId, since: OffsetDateTime) -> Result<i64> {
        const SQL: &str = "select cast(coalesce(sum(views), 0) as bigint) as n from page_views
            where page_id = $1 and day >= $2";
        let r = sqlx::query(SQL)
            .bind(page.as_str())
            .bind(to_millis(since).div_euclid(DAY_MS))
            .fetch_one(&self.pool)
            .await?;
        row::int(&r, "n")
    }

    /// Checks and successes per monitor of a page since `since`.
    pub async fn monitor_tallies(
        &self,
        page: &PageId,
        since: OffsetDateTime,
    ) -> Result<Vec<(MonitorId, Tally)>> {
        const SQL: &str =
            "select m.monitor_id, count(*) as total, cast(coalesce(sum(e.ok), 0) as bigint) as ok
            from monitor_events e join monitors m on m.monitor_id = e.monitor_id
            where m.page_id = $1 and e.checked_at >= $2 group by m.monitor_id";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .bind(to_millis(since))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    MonitorId::from_db(row::text(r, "monitor_id")?),
                    Tally {
                        total: row::int(r, "total")?,
                        ok: row::int(r, "ok")?,
                    },
                ))
            })
            .collect()
    }

    /// Checks and successes per component and UTC day (days since the epoch) since `since`, over the
    /// monitors linked to each component.
    pub async fn component_daily_tallies(
        &self,
        page: &PageId,
        since: OffsetDateTime,
    ) -> Result<Vec<(ComponentId, i64, Tally)>> {
        const SQL: &str =
            "select m.component_id, e.checked_at / 86400000 as day, count(*) as total,
            cast(coalesce(sum(e.ok), 0) as bigint) as ok
            from monitor_events e join monitors m on m.monitor_id = e.monitor_id
            where m.page_id = $1 and m.component_id is not null and e.checked_at >= $2
            group by m.component_id, e.checked_at / 86400000";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .bind(to_millis(since))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    ComponentId::from_db(row::text(r, "component_id")?),
                    row::int(r, "day")?,
                    Tally {
                        total: row::int(r, "total")?,
                        ok: row::int(r, "ok")?,
                    },
                ))
            })
            .collect()
    }

    pub async fn spans_since(&self, page: &PageId, since: OffsetDateTime) -> Result<Spans> {
        const INCIDENTS: &str =
            "select started_at, resolved_at from incidents where page_id = $1 and draft = 0 and started_at >= $2";
        const MAINTENANCES: &str = "select starts_at, ends_at from maintenances
            where page_id = $1 and draft = 0 and ends_at >= $2 and state <> 'cancelled'";
        let since = to_millis(since);
        let mut spans = Spans::default();
        for r in sqlx::query(INCIDENTS)
            .bind(page.as_str())
            .bind(since)
            .fetch_all(&self.pool)
            .await?
        {
            let resolved: Option<i64> = sqlx::Row::try_get(&r, "resolved_at")?;
            spans
                .incidents
                .push((row::int(&r, "started_at")?, resolved));
        }
        for r in sqlx::query(MAINTENANCES)
            .bind(page.as_str())
            .bind(since)
            .fetch_all(&self.pool)
            .await?
        {
            spans
                .maintenances
                .push((row::int(&r, "starts_at")?, row::int(&r, "ends_at")?));
        }
        Ok(spans)
    }
}
