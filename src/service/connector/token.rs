//! The token endpoint's grants: `authorization_code` (single use, bound to client, redirect URI, PKCE
//! challenge and grant) and `refresh_token` (rotated on every use, with an idempotent retry window and
//! reuse detection, checklist D6). Client authentication for this endpoint and revocation lives here too.

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

/// A token request's parameters, form fields and the HTTP Basic credentials alike.
#[derive(Debug, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub basic: Option<(String, String)>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: String,
}

fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::InvalidGrant(why.to_owned())
}

impl AuthServer {
    /// RFC 6749 §2.3: one method only; secret clients must prove the secret, public ones send their id.
    pub async fn authenticate_client(&self, req: &TokenRequest) -> Result<Client> {
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
        match req.grant_type.as_deref() {
            Some("authorization_code") => {
                let r = self.exchange_code(req).await;
                if r.is_ok() {
                    metrics::oauth(OAuthEvent::CodeExchange);
                }
                r
            }
            Some("refresh_token") => {
                let r = self.refresh(req).await;
                if r.is_ok() {
                    metrics::oauth(OAuthEvent::Refresh);
                }
                r
            }
            None => Err(OAuthError::InvalidRequest("grant_type is missing".into())),
            Some(_) => Err(OAuthError::UnsupportedGrantType),
        }
    }

    async fn exchange_code(&self, req: &TokenRequest) -> Result<TokenResponse> {
        let client = self.authenticate_client(req).await?;
        let code = req
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("code is missing".into()))?;
        let verifier = req
            .code_verifier
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("code_verifier is missing".into()))?;
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

    async fn store_refresh(
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

    async fn respond(
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
            refresh_token,
            scope,
        })
    }

    async fn refresh(&self, req: &TokenRequest) -> Result<TokenResponse> {
        let client = self.authenticate_client(req).await?;
        let old = req
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is missing".into()))?;
        self.check_resource(req.resource.as_deref())?;
        let now = self.services.clock.now();
        let store = &self.services.store;
        let old_hash = hash_secret(old);
        if let Some(done) = self.rotate(req, &client, old, &old_hash).await? {
            return done;
        }
        // Not rotated: find out why, read-only checks first, outside the write transaction.
        let mut row = match store.refresh_token(None, &old_hash).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(invalid_grant("unknown refresh token")),
            Err(e) => return Err(e.into()),
        };
        if row.client_id != client.id {
            return Err(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if row.expires_at <= now {
            return Err(invalid_grant("the refresh token has expired"));
        }
        let Some(grant) = store.live_grant(&row.grant_id, now).await? else {
            return Err(invalid_grant("the authorization was revoked"));
        };
        let requested = ScopeSet::parse_known(req.scope.as_deref().unwrap_or_default());
        let scopes = if requested.is_empty() {
            row.scopes.clone()
        } else {
            requested
        };
        if !scopes.is_subset_of(&row.scopes) {
            return Err(OAuthError::InvalidScope(
                "a refresh may narrow the scope, never widen it".into(),
            ));
        }
        if row.superseded_at.is_none() {
            let successor = self.successor_of(old).await?;
            // The compare-and-set is the transaction's first statement, so it takes the write lock
            // (SQLite) or the row lock (PostgreSQL) before anything is read: exactly one caller wins.
            let mut tx = store.begin_untracked().await?;
            if store
                .supersede_refresh(&mut tx, &old_hash, &hash_secret(&successor), now)
                .await?
            {
                self.store_refresh(&mut tx, &successor, &grant.grant_id, &client.id, &scopes)
                    .await?;
                tx.commit().await.map_err(StoreError::from)?;
                return self
                    .respond(
                        &grant.grant_id,
                        &grant.user_id,
                        &client.id,
                        &scopes,
                        successor,
                    )
                    .await;
            }
            // Lost a race; the winner has committed by now. Read what it wrote.
            drop(tx);
            row = store.refresh_token(None, &old_hash).await?;
        }
        // Already rotated: a retry inside the window gets the same successor back, if it is still live.
        let window = Duration::seconds(self.config.refresh_retry_window_secs as i64);
        if row.superseded_at.is_some_and(|t| now - t <= window) {
            if let Some(next) = row
                .successor_hash
                .as_deref()
                .and_then(|h| self.recover_successor(old, h))
            {
                let next_row = store.refresh_token(None, &hash_secret(&next)).await?;
                if next_row.superseded_at.is_none() {
                    return self
                        .respond(
                            &grant.grant_id,
                            &grant.user_id,
                            &client.id,
                            &next_row.scopes,
                            next,
                        )
                        .await;
                }
            }
        }
        let mut tx = store.begin().await?;
        // Reuse of a rotated token outside the window: presumed stolen, so the whole grant ends.
        self.end_grant(&mut tx, &grant.grant_id, "refresh_reuse")
            .await?;
        let rec = AuditRecord {
            org_id: &grant.org_id,
            actor_type: ActorType::Mcp,
            actor_id: &client.id,
            user_id: Some(&grant.user_id),
            action: "oauth.refresh_reuse_detected",
            target_type: "oauth_grant",
            target_id: grant.grant_id.as_str(),
            detail: json!({ "client_id": client.id }).to_string(),
        };
        store.insert_audit(&mut tx, &rec, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        metrics::oauth(OAuthEvent::RefreshReuse);
        Err(invalid_grant("the refresh token was already used"))
    }

    /// The common case in one short transaction: the compare-and-set claims a live, unexpired token of
    /// this client as its first statement (taking the write lock or the row lock before anything is
    /// read), the grant's liveness and the scope are checked, and the successor is stored. `None` when
    /// the token was not claimed; a failed check after the claim rolls it back.
    async fn rotate(
        &self,
        req: &TokenRequest,
        client: &Client,
        old: &str,
        old_hash: &str,
    ) -> Result<Option<Result<TokenResponse>>> {
        let now = self.services.clock.now();
        let store = &self.services.store;
        let successor = self.successor_of(old).await?;
        let mut tx = store.begin_untracked().await?;
        let Some((grant_id, granted)) = store
            .claim_refresh(&mut tx, old_hash, &hash_secret(&successor), &client.id, now)
            .await?
        else {
            return Ok(None);
        };
        let Some(grant) = store.live_grant(&grant_id, now).await? else {
            return Ok(Some(Err(invalid_grant("the authorization was revoked"))));
        };
        let requested = ScopeSet::parse_known(req.scope.as_deref().unwrap_or_default());
        let scopes = if requested.is_empty() {
            granted.clone()
        } else {
            requested
        };
        if !scopes.is_subset_of(&granted) {
            return Ok(Some(Err(OAuthError::InvalidScope(
                "a refresh may narrow the scope, never widen it".into(),
            ))));
        }
        self.store_refresh(&mut tx, &successor, &grant_id, &client.id, &scopes)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        let done = self
            .respond(&grant_id, &grant.user_id, &client.id, &scopes, successor)
            .await;
        Ok(Some(done))
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
