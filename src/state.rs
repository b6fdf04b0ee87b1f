//! What every handler may extract: the services, the configuration, the authorization server and the
//! public cache. Its own module so adapters name it without importing the application assembly.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::config::Config;
use crate::service::Services;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub services: Services,
    pub config: Arc<Config>,
    pub oauth: crate::oauth::AuthServer,
    /// Rendered public pages, badges and feeds (see `web::public_cache`).
    pub public: Arc<crate::web::public_cache::PublicCache>,
}
