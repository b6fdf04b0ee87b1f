//! The OAuth 2.1 authorization server's HTTP face for the Hosted MCP connector: the token, registration
//! and revocation endpoints, CORS and the RFC 6749 error mapping ([`http`]), and the RFC 8414 / RFC 9728
//! documents ([`metadata`]). What the endpoints do is `service::connector`; this module parses requests
//! into its types and turns its answers into responses.

pub mod http;
pub mod metadata;

pub use crate::service::connector::{
    authorize, keys, redirect, scope, token, AuthServer, OAuthError, Result,
};
