//! The public history of a status page, a page at a time, and each incident's own page. Both come from
//! the public cache like the status page.

use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::public_cache::{Built, Key, PublicRequest};
use super::status_page::{page_policy, render_failed, theme_of, IncidentView, Times, HTML};
use super::{PublicError, WebError};
use crate::service::history_cursor::HistoryCursor;
use crate::service::Services;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{public_slug}/history", get(history))
        .route("/status/{public_slug}/incidents/{incident}", get(incident))
}

#[derive(Template)]
#[template(path = "status/history.html")]
struct HistoryPage {
    name: String,
    slug: String,
    incidents: Vec<IncidentView>,
    /// The cursor of the next page, as issued (hex, digits, dots and `inc_`: nothing to escape).
    next: Option<String>,
    theme: Option<String>,
}

#[derive(Template)]
#[template(path = "status/incident.html")]
struct IncidentPage {
    name: String,
    slug: String,
    incident: IncidentView,
    theme: Option<String>,
}

#[derive(Deserialize)]
struct HistoryQuery {
    after: Option<String>,
}

async fn build_history(
    services: &Services,
    slug: &str,
    after: Option<&HistoryCursor>,
) -> Result<Built, WebError> {
    let h = services.public_history(slug, after).await?;
    let times = Times::of(&h.page);
    let slug = h.page.public_slug.clone();
    let theme = theme_of(&h.page);
    let page = HistoryPage {
        name: h.page.name.clone(),
        incidents: h
            .incidents
            .iter()
            .map(|(i, u)| times.incident(&slug, i, u))
            .collect(),
        next: h.next.map(|c| c.as_str().to_owned()),
        theme: theme.clone(),
        slug,
    };
    Ok(Built {
        content_type: HTML,
        body: page.render().map_err(render_failed)?.into_bytes(),
        policy: Some(page_policy(false, theme.as_deref())),
        page: Some(h.page.id),
    })
}

/// `GET /status/{slug}/history?after=…`: resolved incidents, all time, newest first. A cursor this
/// server did not issue for this page is refused before the cache is consulted, so it costs no render
/// and takes no entry; an issued one is the key as issued.
async fn history(
    req: PublicRequest,
    Path(slug): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, PublicError> {
    let after = match q.after.filter(|a| !a.is_empty()) {
        Some(text) => Some(req.services.history_cursor(&slug, &text)?),
        None => None,
    };
    let what = match &after {
        Some(c) => format!("history?after={}", c.as_str()),
        None => "history".to_owned(),
    };
    req.serve(Key::new(&slug, what), false, || {
        build_history(&req.services, &slug, after.as_ref())
    })
    .await
}

async fn build_incident(
    services: &Services,
    slug: &str,
    incident: &str,
) -> Result<Built, WebError> {
    let (page, i, updates) = services.public_incident(slug, incident).await?;
    let times = Times::of(&page);
    let theme = theme_of(&page);
    let view = IncidentPage {
        name: page.name.clone(),
        incident: times.incident(&page.public_slug, &i, &updates),
        slug: page.public_slug.clone(),
        theme: theme.clone(),
    };
    Ok(Built {
        content_type: HTML,
        body: view.render().map_err(render_failed)?.into_bytes(),
        policy: Some(page_policy(false, theme.as_deref())),
        page: Some(page.id),
    })
}

/// `GET /status/{slug}/incidents/{id}`: one incident with every update.
async fn incident(
    req: PublicRequest,
    Path((slug, incident)): Path<(String, String)>,
) -> Result<Response, PublicError> {
    let key = Key::new(&slug, format!("incident/{incident}"));
    req.serve(key, false, || {
        build_incident(&req.services, &slug, &incident)
    })
    .await
}
