//! `GET /`: the status domain's root is the status page. It shows `[public] default_page`, else the
//! only published page, else a plain list of the published pages. Served through the public cache
//! like the page itself and outside the session layer, so a visit writes nothing; signing in stays
//! at `/login`.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::public_cache::{Built, Key, PublicRequest};
use super::status_page::{build_page, page_policy, render_failed, HTML};
use super::{PublicError, WebError};
use crate::config::Config;
use crate::service::{ServiceError, Services};

struct Listed {
    name: String,
    link: String,
    description: String,
}

#[derive(Template)]
#[template(path = "status/index.html")]
struct Index {
    pages: Vec<Listed>,
}

pub async fn show(
    req: PublicRequest,
    State(config): State<Arc<Config>>,
) -> Result<Response, PublicError> {
    // One entry for whatever `/` shows: which page that is changes only with a write (publishing,
    // a new page, a renamed address), and every write makes the entry stale anyway.
    let key = Key::new("", "root");
    let default_page = config.public.default_page.as_deref();
    req.serve(key, true, || {
        build(&req.services, &config.public_url, default_page)
    })
    .await
}

async fn build(
    services: &Services,
    public_url: &str,
    default_page: Option<&str>,
) -> Result<Built, WebError> {
    if let Some(slug) = default_page {
        match build_page(services, public_url, slug).await {
            // Unpublished or renamed since the setting was written: the root still shows what is
            // published rather than a 404.
            Err(WebError::Service(ServiceError::NotFound(_))) => {}
            shown => return shown,
        }
    }
    let pages = services.published_pages().await?;
    if let [only] = pages.as_slice() {
        return build_page(services, public_url, &only.public_slug).await;
    }
    let view = Index {
        pages: pages
            .into_iter()
            .map(|p| Listed {
                link: format!("/status/{}", p.public_slug),
                name: p.name,
                description: p.description,
            })
            .collect(),
    };
    Ok(Built {
        content_type: HTML,
        body: view.render().map_err(render_failed)?.into_bytes(),
        page: None,
        policy: Some(page_policy(false, None)),
    })
}
