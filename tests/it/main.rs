//! The one integration-test binary: every module drives a real server over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.

mod helpers;

mod cli;
mod domain_rules;
mod multi_instance;
mod oauth;
mod storage;
mod web;
