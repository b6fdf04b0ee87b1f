//! Pages, their component hierarchy, and the public view of a status page.

use super::{NotFoundAs, Principal, Result, Services};
use crate::domain::{Component, ComponentKind, ComponentStatus, Name, Org, Page, Permission};
use crate::ids::{ComponentId, OrgId, PageId};
use crate::store::StoreError;

/// A component with its children, for the hierarchy tree.
#[derive(Clone, Debug)]
pub struct ComponentNode {
    pub component: Component,
    /// For a group, its worst child's status; for a component, its own.
    pub shown_status: ComponentStatus,
    pub children: Vec<Component>,
}

/// Groups with their components, then loose components, in display order.
pub fn hierarchy(components: &[Component]) -> Vec<ComponentNode> {
    components
        .iter()
        .filter(|c| c.parent_id.is_none())
        .map(|c| {
            let children: Vec<Component> = components
                .iter()
                .filter(|k| k.parent_id.as_ref() == Some(&c.id))
                .cloned()
                .collect();
            let shown_status = match c.kind {
                ComponentKind::Group => ComponentStatus::overall(children.iter().map(|k| k.status)),
                ComponentKind::Component => c.status,
            };
            ComponentNode {
                component: c.clone(),
                shown_status,
                children,
            }
        })
        .collect()
}

/// New components for a page: `(name, group name)`; a group is created on first mention.
pub struct NewComponent<'a> {
    pub name: &'a str,
    pub group: Option<&'a str>,
}

impl Services {
    /// Pages the principal may read, across their organisations.
    pub async fn list_pages(&self, who: &Principal) -> Result<Vec<(Org, Page)>> {
        let mut out = Vec::new();
        for m in self.store.memberships_of(&who.user_id).await? {
            if m.role.allows(Permission::PageRead)
                && who.actor.allows(Permission::PageRead)
                && who.actor.reaches_org(&m.org.id)
            {
                for p in self.store.pages_of_org(&m.org.id).await? {
                    if !who.actor.reaches_page(&p.id) {
                        continue;
                    }
                    out.push((m.org.clone(), p));
                }
            }
        }
        Ok(out)
    }

    /// A page the principal may read with `what`; the page's org decides.
    pub async fn page_for(&self, who: &Principal, id: &PageId, what: Permission) -> Result<Page> {
        let page = self.store.page(id).await.or_not_found("page")?;
        self.require_page(who, &page.org_id, &page.id, what, "page")
            .await?;
        Ok(page)
    }

    pub async fn components(&self, who: &Principal, page: &PageId) -> Result<Vec<Component>> {
        self.page_for(who, page, Permission::PageRead).await?;
        Ok(self.store.components(page).await?)
    }

    /// Creates a page with its components (set-up and the demo; the caller needs page-manage).
    pub async fn create_page(
        &self,
        who: &Principal,
        org: &OrgId,
        slug: &str,
        public_slug: &str,
        name: &str,
        components: &[NewComponent<'_>],
    ) -> Result<Page> {
        let new = super::page_admin::NewPage {
            name: name.to_owned(),
            slug: slug.to_owned(),
            public_slug: Some(public_slug.to_owned()),
            description: String::new(),
            published: true,
        };
        let page = self.new_page(who, org, new).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut groups: Vec<(String, ComponentId)> = Vec::new();
        for (position, nc) in components.iter().enumerate() {
            let parent_id = match nc.group {
                None => None,
                Some(g) => match groups.iter().find(|(n, _)| n == g) {
                    Some((_, id)) => Some(id.clone()),
                    None => {
                        let group =
                            new_component(&page.id, None, ComponentKind::Group, g, position)?;
                        self.store.insert_component(&mut tx, &group, now).await?;
                        groups.push((g.to_owned(), group.id.clone()));
                        Some(group.id)
                    }
                },
            };
            let c = new_component(
                &page.id,
                parent_id,
                ComponentKind::Component,
                nc.name,
                position,
            )?;
            self.store.insert_component(&mut tx, &c, now).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(page)
    }
}

fn new_component(
    page: &PageId,
    parent_id: Option<ComponentId>,
    kind: ComponentKind,
    name: &str,
    position: usize,
) -> Result<Component> {
    Ok(Component {
        id: ComponentId::generate(),
        page_id: page.clone(),
        parent_id,
        kind,
        name: Name::parse("component", name)?.into_inner(),
        description: String::new(),
        status: ComponentStatus::Operational,
        position: position as i64,
    })
}
