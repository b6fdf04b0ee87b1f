//! What every handler may extract: the services, the configuration, the authorization server and the
//! public cache. Its own module so adapters name it without importing the application assembly.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::config::Config;
use crate::service::Services;

/// The router's state, behind one `Arc`: axum clones the state of a route's handler on every request
/// (whatever the handler extracts), and a clone of the parts themselves is two `Services` (each a
/// dozen reference counts and its settings) and two strings.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub services: Services,
    pub config: Arc<Config>,
    pub oauth: crate::oauth::AuthServer,
    /// Rendered public pages, badges and feeds (see `web::public_cache`).
    pub public: Arc<crate::web::public_cache::PublicCache>,
}

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl FromRef<AppState> for Services {
    fn from_ref(state: &AppState) -> Self {
        state.services.clone()
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Self {
        state.config.clone()
    }
}

impl FromRef<AppState> for crate::oauth::AuthServer {
    fn from_ref(state: &AppState) -> Self {
        state.oauth.clone()
    }
}

impl FromRef<AppState> for Arc<crate::web::public_cache::PublicCache> {
    fn from_ref(state: &AppState) -> Self {
        state.public.clone()
    }
}
