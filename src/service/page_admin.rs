//! Running a status page: creating, editing, publishing and deleting pages, and their components.
//! Pages and components are managed by admins and owners (and their write keys); setting a
//! component's status by hand is incident work, open to editors too. Every change is audited and
//! none notifies a subscriber.

use serde_json::json;

use super::{NotFoundAs, Principal, Result, ServiceError, Services};
use crate::domain::page::{accent_color, description, https_link};
use crate::domain::{
    Branding, Component, ComponentKind, ComponentStatus, DomainError, Name, Page, Permission, Slug,
};
use crate::ids::{ComponentId, OrgId, PageId};
use crate::store::StoreError;

/// A page to create. `public_slug` defaults to `slug`.
#[derive(Clone, Debug, Default)]
pub struct NewPage {
    pub name: String,
    pub slug: String,
    pub public_slug: Option<String>,
    pub description: String,
    pub published: bool,
}

/// Changes to a page; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct PageEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub public_slug: Option<String>,
    pub time_zone: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
    pub support_url: Option<String>,
    pub published: Option<bool>,
}

/// A component or group to add. A component may sit in a group (`parent_id`); groups sit at the top.
#[derive(Clone, Debug)]
pub struct NewComponentInput {
    pub name: String,
    pub description: String,
    pub parent_id: Option<ComponentId>,
    pub group: bool,
}

/// Changes to a component; `parent_id: Some(None)` moves it out of its group.
#[derive(Clone, Debug, Default)]
pub struct ComponentEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub position: Option<i64>,
    pub parent_id: Option<Option<ComponentId>>,
}

/// The furthest position a component may be given; positions order components on the page.
pub const MAX_POSITION: i64 = 10_000;

/// Checks an IANA time zone name against the bundled time zone database.
pub fn time_zone(raw: &str) -> std::result::Result<String, DomainError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 64 || jiff::tz::TimeZone::get(name).is_err() {
        return Err(DomainError::invalid(
            "time_zone",
            "must be an IANA time zone name such as UTC or Europe/Berlin",
        ));
    }
    Ok(name.to_owned())
}

fn conflict_on_slug(e: StoreError, page: &Page) -> ServiceError {
    match e {
        StoreError::Conflict => ServiceError::Conflict(format!(
            "a page with slug {} or public slug {} already exists",
            page.slug, page.public_slug
        )),
        other => ServiceError::Internal(other),
    }
}

