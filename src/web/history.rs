//! A page's history: its incidents (active, resolved or all) or maintenances (by state), newest
//! first, 25 at a time. A bad filter comes back beside its field (422).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::admin::{parse_id, url_encode, SignedIn};
use super::form::Fields;
use super::pages_admin::{unprocessable, FormState};
use super::paging::{choice, offset, split_page, Pager};
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::{DomainError, MaintenanceState, Page, Permission};
use crate::ids::PageId;
use crate::service::edits::IncidentFilter;
use crate::service::{Principal, ServiceError, Services};
use crate::state::AppState;

const PER_PAGE: i64 = 25;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/pages/{page_id}/history", get(show))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Incidents,
    Maintenances,
}

const KINDS: [(&str, Kind); 2] = [
    ("incidents", Kind::Incidents),
    ("maintenances", Kind::Maintenances),
];
const INCIDENT_STATES: [(&str, IncidentFilter); 3] = [
    ("all", IncidentFilter::All),
    ("active", IncidentFilter::Active),
    ("resolved", IncidentFilter::Resolved),
];
const MAINTENANCE_STATES: [(&str, Option<MaintenanceState>); 5] = [
    ("all", None),
    ("scheduled", Some(MaintenanceState::Scheduled)),
    ("in_progress", Some(MaintenanceState::InProgress)),
    ("completed", Some(MaintenanceState::Completed)),
    ("cancelled", Some(MaintenanceState::Cancelled)),
];

/// One incident or maintenance in the list.
struct Row {
    href: String,
    title: String,
    state: &'static str,
    when: String,
}

#[derive(Template)]
#[template(path = "admin/history.html")]
struct HistoryView {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    kind: &'static str,
    /// The state shown; the select keeps it chosen.
    state: &'static str,
    states: Vec<&'static str>,
    rows: Vec<Row>,
    pager: Pager,
    form: FormState,
}

/// The filters asked for; a bad one is refused beside its field.
struct Filter {
    kind: Kind,
    state: &'static str,
    offset: i64,
}

fn read_filter(form: &Fields) -> Result<Filter, DomainError> {
    let kind = choice(form.get("kind"), "kind", &KINDS)?;
    let names: Vec<(&str, &'static str)> = state_names(kind).iter().map(|n| (*n, *n)).collect();
    Ok(Filter {
        kind,
        state: choice(form.get("state"), "state", &names)?,
        offset: offset(form.get("offset"))?,
    })
}

fn state_names(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Incidents => INCIDENT_STATES.iter().map(|(n, _)| *n).collect(),
        Kind::Maintenances => MAINTENANCE_STATES.iter().map(|(n, _)| *n).collect(),
    }
}

async fn rows(
    services: &Services,
    who: &Principal,
    page: &PageId,
    f: &Filter,
) -> Result<Vec<Row>, ServiceError> {
    Ok(match f.kind {
        Kind::Incidents => {
            let filter = choice(Some(f.state), "state", &INCIDENT_STATES)?;
            services
                .incident_listing(who, page, filter, f.offset, PER_PAGE)
                .await?
                .into_iter()
                .map(|i| Row {
                    href: format!("/admin/incidents/{}", i.id),
                    state: i.stage.label(),
                    when: match i.resolved_at {
                        Some(r) => format!("{} to {}", human_time(i.started_at), human_time(r)),
                        None => format!("since {}", human_time(i.started_at)),
                    },
                    title: i.title,
                })
                .collect()
        }
        Kind::Maintenances => {
            let state = choice(Some(f.state), "state", &MAINTENANCE_STATES)?;
            services
                .maintenance_history(who, page, state, f.offset, PER_PAGE)
                .await?
                .into_iter()
                .map(|m| Row {
                    href: format!("/admin/maintenances/{}", m.id),
                    state: m.state.label(),
                    when: format!("{} to {}", human_time(m.starts_at), human_time(m.ends_at)),
                    title: m.title,
                })
                .collect()
        }
    })
}

async fn show(
    State(services): State<Services>,
    me: SignedIn,
    Path(page_id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let page = services
        .page_for(&me.principal, &page_id, Permission::PageRead)
        .await?;
    let form = Fields(pairs);
    let (filter, refused) = match read_filter(&form) {
        Ok(f) => (f, None),
        Err(e) => {
            let f = Filter {
                kind: choice(form.get("kind"), "kind", &KINDS).unwrap_or(Kind::Incidents),
                state: "all",
                offset: 0,
            };
            (f, Some(FormState::refused(e.into(), &form)?))
        }
    };
    let kind = KINDS
        .iter()
        .find(|(_, k)| *k == filter.kind)
        .map_or("incidents", |(n, _)| *n);
    let (list, more) = match refused {
        Some(_) => (Vec::new(), false),
        None => split_page(
            rows(&services, &me.principal, &page_id, &filter).await?,
            PER_PAGE,
        ),
    };
    let base = format!(
        "/admin/pages/{}/history?kind={kind}&state={}&",
        page.id,
        url_encode(filter.state)
    );
    let view = HistoryView {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        kind,
        state: filter.state,
        states: state_names(filter.kind),
        rows: list,
        pager: Pager::new(&base, filter.offset, PER_PAGE, more),
        page,
        form: FormState::default(),
    };
    Ok(match refused {
        Some(form) => unprocessable(render(&HistoryView { form, ..view })),
        None => render(&view),
    })
}
