//! What the public may read of a status page: no sign-in, only published pages, every read bounded
//! whatever the page's size (components aside: the page shows them all).

use time::Duration;

use super::history_cursor::HistoryCursor;
use super::pages::{hierarchy, ComponentNode};
use super::{NotFoundAs, Result, ServiceError, Services};
use crate::domain::MaintenanceFilter;
use crate::domain::{
    Component, ComponentStatus, Impact, Incident, IncidentUpdate, Maintenance, Page, PageStatus,
};
use crate::ids::{IncidentId, PageId};

/// Open incidents shown in full on the page; the rest are listed as links.
pub const OPEN_IN_FULL: usize = 5;
/// Open incidents listed at all.
const OPEN_LISTED: i64 = 100;
/// The page's history reaches back this far; older incidents are behind the history link.
pub const HISTORY_DAYS: i64 = 90;
/// Past incidents on the page, and per page of the history.
pub const HISTORY_PAGE: usize = 25;
/// Published pages listed at `/` when there is more than one (an instance rarely hosts more).
const ROOT_LIST: i64 = 200;
/// Updates shown per incident on the page; an incident's own page shows up to `UPDATES_ON_OWN_PAGE`.
const UPDATES_ON_PAGE: i64 = 20;
const UPDATES_ON_OWN_PAGE: i64 = 500;
/// Active maintenances shown, and again upcoming ones.
const MAINTENANCES_SHOWN: i64 = 20;

/// Everything the public status page shows.
#[derive(Clone, Debug)]
pub struct PublicPage {
    pub page: Page,
    pub overall: ComponentStatus,
    /// The banner's indicator and sentence, the same as the Statuspage JSON's `status`.
    pub status: PageStatus,
    pub tree: Vec<ComponentNode>,
    /// The newest open incidents, with their updates.
    pub active: Vec<(Incident, Vec<IncidentUpdate>)>,
    /// Further open incidents, shown as links.
    pub more_active: Vec<Incident>,
    /// Active then upcoming maintenances, each with its latest message (empty when it has none).
    pub maintenances: Vec<(Maintenance, String)>,
    /// Incidents resolved in the last `HISTORY_DAYS`, newest first, at most `HISTORY_PAGE`.
    pub history: Vec<(Incident, Vec<IncidentUpdate>)>,
}

/// One page of past incidents and where the next one starts.
#[derive(Clone, Debug)]
pub struct PublicHistory {
    pub page: Page,
    pub status: PageStatus,
    /// The page's components, to name what each incident affected.
    pub components: Vec<Component>,
    pub incidents: Vec<(Incident, Vec<IncidentUpdate>)>,
    /// The cursor of the following page, when there is one.
    pub next: Option<HistoryCursor>,
}

/// One incident for its own page, with the page's components to name what it affected.
#[derive(Clone, Debug)]
pub struct PublicIncident {
    pub page: Page,
    pub status: PageStatus,
    pub components: Vec<Component>,
    pub incident: Incident,
    pub updates: Vec<IncidentUpdate>,
}

impl Services {
    /// A page the public may see: an unpublished page is, to the public, not there at all.
    pub(crate) async fn published_page(&self, public_slug: &str) -> Result<Page> {
        let page = self
            .store
            .page_by_public_slug(public_slug)
            .await
            .or_not_found("status page")?;
        if !page.published {
            return Err(ServiceError::NotFound("status page"));
        }
        Ok(page)
    }

    /// The published pages `/` offers, by name (at most `ROOT_LIST`).
    pub async fn published_pages(&self) -> Result<Vec<Page>> {
        Ok(self.store.published_pages(ROOT_LIST).await?)
    }

    /// The page's component tree and the worst status it shows.
    async fn public_tree(&self, page: &Page) -> Result<(Vec<ComponentNode>, ComponentStatus)> {
        let components = self.store.components(&page.id).await?;
        let tree = hierarchy(&components);
        let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
        Ok((tree, overall))
    }

    /// The page's indicator and sentence: its components' worst status weighed with what its open
    /// incidents have said (the same rule as the Statuspage JSON).
    async fn public_status(&self, page: &Page, overall: ComponentStatus) -> Result<PageStatus> {
        let impacts = self.store.open_incident_statuses(&page.id).await?;
        Ok(PageStatus::of(overall, impacts.into_iter().map(Impact::of)))
    }

