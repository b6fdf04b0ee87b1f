//! A public page in the shape of Atlassian Statuspage's public API v2 (`/api/v2/summary.json` and
//! friends), so monitoring tools, chat bots and agents that read Statuspage read statusgate unchanged.
//! How our statuses map onto theirs is documented in README.md ("Machine-readable status").

mod render;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::feeds::public_handler;
use super::public_cache::Built;
use super::WebError;
use crate::config::Config;
use crate::service::public_feed::Phase;
use crate::service::Services;
use crate::state::AppState;
use render::{status, ComponentV2, IncidentV2, PageV2, Render, StatusV2};

/// One document: `page` always, the other parts as the endpoint has them.
#[derive(Serialize)]
struct Document {
    page: PageV2,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<ComponentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incidents: Option<Vec<IncidentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_maintenances: Option<Vec<IncidentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusV2>,
}

/// The endpoints, each a view of the same feed.
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Summary,
    Status,
    Components,
    Incidents,
    Unresolved,
    Maintenances,
    Upcoming,
    Active,
}

async fn build(
    services: &Services,
    public_url: &str,
    slug: &str,
    what: Endpoint,
) -> Result<Built, WebError> {
    let feed = services.public_feed(slug).await?;
    let r = Render {
        feed: &feed,
        public_url: public_url.trim_end_matches('/'),
    };
    let all = [Phase::Upcoming, Phase::Active, Phase::Past];
    let mut doc = Document {
        page: r.page(),
        components: None,
        incidents: None,
        scheduled_maintenances: None,
        status: None,
    };
    match what {
        Endpoint::Summary => {
            doc.components = Some(r.components());
            doc.incidents = Some(r.incidents(true));
            doc.scheduled_maintenances = Some(r.maintenances(&[Phase::Upcoming, Phase::Active]));
            doc.status = Some(status(&feed));
        }
        Endpoint::Status => doc.status = Some(status(&feed)),
        Endpoint::Components => doc.components = Some(r.components()),
        Endpoint::Incidents => doc.incidents = Some(r.incidents(false)),
        Endpoint::Unresolved => doc.incidents = Some(r.incidents(true)),
        Endpoint::Maintenances => doc.scheduled_maintenances = Some(r.maintenances(&all)),
        Endpoint::Upcoming => doc.scheduled_maintenances = Some(r.maintenances(&[Phase::Upcoming])),
        Endpoint::Active => doc.scheduled_maintenances = Some(r.maintenances(&[Phase::Active])),
    }
    let body = serde_json::to_vec_pretty(&doc)
        .map_err(|e| WebError::Internal(format!("statuspage json: {e}")))?;
    Ok(Built {
        content_type: "application/json",
        body,
        page: Some(feed.page.id.clone()),
        policy: None,
    })
}

/// Defines `build_<name>` for one endpoint and its thin handler `<name>`.
macro_rules! endpoint {
    ($build:ident, $handler:ident, $what:expr) => {
        pub(super) async fn $build(
            services: &Services,
            public_url: &str,
            slug: &str,
        ) -> Result<Built, WebError> {
            build(services, public_url, slug, $what).await
        }

        public_handler!($handler, $build);
    };
}

endpoint!(build_summary, summary, Endpoint::Summary);
endpoint!(build_status, status_json, Endpoint::Status);
endpoint!(build_components, components, Endpoint::Components);
endpoint!(build_incidents, incidents, Endpoint::Incidents);
endpoint!(build_unresolved, unresolved, Endpoint::Unresolved);
endpoint!(build_maintenances, maintenances, Endpoint::Maintenances);
endpoint!(build_upcoming, upcoming, Endpoint::Upcoming);
endpoint!(build_active, active, Endpoint::Active);

pub fn router() -> Router<AppState> {
    const V2: &str = "/status/{public_slug}/api/v2";
    Router::new()
        .route(&format!("{V2}/summary.json"), get(summary))
        .route("/status/{public_slug}/summary.json", get(summary))
        .route(&format!("{V2}/status.json"), get(status_json))
        .route(&format!("{V2}/components.json"), get(components))
        .route(&format!("{V2}/incidents.json"), get(incidents))
        .route(&format!("{V2}/incidents/unresolved.json"), get(unresolved))
        .route(
            &format!("{V2}/scheduled-maintenances.json"),
            get(maintenances),
        )
        .route(
            &format!("{V2}/scheduled-maintenances/upcoming.json"),
            get(upcoming),
        )
        .route(
            &format!("{V2}/scheduled-maintenances/active.json"),
            get(active),
        )
        // Public data without credentials: widgets on other sites may read it, as they read
        // Statuspage's own.
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([axum::http::Method::GET]),
        )
}
