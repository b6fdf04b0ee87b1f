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
use crate::domain::connector::{AuthMethod, Client, LiveGrant, RefreshRow};
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

/// What a token request asks for: one variant per grant type this server issues.
#[derive(Debug, Clone)]
pub enum GrantRequest {
    AuthorizationCode(CodeGrant),
    RefreshToken(RefreshGrant),
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
    pub refresh_token: String,
    pub scope: String,
}

fn invalid_grant(why: &str) -> OAuthError {
    OAuthError::InvalidGrant(why.to_owned())
}

/// The scopes a refresh asks for: those granted when it names none, else a subset of them.
fn narrowed(requested: Option<&str>, granted: &ScopeSet) -> Result<ScopeSet> {
    let requested = ScopeSet::parse_known(requested.unwrap_or_default());
    if requested.is_empty() {
        return Ok(granted.clone());
    }
    if !requested.is_subset_of(granted) {
        return Err(OAuthError::InvalidScope(
            "a refresh may narrow the scope, never widen it".into(),
        ));
    }
    Ok(requested)
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

    async fn refresh(
        &self,
        credentials: &ClientCredentials,
        req: &RefreshGrant,
    ) -> Result<TokenResponse> {
        let client = self.authenticate_client(credentials).await?;
        let old = req.refresh_token.as_str();
        self.check_resource(req.resource.as_deref())?;
        let old_hash = hash_secret(old);
        if let Some(done) = self.rotate(req, &client, old, &old_hash).await? {
            return done;
        }
        self.unrotated(req, &client, old, &old_hash).await
    }

    /// A refresh the one-transaction rotation did not claim: find out why, read-only checks first,
    /// outside the write transaction. An unexpired, unclaimed token of a live grant (the claim lost to
    /// a concurrent write) is rotated here after all.
    async fn unrotated(
        &self,
        req: &RefreshGrant,
        client: &Client,
        old: &str,
        old_hash: &str,
    ) -> Result<TokenResponse> {
        let now = self.services.clock.now();
        let store = &self.services.store;
        let mut row = match store.refresh_token(None, old_hash).await {
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
        let scopes = narrowed(req.scope.as_deref(), &row.scopes)?;
        if row.superseded_at.is_none() {
            let successor = self.successor_of(old).await?;
            // The compare-and-set is the transaction's first statement, so it takes the write lock
            // (SQLite) or the row lock (PostgreSQL) before anything is read: exactly one caller wins.
            let mut tx = store.begin_untracked().await?;
            if store
                .supersede_refresh(&mut tx, old_hash, &hash_secret(&successor), now)
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
            row = store.refresh_token(None, old_hash).await?;
        }
        if let Some(retry) = self.retried(&row, &grant, client, old).await? {
            return Ok(retry);
        }
        self.reused(&grant, client).await
    }

    /// A token already rotated, presented again inside the retry window: the same successor back, if
    /// it is still live (a client that lost the first answer to a network error is not punished).
    async fn retried(
        &self,
        row: &RefreshRow,
        grant: &LiveGrant,
        client: &Client,
        old: &str,
    ) -> Result<Option<TokenResponse>> {
        let now = self.services.clock.now();
        let window = Duration::seconds(self.config.refresh_retry_window_secs as i64);
        if row.superseded_at.is_none_or(|t| now - t > window) {
            return Ok(None);
        }
        let Some(next) = row
            .successor_hash
            .as_deref()
            .and_then(|h| self.recover_successor(old, h))
        else {
            return Ok(None);
        };
        let next_row = self
            .services
            .store
            .refresh_token(None, &hash_secret(&next))
            .await?;
        if next_row.superseded_at.is_some() {
            return Ok(None);
        }
        let (id, user) = (&grant.grant_id, &grant.user_id);
        let answer = self
            .respond(id, user, &client.id, &next_row.scopes, next)
            .await?;
        Ok(Some(answer))
    }

    /// Reuse of a rotated token outside the window: presumed stolen, so the whole grant ends.
    async fn reused(&self, grant: &LiveGrant, client: &Client) -> Result<TokenResponse> {
        let store = &self.services.store;
        let mut tx = store.begin().await?;
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
        store
            .insert_audit(&mut tx, &rec, self.services.clock.now())
            .await?;
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
        req: &RefreshGrant,
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
        let scopes = match narrowed(req.scope.as_deref(), &granted) {
            Ok(s) => s,
            Err(e) => return Ok(Some(Err(e))),
        };
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
