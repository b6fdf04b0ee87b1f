//! statusgate: self-hosted status pages with a Hosted MCP connector.
//!
//! # Layout
//! - [`domain`]: values, lifecycle rules and the role/permission table. No I/O.
//! - [`store`]: SQLite or PostgreSQL through one set of SQL; rows become domain records here.
//! - [`service`]: use cases; each takes the acting [`service::Principal`] and checks permissions first.
//! - [`web`]: HTML pages (public status page, sign-in, admin), rendering service errors as pages.
//! - [`api`]: the REST API under `/api/v1` (API keys, JSON errors, the OpenAPI document).
//! - [`oauth`]: the OAuth 2.1 authorization server for the Hosted MCP connector.
//! - [`app`]: the router, the listener and shutdown; [`config`] and [`clock`] are injected into it.
//! - [`cli`]: the `statusgate` command line.
//! - [`ratelimit`]: per-key token buckets and the client address they are keyed on.
//! - [`telemetry`]: log format, the per-request span (request id, route, principal) and `/metrics`.
//! - [`page_mcp`]: the `statusgate-page-mcp` stdio server, a client of `/api/v1` for one page.

pub mod api;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod ids;
pub mod mcp;
pub mod mcp_wire;
pub mod oauth;
pub mod outbound;
pub mod page_mcp;
pub mod ratelimit;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod views;
pub mod web;
