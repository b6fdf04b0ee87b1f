//! Pages and their component hierarchy.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, StoreError, Tx};
use crate::clock::to_millis;
use crate::domain::{Branding, Component, ComponentKind, ComponentStatus, Page};
use crate::ids::{ComponentId, OrgId, PageId};

const PAGE_COLS: &str = "page_id, org_id, slug, public_slug, name, description, published, time_zone, logo_url, accent_color, support_url";
const COMPONENT_COLS: &str =
    "component_id, page_id, parent_id, kind, name, description, status, position";

fn page_from(r: &AnyRow) -> Result<Page> {
    Ok(Page {
        id: PageId::from_db(row::text(r, "page_id")?),
        org_id: OrgId::from_db(row::text(r, "org_id")?),
        slug: row::text(r, "slug")?,
        public_slug: row::text(r, "public_slug")?,
        name: row::text(r, "name")?,
        description: row::text(r, "description")?,
        published: row::flag(r, "published")?,
        time_zone: row::text(r, "time_zone")?,
        branding: Branding {
            logo_url: row::text(r, "logo_url")?,
            accent_color: row::text(r, "accent_color")?,
            support_url: row::text(r, "support_url")?,
        },
    })
}

fn component_from(r: &AnyRow) -> Result<Component> {
    Ok(Component {
        id: ComponentId::from_db(row::text(r, "component_id")?),
        page_id: PageId::from_db(row::text(r, "page_id")?),
        parent_id: row::opt_text(r, "parent_id")?.map(ComponentId::from_db),
        kind: row::parsed(r, "kind", ComponentKind::parse)?,
        name: row::text(r, "name")?,
        description: row::text(r, "description")?,
        status: row::parsed(r, "status", ComponentStatus::parse)?,
        position: row::int(r, "position")?,
    })
}

