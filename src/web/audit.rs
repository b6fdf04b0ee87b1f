//! The audit log for an organisation's admins: who did what, filtered by kind of actor and by day,
//! newest first, 50 at a time. A bad filter comes back beside its field (422).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use time::{Date, Duration, OffsetDateTime};

use super::admin::{parse_id, url_encode, SignedIn};
use super::form::Fields;
use super::pages_admin::{unprocessable, FormState};
use super::paging::{choice, offset, split_page, Pager};
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::AuditFilter;
use crate::domain::{ActorType, AuditEntry, DomainError, Org, Permission};
use crate::ids::OrgId;
use crate::service::{ServiceError, Services};
use crate::state::AppState;

const PER_PAGE: i64 = 50;

const ACTORS: [(&str, Option<ActorType>); 5] = [
    ("all", None),
    ("user", Some(ActorType::User)),
    ("api_key", Some(ActorType::ApiKey)),
    ("mcp", Some(ActorType::Mcp)),
    ("system", Some(ActorType::System)),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(show))
}

struct Row {
    at: String,
    actor_type: &'static str,
    actor: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditView {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    org: Org,
    actor: String,
    from: String,
    to: String,
    actors: Vec<&'static str>,
    rows: Vec<Row>,
    pager: Pager,
    form: FormState,
}

/// A day as `YYYY-MM-DD`, its first instant in UTC.
fn day(field: &'static str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, DomainError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => Date::parse(r, &format)
            .map(|d| Some(d.midnight().assume_utc()))
            .map_err(|_| DomainError::invalid(field, "must be a date like 2026-11-22")),
    }
}

/// The filters asked for: `to` includes its whole day.
fn read_filter(form: &Fields) -> Result<(AuditFilter, i64), DomainError> {
    let from = day("from", form.get("from"))?;
    let until = day("to", form.get("to"))?.map(|t| t + Duration::days(1));
    if let (Some(f), Some(u)) = (from, until) {
        if u <= f {
            return Err(DomainError::invalid(
                "to",
                "must not be before the from date",
            ));
        }
    }
    let filter = AuditFilter {
        actor_type: choice(form.get("actor"), "actor", &ACTORS)?,
        from,
        until,
    };
    Ok((filter, offset(form.get("offset"))?))
}

/// The organisation asked for, else the one chosen in the session, else the first the person
/// administers; the service still checks the role.
async fn which_org(services: &Services, me: &SignedIn, form: &Fields) -> Result<Org, WebError> {
    let mine = services.memberships(&me.principal.user_id).await?;
    let wanted = match form.get("org").filter(|o| !o.is_empty()) {
        Some(raw) => Some(parse_id(raw, OrgId::parse, "organisation")?),
        None => me.session.current_org().await?,
    };
    let found = match wanted {
        Some(id) => mine.iter().find(|m| m.org.id == id),
        None => mine
            .iter()
            .find(|m| m.role.allows(Permission::SettingsManage))
            .or(mine.first()),
    };
    found
        .map(|m| m.org.clone())
        .ok_or(WebError::Service(ServiceError::NotFound("organisation")))
}

/// Names each row's person by email where one is known.
async fn rows(services: &Services, entries: Vec<AuditEntry>) -> Vec<Row> {
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let mut actor = e.actor_id.clone();
        if let Some(u) = &e.user_id {
            if !emails.contains_key(u.as_str()) {
                let email = services.user(u).await.map(|u| u.email).unwrap_or_default();
                emails.insert(u.as_str().to_owned(), email);
            }
            match emails.get(u.as_str()).filter(|m| !m.is_empty()) {
                Some(m) if e.actor_type == ActorType::User => actor = m.clone(),
                Some(m) => actor = format!("{actor} ({m})"),
                None => {}
            }
        }
        out.push(Row {
            at: human_time(e.created_at),
            actor_type: e.actor_type.as_str(),
            actor,
            target: format!("{} {}", e.target_type, e.target_id),
            action: e.action,
            detail: e.detail,
        });
    }
    out
}

async fn show(
    State(services): State<Services>,
    me: SignedIn,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(pairs);
    let org = which_org(&services, &me, &form).await?;
    let (filter, refused) = match read_filter(&form) {
        Ok((f, o)) => ((f, o), None),
        Err(e) => (
            (AuditFilter::default(), 0),
            Some(FormState::refused(e.into(), &form)?),
        ),
    };
    // The role is checked even when the filter is refused, so nobody learns more from a 422.
    let entries = services
        .audit_search(&me.principal, &org.id, &filter.0, filter.1, PER_PAGE)
        .await?;
    let (entries, more) = match refused {
        Some(_) => (Vec::new(), false),
        None => split_page(entries, PER_PAGE),
    };
    let text = |name| form.get(name).unwrap_or_default().trim().to_owned();
    let (actor, from, to) = (text("actor"), text("from"), text("to"));
    let base = format!(
        "/admin/audit?org={}&actor={}&from={}&to={}&",
        org.id,
        url_encode(&actor),
        url_encode(&from),
        url_encode(&to)
    );
    let view = AuditView {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        pager: Pager::new(&base, filter.1, PER_PAGE, more),
        rows: rows(&services, entries).await,
        actors: ACTORS.iter().map(|(n, _)| *n).collect(),
        org,
        actor,
        from,
        to,
        form: FormState::default(),
    };
    Ok(match refused {
        Some(form) => unprocessable(render(&AuditView { form, ..view })),
        None => render(&view),
    })
}
