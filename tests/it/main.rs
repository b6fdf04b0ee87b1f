//! The one integration-test binary: every module drives a real server over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.

mod accessibility;
mod api_auth;
mod api_keys_page;
mod api_mcp;
mod api_openapi;
mod api_page_admin;
mod api_routes;
mod api_support;
mod browser;
mod helpers;
mod log_secrets;
mod mcp_core;
mod mcp_cross_org;
mod mcp_direct;
mod mcp_http;
mod mcp_oauth_client;
mod members;
mod metrics;
mod page_mcp;

mod admin_history;
mod cli;
mod domain_rules;
mod drafts;
mod edits;
mod loopback;
mod monitor_guard;
mod monitor_instances;
mod monitor_pages;
mod monitors;
mod multi_instance;
mod notifications;
mod oauth;
mod pages_admin;
mod pages_in_browser;
mod properties;
mod public_page;
mod setup_flow;
mod sign_in;
mod status_feeds;
mod storage;
mod subscriptions;
mod web;
