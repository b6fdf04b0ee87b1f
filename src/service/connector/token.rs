//! The token endpoint: the request types, client authentication (shared with revocation), and the
//! `authorization_code` grant (single use, bound to client, redirect URI, PKCE challenge and grant).
//! `refresh_token` is in `refresh`.

use crate::telemetry::metrics::{self, OAuthEvent};
use serde::Serialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use time::Duration;

use super::authorize::pkce_matches;
use super::scope::ScopeSet;
use super::{hash_secret, AuthServer, OAuthError, Result};
use crate::domain::connector::{AuthMethod, Client, RefreshRow};
use crate::domain::ActorType;
use crate::ids::GrantId;
use crate::store::{AuditRecord, StoreError, Tx};

/// How a client authenticates at the token and revocation endpoints (RFC 6749 §2.3): its id in the
/// body, with a secret in the body, or both in HTTP Basic.
#[derive(Debug, Default, Clone)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub basic: Option<(String, String)>,
}

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, PKCE RFC 7636 §4.5, RFC 8707 `resource`).
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub code: String,
    pub code_verifier: String,
    pub redirect_uri: Option<String>,
    pub resource: Option<String>,
}

/// `grant_type=refresh_token` (RFC 6749 §6): `scope` may only narrow what was granted.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub refresh_token: String,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1) carrying an identity
/// assertion (ID-JAG) from an identity provider the organisation trusts.
#[derive(Debug, Clone)]
pub struct AssertionGrant {
    pub assertion: String,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// The RFC 7523 grant type's URN.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What a token request asks for: one variant per grant type this server issues.
#[derive(Debug, Clone)]
pub enum GrantRequest {
    AuthorizationCode(CodeGrant),
    RefreshToken(RefreshGrant),
    JwtBearer(AssertionGrant),
}

#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub client: ClientCredentials,
    pub grant: GrantRequest,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// None for an assertion grant: the client presents a fresh assertion instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

pub(super) fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::InvalidGrant(why.to_owned())
}

