//! `GET /status/{slug}/badge.svg`: the page's overall status as a small SVG badge to embed anywhere,
//! from the public cache.

use axum::extract::Path;
use axum::response::Response;

use super::public_cache::{Built, Key, PublicRequest};
use super::{PublicError, WebError};
use crate::domain::ComponentStatus;
use crate::service::Services;

fn colour(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "#2e7d32",
        ComponentStatus::UnderMaintenance => "#1565c0",
        ComponentStatus::DegradedPerformance => "#8a6100",
        ComponentStatus::PartialOutage => "#b45309",
        ComponentStatus::MajorOutage => "#c62828",
    }
}

async fn build(services: &Services, slug: &str) -> Result<Built, WebError> {
    let (page, overall) = services.public_overall(slug).await?;
    let label = overall.label();
    let width = 60 + label.len() * 7;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"20\" role=\"img\" aria-label=\"status: {label}\">\
<rect width=\"50\" height=\"20\" fill=\"#555\"/><rect x=\"50\" width=\"{r}\" height=\"20\" fill=\"{c}\"/>\
<g fill=\"#fff\" font-family=\"Verdana,sans-serif\" font-size=\"11\"><text x=\"6\" y=\"14\">status</text>\
<text x=\"56\" y=\"14\">{label}</text></g></svg>",
        w = width,
        r = width - 50,
        c = colour(overall),
    );
    Ok(Built {
        content_type: "image/svg+xml",
        body: svg.into_bytes(),
        page: Some(page),
        policy: None,
    })
}

pub async fn badge(req: PublicRequest, Path(slug): Path<String>) -> Result<Response, PublicError> {
    req.serve(Key::new(&slug, "badge"), false, || {
        build(&req.services, &slug)
    })
    .await
}