impl Store {
    pub async fn insert_page(&self, tx: &mut Tx, page: &Page, now: OffsetDateTime) -> Result<()> {
        const SQL: &str = "insert into pages (page_id, org_id, slug, public_slug, name, description, published, time_zone, logo_url, accent_color, support_url, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)";
        sqlx::query(SQL)
            .bind(page.id.as_str())
            .bind(page.org_id.as_str())
            .bind(&page.slug)
            .bind(&page.public_slug)
            .bind(&page.name)
            .bind(&page.description)
            .bind(i64::from(page.published))
            .bind(&page.time_zone)
            .bind(&page.branding.logo_url)
            .bind(&page.branding.accent_color)
            .bind(&page.branding.support_url)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Saves everything of a page but its id, organisation and slug. A public slug another page
    /// holds is a conflict.
    pub async fn update_page(&self, tx: &mut Tx, page: &Page, now: OffsetDateTime) -> Result<()> {
        const SQL: &str =
            "update pages set public_slug = $2, name = $3, description = $4, published = $5,
            time_zone = $6, logo_url = $7, accent_color = $8, support_url = $9, updated_at = $10
            where page_id = $1";
        let done = sqlx::query(SQL)
            .bind(page.id.as_str())
            .bind(&page.public_slug)
            .bind(&page.name)
            .bind(&page.description)
            .bind(i64::from(page.published))
            .bind(&page.time_zone)
            .bind(&page.branding.logo_url)
            .bind(&page.branding.accent_color)
            .bind(&page.branding.support_url)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a page; its components, incidents, maintenances, monitors, subscribers and their
    /// notifications go with it (foreign keys cascade).
    pub async fn delete_page(&self, tx: &mut Tx, id: &PageId) -> Result<()> {
        let done = sqlx::query("delete from pages where page_id = $1")
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn component(&self, id: &ComponentId) -> Result<Component> {
        let sql = format!("select {COMPONENT_COLS} from components where component_id = $1");
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        component_from(&r)
    }

    /// Saves a component's parent, name, description and position.
    pub async fn update_component(
        &self,
        tx: &mut Tx,
        c: &Component,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "update components set parent_id = $2, name = $3, description = $4, position = $5,
            updated_at = $6 where component_id = $1";
        sqlx::query(SQL)
            .bind(c.id.as_str())
            .bind(c.parent_id.as_ref().map(|p| p.as_str().to_owned()))
            .bind(&c.name)
            .bind(&c.description)
            .bind(c.position)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Deletes a component (a group takes its children with it).
    pub async fn delete_component(&self, tx: &mut Tx, id: &ComponentId) -> Result<()> {
        sqlx::query("delete from components where component_id = $1")
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// How many open incidents and not-yet-finished maintenances name any of `ids`.
    pub async fn open_work_naming(&self, ids: &[ComponentId]) -> Result<i64> {
        const INCIDENTS: &str = "select count(distinct i.incident_id) as n from incidents i
            join incident_updates u on u.incident_id = i.incident_id
            join incident_update_components c on c.update_id = u.update_id
            where i.resolved_at is null and c.component_id = $1";
        const MAINTENANCES: &str = "select count(*) as n from maintenances m
            join maintenance_components c on c.maintenance_id = m.maintenance_id
            where m.state in ('scheduled', 'in_progress') and c.component_id = $1";
        let mut n = 0;
        for id in ids {
            for sql in [INCIDENTS, MAINTENANCES] {
                let r = sqlx::query(sql)
                    .bind(id.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                n += row::int(&r, "n")?;
            }
        }
        Ok(n)
    }

    pub async fn page(&self, id: &PageId) -> Result<Page> {
        let sql = format!("select {PAGE_COLS} from pages where page_id = $1");
        let at = self.cache.generation();
        if let Some(p) = self.cache.pages.get(id.as_str(), at) {
            return Ok(p);
        }
        let r = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await?;
        let page = page_from(&r)?;
        self.cache
            .pages
            .put(id.as_str().to_owned(), page.clone(), at, &self.cache);
        Ok(page)
    }

    pub async fn page_by_public_slug(&self, slug: &str) -> Result<Page> {
        let sql = format!("select {PAGE_COLS} from pages where public_slug = $1");
        let r = sqlx::query(&sql).bind(slug).fetch_one(&self.pool).await?;
        page_from(&r)
    }

    /// Published pages of every organisation, by name, at most `limit`: what `/` lists.
    pub async fn published_pages(&self, limit: i64) -> Result<Vec<Page>> {
        let sql = format!(
            "select {PAGE_COLS} from pages where published = 1 order by name, page_id limit $1"
        );
        let rows = sqlx::query(&sql).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(page_from).collect()
    }

    pub async fn page_by_slug(&self, org: &OrgId, slug: &str) -> Result<Page> {
        let sql = format!("select {PAGE_COLS} from pages where org_id = $1 and slug = $2");
        let r = sqlx::query(&sql)
            .bind(org.as_str())
            .bind(slug)
            .fetch_one(&self.pool)
            .await?;
        page_from(&r)
    }

    pub async fn pages_of_org(&self, org: &OrgId) -> Result<Vec<Page>> {
        let sql = format!("select {PAGE_COLS} from pages where org_id = $1 order by name, page_id");
        let at = self.cache.generation();
        if let Some(list) = self.cache.pages_of_org.get(org.as_str(), at) {
            return Ok(list);
        }
        let rows = sqlx::query(&sql)
            .bind(org.as_str())
            .fetch_all(&self.pool)
            .await?;
        let list = rows.iter().map(page_from).collect::<Result<Vec<_>>>()?;
        self.cache
            .pages_of_org
            .put(org.as_str().to_owned(), list.clone(), at, &self.cache);
        Ok(list)
    }

    pub async fn insert_component(
        &self,
        tx: &mut Tx,
        c: &Component,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "insert into components (component_id, page_id, parent_id, kind, name, description, status, position, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
        sqlx::query(SQL)
            .bind(c.id.as_str())
            .bind(c.page_id.as_str())
            .bind(c.parent_id.as_ref().map(|p| p.as_str().to_owned()))
            .bind(c.kind.as_str())
            .bind(&c.name)
            .bind(&c.description)
            .bind(c.status.as_str())
            .bind(c.position)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// A page's components in display order, each with when it was created and last changed (the
    /// public machine-readable status reports both; the cached list above does not carry them).
    pub async fn stamped_components(
        &self,
        page: &PageId,
    ) -> Result<Vec<(Component, OffsetDateTime, OffsetDateTime)>> {
        let sql = format!(
            "select {COMPONENT_COLS}, created_at, updated_at from components where page_id = $1 order by position, name"
        );
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    component_from(r)?,
                    row::instant(r, "created_at")?,
                    row::instant(r, "updated_at")?,
                ))
            })
            .collect()
    }

    /// When the page's own settings last changed.
    pub async fn page_updated_at(&self, page: &PageId) -> Result<OffsetDateTime> {
        const SQL: &str = "select updated_at from pages where page_id = $1";
        let r = sqlx::query(SQL)
            .bind(page.as_str())
            .fetch_one(&self.pool)
            .await?;
        row::instant(&r, "updated_at")
    }

    /// Components in display order: by position, groups before their children.
    pub async fn components(&self, page: &PageId) -> Result<Vec<Component>> {
        let sql = format!(
            "select {COMPONENT_COLS} from components where page_id = $1 order by position, name"
        );
        let at = self.cache.generation();
        if let Some(list) = self.cache.components.get(page.as_str(), at) {
            return Ok(list);
        }
        let rows = sqlx::query(&sql)
            .bind(page.as_str())
            .fetch_all(&self.pool)
            .await?;
        let list = rows
            .iter()
            .map(component_from)
            .collect::<Result<Vec<_>>>()?;
        self.cache
            .components
            .put(page.as_str().to_owned(), list.clone(), at, &self.cache);
        Ok(list)
    }

    pub async fn set_component_status(
        &self,
        tx: &mut Tx,
        id: &ComponentId,
        status: ComponentStatus,
        now: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "update components set status = $1, updated_at = $2 where component_id = $3";
        sqlx::query(SQL)
            .bind(status.as_str())
            .bind(to_millis(now))
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
