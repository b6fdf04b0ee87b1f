//! Incidents, their updates and the components each update affects.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::{ComponentStatus, Incident, IncidentStage, IncidentUpdate};
use crate::ids::{ComponentId, IncidentId, IncidentUpdateId, PageId, UserId};

pub(super) const COLS: &str =
    "incident_id, page_id, title, stage, started_at, resolved_at, updated_at, draft, drafted_via";

pub(super) fn incident_from(r: &AnyRow) -> Result<Incident> {
    Ok(Incident {
        id: IncidentId::from_db(row::text(r, "incident_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        title: row::text(r, "title")?,
        stage: row::parsed(r, "stage", IncidentStage::parse)?,
        started_at: row::instant(r, "started_at")?,
        resolved_at: row::opt_instant(r, "resolved_at")?,
        updated_at: row::instant(r, "updated_at")?,
        draft: super::drafts::draft_from(r)?,
    })
}

fn update_from(r: &AnyRow) -> Result<IncidentUpdate> {
    Ok(IncidentUpdate {
        id: IncidentUpdateId::from_db(row::text(r, "update_id")?),
        incident_id: IncidentId::from_db(row::text(r, "incident_id")?),
        stage: row::parsed(r, "stage", IncidentStage::parse)?,
        message: row::text(r, "message")?,
        notify: row::flag(r, "notify")?,
        created_at: row::instant(r, "created_at")?,
        affected: Vec::new(),
    })
}

impl Store {
    pub async fn insert_incident(
        &self,
        tx: &mut Tx,
        i: &Incident,
        by: Option<&UserId>,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into incidents (incident_id, page_id, title, stage, created_by, started_at, resolved_at, created_at, updated_at, draft, drafted_via)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)";
        sqlx::query(SQL)
            .bind(i.id.as_str())
            .bind(i.page_id.as_str())
            .bind(&i.title)
            .bind(i.stage.as_str())
            .bind(by.map(|u| u.as_str().to_owned()))
            .bind(to_millis(i.started_at))
            .bind(i.resolved_at.map(to_millis))
            .bind(to_millis(now))
            .bind(i64::from(i.draft.is_some()))
            .bind(i.draft.as_ref().map(|d| d.via.clone()))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Moves the incident to `stage`; `resolved_at` is set when it resolves and cleared when it reopens.
    pub async fn set_incident_stage(
        &self,
        tx: &mut Tx,
        id: &IncidentId,
        stage: IncidentStage,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "update incidents set stage = $1, resolved_at = $2, updated_at = $3 where incident_id = $4";
        let resolved_at = (stage == IncidentStage::Resolved).then(|| to_millis(now));
        sqlx::query(SQL)
            .bind(stage.as_str())
            .bind(resolved_at)
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn insert_incident_update(
        &self,
        tx: &mut Tx,
        u: &IncidentUpdate,
        by: Option<&UserId>,
    ) -> Result<()> {
        const SQL: &str = "insert into incident_updates (update_id, incident_id, stage, message, notify, created_by, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $7)";
        const AFFECTED: &str =
            "insert into incident_update_components (update_id, component_id, status) values ($1, $2, $3)";
        sqlx::query(SQL)
            .bind(u.id.as_str())
            .bind(u.incident_id.as_str())
            .bind(u.stage.as_str())
            .bind(&u.message)
            .bind(i64::from(u.notify))
            .bind(by.map(|u| u.as_str().to_owned()))
            .bind(to_millis(u.created_at))
            .execute(&mut **tx)
            .await?;
        for (component, status) in &u.affected {
            sqlx::query(AFFECTED)
                .bind(u.id.as_str())
                .bind(component.as_str())
                .bind(status.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn incident(&self, id: &IncidentId) -> Result<Incident> {
        let sql = format!("select {COLS} from incidents where incident_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        incident_from(&r)
    }

    /// Open published incidents, newest first (a page has few; the public page reads a bounded list).
    pub async fn active_incidents(&self, page: &PageId) -> Result<Vec<Incident>> {
        self.open_incidents(page, i64::MAX).await
    }

    /// At most `limit` open published incidents, newest first.
    pub async fn open_incidents(&self, page: &PageId, limit: i64) -> Result<Vec<Incident>> {
        let sql = format!(
            "select {COLS} from incidents where page_id = $1 and draft = 0 and resolved_at is null
             order by started_at desc, incident_id limit $2"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Every status the page's open published incidents have given a component, each once (at most
    /// five rows): what the page's indicator weighs besides the components themselves.
    pub async fn open_incident_statuses(&self, page: &PageId) -> Result<Vec<ComponentStatus>> {
        const SQL: &str = "select distinct c.status from incident_update_components c
            join incident_updates u on u.update_id = c.update_id
            join incidents i on i.incident_id = u.incident_id
            where i.page_id = $1 and i.draft = 0 and i.resolved_at is null";
        let rows = sqlx::query(SQL)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| row::parsed(r, "status", ComponentStatus::parse))
            .collect()
    }

    /// Published incidents resolved at or after `since`, most recently resolved first, starting after
    /// the cursor `after` (the last one of a previous page: its resolution time and id).
    pub async fn resolved_incidents_page(
        &self,
        page: &PageId,
        since: OffsetDateTime,
        after: Option<(OffsetDateTime, &IncidentId)>,
        limit: i64,
    ) -> Result<Vec<Incident>> {
        let sql = format!(
            "select {COLS} from incidents where page_id = $1 and draft = 0
             and resolved_at is not null and resolved_at >= $2
             and (resolved_at < $3 or (resolved_at = $3 and incident_id > $4))
             order by resolved_at desc, incident_id limit $5"
        );
        let (at, id) = match after {
            Some((at, id)) => (to_millis(at), id.as_str()),
            None => (i64::MAX, ""),
        };
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(to_millis(since))
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(incident_from).collect()
    }

    /// Resolved published incidents, most recently resolved first.
    pub async fn resolved_incidents(&self, page: &PageId, limit: i64) -> Result<Vec<Incident>> {
        self.resolved_incidents_page(page, crate::clock::from_millis(0), None, limit)
            .await
    }

    /// Updates of an incident, newest first, each with the components it affected.
    pub async fn incident_updates(
        &self,
        id: &IncidentId,
        limit: i64,
    ) -> Result<Vec<IncidentUpdate>> {
        const SQL: &str = "select update_id, incident_id, stage, message, notify, created_at from incident_updates
            where incident_id = $1 order by created_at desc, update_id desc limit $2";
        const AFFECTED: &str =
            "select c.update_id, c.component_id, c.status from incident_update_components c
            join incident_updates u on u.update_id = c.update_id where u.incident_id = $1";
        let rows = sqlx::query(SQL)
            .bind(id.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut updates: Vec<IncidentUpdate> =
            rows.iter().map(update_from).collect::<Result<_>>()?;
        let affected = sqlx::query(AFFECTED)
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        for r in &affected {
            let update_id = row::text(r, "update_id")?;
            if let Some(u) = updates.iter_mut().find(|u| u.id.as_str() == update_id) {
                u.affected.push((
                    ComponentId::from_db(row::text(r, "component_id")?),
                    row::parsed(r, "status", ComponentStatus::parse)?,
                ));
            }
        }
        Ok(updates)
    }

    /// Components affected by any update of the incident, with their latest stated status.
    pub async fn incident_components(&self, id: &IncidentId) -> Result<Vec<ComponentId>> {
        const SQL: &str = "select distinct c.component_id from incident_update_components c
            join incident_updates u on u.update_id = c.update_id where u.incident_id = $1";
        let rows = sqlx::query(SQL)
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(ComponentId::from_db(row::text(r, "component_id")?)))
            .collect()
    }

    /// The incidents a public feed shows: every open one plus the `limit` most recently started,
    /// published only, newest start first, each with its `created_at`.
    pub async fn feed_incidents(
        &self,
        page: &PageId,
        limit: i64,
    ) -> Result<Vec<(Incident, OffsetDateTime)>> {
        let sql = format!(
            "select {COLS}, created_at from incidents i where {FEED_SET} order by started_at desc, incident_id"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((incident_from(r)?, row::instant(r, "created_at")?)))
            .collect()
    }

    /// Updates of the incidents [`Store::feed_incidents`] picks (at most `cap`, newest first), each
    /// with the components it affected and its `updated_at` (a correction moves it).
    pub async fn feed_incident_updates(
        &self,
        page: &PageId,
        limit: i64,
        cap: i64,
    ) -> Result<Vec<(IncidentUpdate, OffsetDateTime)>> {
        let sql = format!(
            "select u.update_id, u.incident_id, u.stage, u.message, u.notify, u.created_at, u.updated_at
             from incident_updates u join incidents i on i.incident_id = u.incident_id
             where {FEED_SET} order by u.created_at desc, u.update_id desc limit $3"
        );
        let affected_sql = format!(
            "select c.update_id, c.component_id, c.status from incident_update_components c
             join incident_updates u on u.update_id = c.update_id
             join incidents i on i.incident_id = u.incident_id
             where {FEED_SET} order by c.update_id, c.component_id"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .bind(limit)
            .bind(cap)
            .fetch_all(&self.pool)
            .await?;
        let mut updates = rows
            .iter()
            .map(|r| Ok((update_from(r)?, row::instant(r, "updated_at")?)))
            .collect::<Result<Vec<_>>>()?;
        let affected = sqlx::query(&affected_sql)
            .bind(page.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let by_id: std::collections::HashMap<String, usize> = updates
            .iter()
            .enumerate()
            .map(|(n, (u, _))| (u.id.as_str().to_owned(), n))
            .collect();
        for r in &affected {
            let update_id = row::text(r, "update_id")?;
            if let Some(&n) = by_id.get(&update_id) {
                if let Some((u, _)) = updates.get_mut(n) {
                    u.affected.push((
                        ComponentId::from_db(row::text(r, "component_id")?),
                        row::parsed(r, "status", ComponentStatus::parse)?,
                    ));
                }
            }
        }
        Ok(updates)
    }
}

/// Which incidents a public feed covers, for a query aliasing `incidents` as `i` with `$1` the page
/// and `$2` how many recent ones: open ones always, so a long list of old ones cannot hide them.
const FEED_SET: &str =
    "i.page_id = $1 and i.draft = 0 and (i.resolved_at is null or i.incident_id in
    (select incident_id from incidents where page_id = $1 and draft = 0
     order by started_at desc, incident_id limit $2))";
