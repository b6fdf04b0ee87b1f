//! The authorization server behind the Hosted MCP connector: its use cases, free of HTTP. It issues and
//! verifies tokens for one protected resource, the canonical MCP URL `{public_url}/mcp`, and knows
//! nothing else of MCP. The HTTP side (handlers, CORS, metadata documents, the error mapping) is the
//! `oauth` adapter.
//!
//! - [`registration`] and [`clients`]: RFC 7591 registration, pinned metadata documents, client lookup.
//! - [`authorize`]: checks an authorization request, and turns an approved consent into a grant and a code.
//! - [`token`]: code exchange and refresh rotation; [`keys`]: signing keys and [`AuthServer::verify_access`].
//! - [`revoke`]: RFC 7009 and grant revocation.
//! - `id_jag`: the RFC 7523 jwt-bearer grant for identity assertions (enterprise-managed sign-in), with
//!   the trusted issuers an owner manages; `jwks`: their keys.
//!
//! Functions take the current time from the injected clock, read once per request.

pub mod authorize;
pub mod cimd;
mod client_metadata;
pub mod clients;
mod console;
mod id_jag;
mod jwks;
pub mod keys;

pub mod redirect;
mod refresh;
pub mod registration;
pub mod revoke;
pub use crate::domain::scope;
pub mod token;

use std::sync::Arc;

use super::Services;
use crate::config::OAuthConfig;
use crate::store::StoreError;

/// An OAuth error. `Display` is the wire code (RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2, RFC 8707);
/// the human text travels separately as `error_description`.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request")]
    InvalidRequest(String),
    #[error("invalid_client")]
    InvalidClient(String),
    #[error("invalid_grant")]
    InvalidGrant(String),
    #[error("unauthorized_client")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("unsupported_response_type")]
    UnsupportedResponseType,
    #[error("invalid_scope")]
    InvalidScope(String),
    #[error("invalid_target")]
    InvalidTarget,
    #[error("access_denied")]
    AccessDenied(String),
    #[error("invalid_redirect_uri")]
    InvalidRedirectUri(String),
    #[error("invalid_client_metadata")]
    InvalidClientMetadata(String),
    /// Answered 429 with `Retry-After` set to the seconds inside.
    #[error("temporarily_unavailable")]
    TooManyRequests(u64),
    #[error("server_error")]
    Server(#[from] StoreError),
}

impl OAuthError {
    pub fn description(&self) -> String {
        match self {
            Self::InvalidRequest(d)
            | Self::InvalidClient(d)
            | Self::InvalidGrant(d)
            | Self::UnauthorizedClient(d)
            | Self::InvalidScope(d)
            | Self::AccessDenied(d)
            | Self::InvalidRedirectUri(d)
            | Self::InvalidClientMetadata(d) => d.clone(),
            Self::UnsupportedGrantType => {
                "grant_type must be authorization_code, refresh_token or urn:ietf:params:oauth:grant-type:jwt-bearer".into()
            }
            Self::UnsupportedResponseType => "response_type must be code".into(),
            Self::InvalidTarget => "resource must be this server's MCP endpoint".into(),
            Self::TooManyRequests(secs) => {
                format!("too many requests; retry in {secs} seconds")
            }
            Self::Server(_) => "the server could not complete the request".into(),
        }
    }
}

pub type Result<T, E = OAuthError> = std::result::Result<T, E>;

/// The authorization server: services, its settings, the issuer and resource URLs, and the key cache.
#[derive(Clone)]
pub struct AuthServer {
    pub services: Services,
    pub config: Arc<OAuthConfig>,
    /// `public_url`, no trailing slash: the same string in every document and every `iss`.
    pub issuer: String,
    /// `{public_url}/mcp`: every token's audience.
    pub resource: String,
    pub keys: Arc<keys::KeyRing>,
    /// Access tokens this instance has checked, so a connector's repeat calls skip the JWT work.
    pub verified: Arc<keys::VerifiedTokens>,
    /// Client ID Metadata Documents fetched by this instance.
    pub documents: Arc<cimd::DocumentCache>,
    /// Trusted issuers' key sets fetched by this instance (enterprise-managed sign-in).
    pub jwks: Arc<jwks::JwksCache>,
    /// What fetching those documents may cost, per client address and for the instance.
    pub document_fetches: Arc<cimd::FetchBudget>,
    /// Registrations that store a new client, per client address (`[oauth] registrations_per_minute`).
    pub registrations: crate::ratelimit::RateLimiter,
}

impl AuthServer {
    pub fn new(services: Services, config: OAuthConfig, public_url: &str) -> Self {
        let issuer = public_url.trim_end_matches('/').to_owned();
        let registrations = crate::ratelimit::RateLimiter::new(
            config.registrations_per_minute,
            config.registration_burst,
        );
        Self {
            registrations,
            document_fetches: Arc::new(cimd::FetchBudget::new(&config)),
            services,
            config: Arc::new(config),
            resource: format!("{issuer}/mcp"),
            issuer,
            keys: Arc::new(keys::KeyRing::default()),
            verified: Arc::new(keys::VerifiedTokens::default()),
            documents: Arc::new(cimd::DocumentCache::default()),
            jwks: Arc::new(jwks::JwksCache::default()),
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Checks an RFC 8707 `resource` leniently (checklist D4): absent, the MCP URL with or without a
    /// trailing slash, or the bare origin with or without one, all mean this server.
    pub fn check_resource(&self, resource: Option<&str>) -> Result<()> {
        let Some(r) = resource.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(());
        };
        let r = r.trim_end_matches('/');
        if r == self.resource || r == self.issuer {
            Ok(())
        } else {
            Err(OAuthError::InvalidTarget)
        }
    }
}

/// SHA-256 as lowercase hex: how every secret we hand out is stored.
pub fn hash_secret(secret: &str) -> String {
    crate::ids::sha256_hex(secret)
}

/// A fresh secret: a short prefix naming its kind, then 32 random bytes in base64url.
pub fn new_secret(prefix: &str) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}