impl AuthServer {
    /// RFC 6749 §2.3: one method only; secret clients must prove the secret, public ones send their id.
    pub async fn authenticate_client(&self, req: &ClientCredentials) -> Result<Client> {
        if req.basic.is_some() && req.client_secret.is_some() {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method, not two".into(),
            ));
        }
        let (id, secret) = match (&req.basic, &req.client_id) {
            (Some((b, _)), Some(body)) if b != body => {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the Basic credentials".into(),
                ))
            }
            (Some((id, secret)), _) => (id.clone(), Some(secret.clone())),
            (None, Some(id)) => (id.clone(), req.client_secret.clone()),
            (None, None) => return Err(OAuthError::InvalidClient("client_id is missing".into())),
        };
        let client = self.find_client(&id).await?;
        if client.auth_method != AuthMethod::None {
            let ok = match (&client.secret_hash, secret) {
                (Some(h), Some(s)) => bool::from(h.as_bytes().ct_eq(hash_secret(&s).as_bytes())),
                _ => false,
            };
            if !ok {
                return Err(OAuthError::InvalidClient(
                    "client authentication failed".into(),
                ));
            }
        }
        Ok(client)
    }

    pub async fn token(&self, req: &TokenRequest) -> Result<TokenResponse> {
        let (result, event) = match &req.grant {
            GrantRequest::AuthorizationCode(g) => (
                self.exchange_code(&req.client, g).await,
                OAuthEvent::CodeExchange,
            ),
            GrantRequest::RefreshToken(g) => {
                (self.refresh(&req.client, g).await, OAuthEvent::Refresh)
            }
            GrantRequest::JwtBearer(g) => (
                self.assertion_grant(&req.client, g).await,
                OAuthEvent::AssertionGrant,
            ),
        };
        if result.is_ok() {
            metrics::oauth(event);
        }
        result
    }

    async fn exchange_code(
        &self,
        credentials: &ClientCredentials,
        req: &CodeGrant,
    ) -> Result<TokenResponse> {
        let client = self.authenticate_client(credentials).await?;
        let (code, verifier) = (req.code.as_str(), req.code_verifier.as_str());
        self.check_resource(req.resource.as_deref())?;
        let now = self.services.clock.now();
        let store = &self.services.store;
        let hash = hash_secret(code);
        // Every check that changes nothing runs before the write transaction, keeping it short.
        let row = match store.code(&hash).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(invalid_grant("unknown authorization code")),
            Err(e) => return Err(e.into()),
        };
        if row.client_id != client.id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if row.used_at.is_some() {
            return self.code_replayed(&row.grant_id).await;
        }
        if row.expires_at <= now {
            return Err(invalid_grant("the authorization code has expired"));
        }
        if req
            .redirect_uri
            .as_deref()
            .is_some_and(|r| r != row.redirect_uri)
        {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        if !pkce_matches(verifier, &row.code_challenge) {
            return Err(invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        let Some(grant) = store.live_grant(&row.grant_id, now).await? else {
            return Err(invalid_grant("the authorization was revoked"));
        };
        // Codes and refresh tokens are not cached; a revocation inside marks the transaction itself.
        let mut tx = store.begin_untracked().await?;
        if !store.use_code(&mut tx, &hash, now).await? {
            // Another exchange of the same code won the race: that is a replay too.
            drop(tx);
            return self.code_replayed(&row.grant_id).await;
        }
        let refresh = super::new_secret("sgr_");
        self.store_refresh(
            &mut tx,
            &refresh,
            &grant.grant_id,
            &client.id,
            &grant.scopes,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.respond(
            &grant.grant_id,
            &grant.user_id,
            &client.id,
            &grant.scopes,
            refresh,
        )
        .await
    }

    /// A code used twice: refuse it and end every token issued from it (OAuth 2.1 §4.1.3).
    async fn code_replayed(&self, grant: &GrantId) -> Result<TokenResponse> {
        let mut tx = self.services.store.begin().await?;
        self.end_grant(&mut tx, grant, "code_replay").await?;
        tx.commit().await.map_err(StoreError::from)?;
        Err(invalid_grant("the authorization code was already used"))
    }

    pub(super) async fn store_refresh(
        &self,
        tx: &mut Tx,
        token: &str,
        grant: &GrantId,
        client: &str,
        scopes: &ScopeSet,
    ) -> Result<()> {
        let now = self.services.clock.now();
        let row = RefreshRow {
            grant_id: grant.clone(),
            client_id: client.to_owned(),
            scopes: scopes.clone(),
            expires_at: now + Duration::days(self.config.refresh_token_ttl_days as i64),
            superseded_at: None,
            successor_hash: None,
        };
        self.services
            .store
            .insert_refresh(tx, &hash_secret(token), &row, now)
            .await?;
        Ok(())
    }

    pub(super) async fn respond(
        &self,
        grant: &GrantId,
        user: &crate::ids::UserId,
        client: &str,
        scopes: &ScopeSet,
        refresh_token: String,
    ) -> Result<TokenResponse> {
        let scope = scopes.to_string();
        let (access_token, expires_in) = self.mint_access(grant, user, client, &scope).await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token: Some(refresh_token),
            scope,
        })
    }

    /// Revokes a grant inside `tx`, with an audit row naming why.
    pub(crate) async fn end_grant(&self, tx: &mut Tx, grant: &GrantId, by: &str) -> Result<bool> {
        let store = &self.services.store;
        let now = self.services.clock.now();
        let live = store.revoke_grant(tx, grant, by, now).await?;
        if live {
            let g = store.grant(grant).await;
            if let Ok(g) = g {
                let rec = AuditRecord {
                    org_id: &g.org_id,
                    actor_type: ActorType::System,
                    actor_id: by,
                    user_id: Some(&g.user_id),
                    action: "oauth.grant_revoked",
                    target_type: "oauth_grant",
                    target_id: grant.as_str(),
                    detail: json!({ "by": by, "client_id": g.client_id }).to_string(),
                };
                store.insert_audit(tx, &rec, now).await?;
            }
        }
        Ok(live)
    }
}