impl Services {
    /// Creates an empty page in `org`.
    pub async fn new_page(&self, who: &Principal, org: &OrgId, new: NewPage) -> Result<Page> {
        self.require(who, org, Permission::PageManage, "organisation")
            .await?;
        let slug = Slug::parse("slug", &new.slug)?.as_str().to_owned();
        let public_slug = match new.public_slug.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => Slug::parse("public_slug", p)?.as_str().to_owned(),
            _ => slug.clone(),
        };
        let page = Page {
            id: PageId::generate(),
            org_id: org.clone(),
            slug,
            public_slug,
            name: Name::parse("name", &new.name)?.into_inner(),
            description: description("description", &new.description)?,
            published: new.published,
            time_zone: "UTC".into(),
            branding: Branding::default(),
        };
        let mut tx = self.store.begin().await?;
        let now = self.clock.now();
        self.store
            .insert_page(&mut tx, &page, now)
            .await
            .map_err(|e| conflict_on_slug(e, &page))?;
        let detail = json!({ "slug": page.slug, "public_slug": page.public_slug, "published": page.published });
        self.audit(
            &mut tx,
            who,
            org,
            "page.created",
            ("page", page.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(page)
    }

    /// Applies `edit` to a page; every value is checked before anything is written.
    pub async fn edit_page(&self, who: &Principal, id: &PageId, edit: PageEdit) -> Result<Page> {
        let mut page = self.page_for(who, id, Permission::PageManage).await?;
        if let Some(v) = &edit.name {
            page.name = Name::parse("name", v)?.into_inner();
        }
        if let Some(v) = &edit.description {
            page.description = description("description", v)?;
        }
        if let Some(v) = &edit.public_slug {
            page.public_slug = Slug::parse("public_slug", v)?.as_str().to_owned();
        }
        if let Some(v) = &edit.time_zone {
            page.time_zone = time_zone(v)?;
        }
        if let Some(v) = &edit.logo_url {
            page.branding.logo_url = https_link("logo_url", v)?;
        }
        if let Some(v) = &edit.accent_color {
            page.branding.accent_color = accent_color(v)?;
        }
        if let Some(v) = &edit.support_url {
            page.branding.support_url = https_link("support_url", v)?;
        }
        if let Some(v) = edit.published {
            page.published = v;
        }
        let mut tx = self.store.begin().await?;
        self.store
            .update_page(&mut tx, &page, self.clock.now())
            .await
            .map_err(|e| conflict_on_slug(e, &page))?;
        let detail = json!({
            "name": page.name, "public_slug": page.public_slug, "published": page.published,
            "time_zone": page.time_zone,
        });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "page.updated",
            ("page", page.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(page)
    }

    /// Deletes a page with everything on it. From the admin pages `confirm` must repeat the page's
    /// slug (a typed confirmation, so a mis-click cannot do it); the REST API passes `None`.
    pub async fn delete_page(
        &self,
        who: &Principal,
        id: &PageId,
        confirm: Option<&str>,
    ) -> Result<()> {
        let page = self.page_for(who, id, Permission::PageManage).await?;
        if confirm.is_some_and(|typed| typed.trim() != page.slug) {
            return Err(DomainError::invalid(
                "confirm",
                format!("type the page's slug ({}) to delete it", page.slug),
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        self.store
            .delete_page(&mut tx, id)
            .await
            .or_not_found("page")?;
        let detail = json!({ "slug": page.slug, "name": page.name });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "page.deleted",
            ("page", page.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Adds a component (or a group) at the end of its page or group.
    pub async fn add_component(
        &self,
        who: &Principal,
        page_id: &PageId,
        new: NewComponentInput,
    ) -> Result<Component> {
        let page = self.page_for(who, page_id, Permission::PageManage).await?;
        let existing = self.store.components(page_id).await?;
        if new.group && new.parent_id.is_some() {
            return Err(
                DomainError::invalid("parent_id", "a group cannot sit inside a group").into(),
            );
        }
        if let Some(parent) = &new.parent_id {
            check_parent(&existing, parent, None)?;
        }
        let position = existing
            .iter()
            .filter(|c| c.parent_id == new.parent_id)
            .map(|c| c.position + 1)
            .max()
            .unwrap_or(0);
        let c = Component {
            id: ComponentId::generate(),
            page_id: page.id.clone(),
            parent_id: new.parent_id,
            kind: if new.group {
                ComponentKind::Group
            } else {
                ComponentKind::Component
            },
            name: Name::parse("name", &new.name)?.into_inner(),
            description: description("description", &new.description)?,
            status: ComponentStatus::Operational,
            position,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .insert_component(&mut tx, &c, self.clock.now())
            .await?;
        let detail = json!({ "name": c.name, "kind": c.kind.as_str(), "page": page.id });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "component.created",
            ("component", c.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(c)
    }

    /// One component, for anyone who may read its page.
    pub async fn component(&self, who: &Principal, id: &ComponentId) -> Result<Component> {
        Ok(self.component_for(who, id, Permission::PageRead).await?.1)
    }

    /// The component with its page, checked for `what`.
    async fn component_for(
        &self,
        who: &Principal,
        id: &ComponentId,
        what: Permission,
    ) -> Result<(Page, Component)> {
        let c = self.store.component(id).await.or_not_found("component")?;
        let page = self
            .page_for(who, &c.page_id, what)
            .await
            .map_err(|e| match e {
                ServiceError::NotFound(_) => ServiceError::NotFound("component"),
                other => other,
            })?;
        Ok((page, c))
    }

    /// Renames, describes, reorders or regroups a component.
    pub async fn edit_component(
        &self,
        who: &Principal,
        id: &ComponentId,
        edit: ComponentEdit,
    ) -> Result<Component> {
        let (page, mut c) = self.component_for(who, id, Permission::PageManage).await?;
        if let Some(v) = &edit.name {
            c.name = Name::parse("name", v)?.into_inner();
        }
        if let Some(v) = &edit.description {
            c.description = description("description", v)?;
        }
        if let Some(p) = edit.position {
            if !(0..=MAX_POSITION).contains(&p) {
                return Err(DomainError::invalid(
                    "position",
                    format!("must be a whole number from 0 to {MAX_POSITION}"),
                )
                .into());
            }
            c.position = p;
        }
        if let Some(parent) = edit.parent_id {
            if let Some(p) = &parent {
                if c.kind == ComponentKind::Group {
                    return Err(DomainError::invalid(
                        "parent_id",
                        "a group cannot sit inside a group",
                    )
                    .into());
                }
                let existing = self.store.components(&page.id).await?;
                check_parent(&existing, p, Some(&c.id))?;
            }
            c.parent_id = parent;
        }
        let mut tx = self.store.begin().await?;
        self.store
            .update_component(&mut tx, &c, self.clock.now())
            .await?;
        let detail = json!({ "name": c.name, "position": c.position, "parent_id": c.parent_id });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "component.updated",
            ("component", c.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(c)
    }

    /// Sets a component's status by hand: shown at once on the public page, audited, and no
    /// subscriber is told (an incident update is the way to tell them).
    pub async fn set_component_status_by_hand(
        &self,
        who: &Principal,
        id: &ComponentId,
        status: ComponentStatus,
    ) -> Result<Component> {
        let (page, mut c) = self
            .component_for(who, id, Permission::IncidentManage)
            .await?;
        if c.kind == ComponentKind::Group {
            return Err(DomainError::invalid(
                "status",
                "a group shows its worst component's status; set the components' statuses",
            )
            .into());
        }
        let before = c.status;
        c.status = status;
        let mut tx = self.store.begin().await?;
        self.store
            .set_component_status(&mut tx, id, status, self.clock.now())
            .await?;
        let detail = json!({ "from": before.as_str(), "to": status.as_str(), "notified": 0 });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "component.status_set",
            ("component", c.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(c)
    }

    /// Deletes a component (a group with its components), refused while an open incident or a
    /// maintenance not yet finished names it: deleting it would rewrite what that work says.
    pub async fn delete_component(&self, who: &Principal, id: &ComponentId) -> Result<()> {
        let (page, c) = self.component_for(who, id, Permission::PageManage).await?;
        let mut gone = vec![c.id.clone()];
        gone.extend(
            self.store
                .components(&page.id)
                .await?
                .into_iter()
                .filter(|k| k.parent_id.as_ref() == Some(&c.id))
                .map(|k| k.id),
        );
        let open = self.store.open_work_naming(&gone).await?;
        if open > 0 {
            return Err(ServiceError::Conflict(format!(
                "{} is named by {open} open incident(s) or maintenance(s); resolve or complete them first",
                c.name
            )));
        }
        let mut tx = self.store.begin().await?;
        self.store.delete_component(&mut tx, id).await?;
        let detail = json!({ "name": c.name, "kind": c.kind.as_str() });
        self.audit(
            &mut tx,
            who,
            &page.org_id,
            "component.deleted",
            ("component", c.id.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }
}

/// A parent must be a group of the same page, and not the component itself.
fn check_parent(
    existing: &[Component],
    parent: &ComponentId,
    this: Option<&ComponentId>,
) -> Result<()> {
    let ok = existing
        .iter()
        .any(|c| &c.id == parent && c.kind == ComponentKind::Group && Some(&c.id) != this);
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid("parent_id", "must be a group on the same page").into())
    }
}
