//! Monitors, their groups and events, and the compare-and-set claim that runs each due check once.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::monitor::{
    HttpMethod, Monitor, MonitorEvent, MonitorGroup, MonitorSpec, Trigger,
};
use crate::ids::{ComponentId, MonitorEventId, MonitorGroupId, MonitorId, PageId};

const COLS: &str =
    "monitor_id, page_id, group_id, component_id, name, method, url, expect_min, expect_max,
    body_contains, timeout_ms, interval_secs, enabled, next_run_at, consecutive_failures, last_ok";

fn monitor_from(r: &AnyRow) -> Result<Monitor> {
    let last_ok: Option<i64> = sqlx::Row::try_get(r, "last_ok")?;
    Ok(Monitor {
        id: MonitorId::from_db(row::text(r, "monitor_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        spec: MonitorSpec {
            name: row::text(r, "name")?,
            method: row::parsed(r, "method", HttpMethod::parse)?,
            url: row::text(r, "url")?,
            expect_min: row::int(r, "expect_min")?,
            expect_max: row::int(r, "expect_max")?,
            body_contains: row::opt_text(r, "body_contains")?,
            timeout_ms: row::int(r, "timeout_ms")?,
            interval_secs: row::int(r, "interval_secs")?,
            enabled: row::flag(r, "enabled")?,
            component_id: row::opt_text(r, "component_id")?.map(ComponentId::from_db),
            group_id: row::opt_text(r, "group_id")?.map(MonitorGroupId::from_db),
        },
        next_run_at: row::instant(r, "next_run_at")?,
        consecutive_failures: row::int(r, "consecutive_failures")?,
        last_ok: last_ok.map(|v| v != 0),
    })
}

fn event_from(r: &AnyRow) -> Result<MonitorEvent> {
    Ok(MonitorEvent {
        id: MonitorEventId::from_db(row::text(r, "event_id")?),
        monitor_id: MonitorId::from_db(row::text(r, "monitor_id")?),
        checked_at: row::instant(r, "checked_at")?,
        ok: row::flag(r, "ok")?,
        latency_ms: row::int(r, "latency_ms")?,
        status_code: sqlx::Row::try_get(r, "status_code")?,
        error: row::opt_text(r, "error")?,
        trigger: row::parsed(r, "trigger", Trigger::parse)?,
    })
}

impl Store {
    pub async fn insert_monitor(
        &self,
        tx: &mut Tx,
        id: &MonitorId,
        page: &PageId,
        s: &MonitorSpec,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into monitors (monitor_id, page_id, group_id, component_id, name, method, url,
            expect_min, expect_max, body_contains, timeout_ms, interval_secs, enabled, next_run_at,
            consecutive_failures, last_ok, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, null, $14, $14)";
        sqlx::query(SQL)
            .bind(id.as_str())
            .bind(page.as_str())
            .bind(s.group_id.as_ref().map(|g| g.as_str().to_owned()))
            .bind(s.component_id.as_ref().map(|c| c.as_str().to_owned()))
            .bind(&s.name)
            .bind(s.method.as_str())
            .bind(&s.url)
            .bind(s.expect_min)
            .bind(s.expect_max)
            .bind(s.body_contains.clone())
            .bind(s.timeout_ms)
            .bind(s.interval_secs)
            .bind(i64::from(s.enabled))
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn update_monitor(
        &self,
        tx: &mut Tx,
        id: &MonitorId,
        s: &MonitorSpec,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "update monitors set group_id = $2, component_id = $3, name = $4, method = $5,
            url = $6, expect_min = $7, expect_max = $8, body_contains = $9, timeout_ms = $10,
            interval_secs = $11, enabled = $12, updated_at = $13 where monitor_id = $1";
        let done = sqlx::query(SQL)
            .bind(id.as_str())
            .bind(s.group_id.as_ref().map(|g| g.as_str().to_owned()))
            .bind(s.component_id.as_ref().map(|c| c.as_str().to_owned()))
            .bind(&s.name)
            .bind(s.method.as_str())
            .bind(&s.url)
            .bind(s.expect_min)
            .bind(s.expect_max)
            .bind(s.body_contains.clone())
            .bind(s.timeout_ms)
            .bind(s.interval_secs)
            .bind(i64::from(s.enabled))
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(super::StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_monitor(&self, tx: &mut Tx, id: &MonitorId) -> Result<()> {
        sqlx::query("delete from monitors where monitor_id = $1")
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn monitor(&self, id: &MonitorId) -> Result<Monitor> {
        let sql = format!("select {COLS} from monitors where monitor_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        monitor_from(&r)
    }

    pub async fn monitors_of_page(&self, page: &PageId) -> Result<Vec<Monitor>> {
        let sql =
            format!("select {COLS} from monitors where page_id = $1 order by name, monitor_id");
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(monitor_from).collect()
    }

    /// Enabled monitors whose run is due, oldest first.
    pub async fn due_monitors(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<Monitor>> {
        let sql = format!(
            "select {COLS} from monitors where enabled = 1 and next_run_at <= $1
             order by next_run_at, monitor_id limit $2"
        );
        let rows = sqlx::query(&sql)
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(monitor_from).collect()
    }

    /// Claims one due run: moves `next_run_at` from the value we read to `next`. Only one instance can
    /// win this compare-and-set for a given interval, on either engine.
    pub async fn claim_monitor_run(
        &self,
        id: &MonitorId,
        seen_next_run_at: OffsetDateTime,
        next: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str =
            "update monitors set next_run_at = $1 where monitor_id = $2 and next_run_at = $3 and enabled = 1";
        let done = sqlx::query(SQL)
            .bind(to_millis(next))
            .bind(id.as_str())
            .bind(to_millis(seen_next_run_at))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a run and moves the failure streak; returns the streak as it was before this run.
    pub async fn record_monitor_event(&self, tx: &mut Tx, e: &MonitorEvent) -> Result<i64> {
        const INSERT: &str = "insert into monitor_events (event_id, monitor_id, checked_at, ok, latency_ms,
            status_code, error, trigger, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $3, $3)";
        const STREAK: &str = "select consecutive_failures from monitors where monitor_id = $1";
        const UPDATE: &str =
            "update monitors set consecutive_failures = $1, last_ok = $2, updated_at = $3
            where monitor_id = $4";
        // Write first: on SQLite a transaction that reads before writing cannot wait for the lock.
        sqlx::query(INSERT)
            .bind(e.id.as_str())
            .bind(e.monitor_id.as_str())
            .bind(to_millis(e.checked_at))
            .bind(i64::from(e.ok))
            .bind(e.latency_ms)
            .bind(e.status_code)
            .bind(e.error.clone())
            .bind(e.trigger.as_str())
            .execute(&mut **tx)
            .await?;
        // Lock the monitor row so concurrent runs of one monitor count the streak one after the other.
        sqlx::query("update monitors set updated_at = $1 where monitor_id = $2")
            .bind(to_millis(e.checked_at))
            .bind(e.monitor_id.as_str())
            .execute(&mut **tx)
            .await?;
        let before = row::int(
            &sqlx::query(STREAK)
                .bind(e.monitor_id.as_str())
                .fetch_one(&mut **tx)
                .await?,
            "consecutive_failures",
        )?;
        let streak = if e.ok { 0 } else { before + 1 };
        sqlx::query(UPDATE)
            .bind(streak)
            .bind(i64::from(e.ok))
            .bind(to_millis(e.checked_at))
            .bind(e.monitor_id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(before)
    }

    /// Events of a monitor, newest first.
    pub async fn monitor_events(&self, id: &MonitorId, limit: i64) -> Result<Vec<MonitorEvent>> {
        const SQL: &str = "select event_id, monitor_id, checked_at, ok, latency_ms, status_code, error, trigger
            from monitor_events where monitor_id = $1 order by checked_at desc, event_id desc limit $2";
        let rows = sqlx::query(SQL)
            .bind(id.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from).collect()
    }

    /// Failed runs of every monitor of a page, newest first.
    pub async fn recent_failures(&self, page: &PageId, limit: i64) -> Result<Vec<MonitorEvent>> {
        const SQL: &str = "select e.event_id, e.monitor_id, e.checked_at, e.ok, e.latency_ms, e.status_code, e.error, e.trigger
            from monitor_events e join monitors m on m.monitor_id = e.monitor_id
            where m.page_id = $1 and e.ok = 0 order by e.checked_at desc, e.event_id desc limit $2";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from).collect()
    }

    /// Deletes events checked before `cutoff`; returns how many went.
    pub async fn prune_monitor_events(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("delete from monitor_events where checked_at < $1")
            .bind(to_millis(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn insert_monitor_group(
        &self,
        tx: &mut Tx,
        g: &MonitorGroup,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "insert into monitor_groups (group_id, page_id, name, created_at, updated_at)
            values ($1, $2, $3, $4, $4)";
        sqlx::query(SQL)
            .bind(g.id.as_str())
            .bind(g.page_id.as_str())
            .bind(&g.name)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn monitor_groups(&self, page: &PageId) -> Result<Vec<MonitorGroup>> {
        const SQL: &str =
            "select group_id, page_id, name from monitor_groups where page_id = $1 order by name";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MonitorGroup {
                    id: MonitorGroupId::from_db(row::text(r, "group_id")?),
                    page_id: PageId::from_db(row::text(r, "page_id")?),
                    name: row::text(r, "name")?,
                })
            })
            .collect()
    }
}