    /// What a history or incident page needs besides its incidents: names, and the status sentence
    /// for its description.
    async fn components_and_status(&self, page: &Page) -> Result<(Vec<Component>, PageStatus)> {
        let components = self.store.components(&page.id).await?;
        let tree = hierarchy(&components);
        let overall = ComponentStatus::overall(tree.iter().map(|n| n.shown_status));
        Ok((components, self.public_status(page, overall).await?))
    }

    async fn with_updates(
        &self,
        incidents: Vec<Incident>,
        limit: i64,
    ) -> Result<Vec<(Incident, Vec<IncidentUpdate>)>> {
        let mut out = Vec::with_capacity(incidents.len());
        for i in incidents {
            let updates = self.store.incident_updates(&i.id, limit).await?;
            out.push((i, updates));
        }
        Ok(out)
    }

    /// A published page's overall status, without the rest of the page (for its badge).
    pub async fn public_overall(&self, public_slug: &str) -> Result<(PageId, ComponentStatus)> {
        let page = self.published_page(public_slug).await?;
        let (_, overall) = self.public_tree(&page).await?;
        Ok((page.id, overall))
    }

    /// The public status page.
    pub async fn public_page(&self, public_slug: &str) -> Result<PublicPage> {
        let page = self.published_page(public_slug).await?;
        let now = self.clock.now();
        let (tree, overall) = self.public_tree(&page).await?;
        let mut open = self.store.open_incidents(&page.id, OPEN_LISTED).await?;
        let more_active = open.split_off(open.len().min(OPEN_IN_FULL));
        let active = self.with_updates(open, UPDATES_ON_PAGE).await?;
        let status = self.public_status(&page, overall).await?;
        let mut windows = self
            .store
            .maintenances(&page.id, MaintenanceFilter::Active, now, MAINTENANCES_SHOWN)
            .await?;
        windows.extend(
            self.store
                .maintenances(
                    &page.id,
                    MaintenanceFilter::Upcoming,
                    now,
                    MAINTENANCES_SHOWN,
                )
                .await?,
        );
        let mut maintenances = Vec::with_capacity(windows.len());
        for m in windows {
            let latest = self.store.maintenance_updates(&m.id, 1).await?;
            let message = latest.into_iter().next().map(|u| u.message);
            maintenances.push((m, message.unwrap_or_default()));
        }
        let since = now - Duration::days(HISTORY_DAYS);
        let recent = self
            .store
            .resolved_incidents_page(&page.id, since, None, HISTORY_PAGE as i64)
            .await?;
        let history = self.with_updates(recent, UPDATES_ON_PAGE).await?;
        Ok(PublicPage {
            page,
            overall,
            status,
            tree,
            active,
            more_active,
            maintenances,
            history,
        })
    }

    /// One page of a status page's resolved incidents, all time, newest first; `after` is the cursor
    /// a previous page gave (see [`Services::history_cursor`]).
    pub async fn public_history(
        &self,
        public_slug: &str,
        after: Option<&HistoryCursor>,
    ) -> Result<PublicHistory> {
        let page = self.published_page(public_slug).await?;
        let mut rows = self
            .store
            .resolved_incidents_page(
                &page.id,
                crate::clock::from_millis(0),
                after.map(HistoryCursor::position),
                HISTORY_PAGE as i64 + 1,
            )
            .await?;
        let more = rows.len() > HISTORY_PAGE;
        rows.truncate(HISTORY_PAGE);
        let next = match rows.last() {
            Some(last) if more => self.issue_cursor(&page.public_slug, last)?,
            _ => None,
        };
        let (components, status) = self.components_and_status(&page).await?;
        Ok(PublicHistory {
            components,
            status,
            page,
            incidents: self.with_updates(rows, UPDATES_ON_PAGE).await?,
            next,
        })
    }

    /// One published incident of a published page, with its updates, for its own public page.
    pub async fn public_incident(
        &self,
        public_slug: &str,
        incident: &str,
    ) -> Result<PublicIncident> {
        let page = self.published_page(public_slug).await?;
        let id = IncidentId::parse(incident).ok_or(ServiceError::NotFound("incident"))?;
        let i = self.store.incident(&id).await.or_not_found("incident")?;
        if i.page_id != page.id || i.draft.is_some() {
            return Err(ServiceError::NotFound("incident"));
        }
        let updates = self
            .store
            .incident_updates(&i.id, UPDATES_ON_OWN_PAGE)
            .await?;
        let (components, status) = self.components_and_status(&page).await?;
        Ok(PublicIncident {
            components,
            status,
            page,
            incident: i,
            updates,
        })
    }
}
