//! Pages and their component hierarchy.

use time::OffsetDateTime;

use super::{row, AnyRow, Result, Store, Tx};
use crate::clock::to_millis;
use crate::domain::{Component, ComponentKind, ComponentStatus, Page};
use crate::ids::{ComponentId, OrgId, PageId};

const PAGE_COLS: &str = "page_id, org_id, slug, public_slug, name, description";
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
        const SQL: &str = "insert into pages (page_id, org_id, slug, public_slug, name, description, created_at, updated_at)
            values ($1, $2, $3, $4, $5, $6, $7, $7)";
        sqlx::query(SQL)
            .bind(page.id.as_str())
            .bind(page.org_id.as_str())
            .bind(&page.slug)
            .bind(&page.public_slug)
            .bind(&page.name)
            .bind(&page.description)
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
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
