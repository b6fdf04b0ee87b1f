//! The public history of a status page, a page at a time, and each incident's own page. Both come from
//! the public cache like the status page.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::public_brand::Brand;
use super::public_cache::{Built, Key, PublicRequest};
use super::status_page::{render_failed, IncidentView, Times, HTML};
use super::{PublicError, WebError};
use crate::config::Config;
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
    brand: Brand,
}

#[derive(Template)]
#[template(path = "status/incident.html")]
struct IncidentPage {
    name: String,
    slug: String,
    incident: IncidentView,
    brand: Brand,
}

#[derive(Deserialize)]
struct HistoryQuery {
    after: Option<String>,
}

async fn build_history(
    services: &Services,
    public_url: &str,
    slug: &str,
    after: Option<&HistoryCursor>,
) -> Result<Built, WebError> {
    let h = services.public_history(slug, after).await?;
    let times = Times::of(&h.page, &h.components);
    let slug = h.page.public_slug.clone();
    let brand = Brand::new(
        &h.page,
        public_url,
        &format!("/status/{slug}/history"),
        format!("{}: incident history", h.page.name),
        h.status,
    );
    let page = HistoryPage {
        name: h.page.name.clone(),
        incidents: h
            .incidents
            .iter()
            .map(|(i, u)| times.incident(&slug, i, u))
            .collect(),
        next: h.next.map(|c| c.as_str().to_owned()),
        brand,
        slug,
    };
    Ok(Built {
        content_type: HTML,
        body: page.render().map_err(render_failed)?.into_bytes(),
        policy: Some(page.brand.policy()),
        page: Some(h.page.id),
    })
}

/// `GET /status/{slug}/history?after=…`: resolved incidents, all time, newest first. A cursor this
/// server did not issue for this page is refused before the cache is consulted, so it costs no render
/// and takes no entry; an issued one is the key as issued.
async fn history(
    req: PublicRequest,
    State(config): State<Arc<Config>>,
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
        build_history(&req.services, &config.public_url, &slug, after.as_ref())
    })
    .await
}

async fn build_incident(
    services: &Services,
    public_url: &str,
    slug: &str,
    incident: &str,
) -> Result<Built, WebError> {
    let p = services.public_incident(slug, incident).await?;
    let times = Times::of(&p.page, &p.components);
    let view = times.incident(&p.page.public_slug, &p.incident, &p.updates);
    let brand = Brand::new(
        &p.page,
        public_url,
        &view.link,
        format!("{} · {}", p.incident.title, p.page.name),
        p.status,
    );
    let view = IncidentPage {
        name: p.page.name.clone(),
        incident: view,
        slug: p.page.public_slug.clone(),
        brand,
    };
    Ok(Built {
        content_type: HTML,
        body: view.render().map_err(render_failed)?.into_bytes(),
        policy: Some(view.brand.policy()),
        page: Some(p.page.id),
    })
}

/// `GET /status/{slug}/incidents/{id}`: one incident with every update.
async fn incident(
    req: PublicRequest,
    State(config): State<Arc<Config>>,
    Path((slug, incident)): Path<(String, String)>,
) -> Result<Response, PublicError> {
    let key = Key::new(&slug, format!("incident/{incident}"));
    req.serve(key, false, || {
        build_incident(&req.services, &config.public_url, &slug, &incident)
    })
    .await
}
