//! The REST API, `/api/v1`: JSON over the permission-checked services, authenticated by API keys.
//!
//! Every operation is one [`Op`] in [`ops`]: method, path, summary, request types and handler. The
//! router and the OpenAPI document (`/api/v1/openapi.json`) are both built from that one table, so a
//! route cannot be served without being documented.

pub mod auth;
mod drafts;
pub mod error;
mod incidents;
mod listing;
mod maintenances;
mod openapi;
mod operations;
mod page_admin;
mod pages;

use std::sync::Arc;

use axum::http::Method;
use axum::routing::{get, MethodRouter};
use axum::Router;
use schemars::generate::SchemaGenerator;
use schemars::Schema;

pub use self::auth::RateLimiter;
use self::error::ApiError;
use crate::service::Services;

/// Where the API lives.
pub const BASE: &str = "/api/v1";

#[derive(Clone)]
pub struct ApiState {
    pub services: Services,
    pub limiter: RateLimiter,
    /// `public_url`, for links (public pages, badges).
    pub public_url: Arc<str>,
}

/// A schema for a request part, derived from its Rust type.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One operation: what the router serves and what the document says, from the same value.
pub struct Op {
    pub method: Method,
    /// Below [`BASE`], with `{name}` path parameters.
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Whether a write key is needed (documentation; the services enforce it).
    pub write: bool,
    pub query: Option<SchemaFn>,
    pub body: Option<SchemaFn>,
    /// The status of a success.
    pub ok: u16,
    pub handler: MethodRouter<ApiState>,
}

fn schema<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

fn inline<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    T::json_schema(g)
}

/// Builds an [`Op`]; the method names both the route filter and the document's operation.
macro_rules! op {
    ($m:ident, $path:literal, $id:literal, $tag:literal, $summary:literal, $handler:expr
     $(, query = $q:ty)? $(, body = $b:ty)? $(, ok = $ok:literal)? $(, write = $w:literal)?) => {{
        #[allow(unused_mut, unused_assignments)]
        let mut op = $crate::api::Op {
            method: axum::http::Method::$m,
            path: $path,
            id: $id,
            summary: $summary,
            tag: $tag,
            write: false,
            query: None,
            body: None,
            ok: 200,
            handler: axum::routing::on(axum::routing::MethodFilter::$m, $handler),
        };
        $(op.query = Some($crate::api::inline::<$q>);)?
        $(op.body = Some($crate::api::schema::<$b>);)?
        $(op.ok = $ok;)?
        $(op.write = $w;)?
        op
    }};
}
pub(crate) use op;

/// Every operation of the API.
pub fn ops() -> Vec<Op> {
    let mut all = pages::ops();
    all.extend(incidents::ops());
    all.extend(maintenances::ops());
    all.extend(drafts::ops());
    all.extend(operations::ops());
    all.extend(page_admin::ops());
    all
}

pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    let mut r = Router::new();
    for op in ops() {
        r = r.route(&format!("{BASE}{}", op.path), op.handler);
    }
    r.route(&format!("{BASE}/openapi.json"), get(openapi::document))
        .route(&format!("{BASE}/{{*rest}}"), axum::routing::any(no_route))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn no_route() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not answer that method",
    )
}
