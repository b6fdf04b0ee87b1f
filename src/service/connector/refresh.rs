//! `grant_type=refresh_token`: rotated on every use, with an idempotent retry window and reuse
//! detection (checklist D6). The common case is one short transaction; the rest explains a refusal.

use serde_json::json;
use time::Duration;

use super::scope::ScopeSet;
use super::token::{invalid_grant, ClientCredentials, RefreshGrant, TokenResponse};
use super::{hash_secret, AuthServer, OAuthError, Result};
use crate::domain::connector::{Client, LiveGrant, RefreshRow};
use crate::domain::ActorType;
use crate::store::{AuditRecord, StoreError};
use crate::telemetry::metrics::{self, OAuthEvent};

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
    pub(super) async fn refresh(
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
}
