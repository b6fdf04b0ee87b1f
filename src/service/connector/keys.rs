//! Signing keys and access tokens. HS256 (see ARCHITECTURE.md, "OAuth"): keys live in the database,
//! encrypted (`store::sealed`), so every instance signs and verifies alike; each has a `kid`; the newest
//! signs, and a rotated-out key keeps verifying until every token it signed has expired.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use tokio::time::Instant;

use super::{AuthServer, OAuthError};
use crate::domain::connector::LiveGrant;
use crate::ids::{GrantId, KeyId, UserId};

struct SigningKey {
    kid: String,
    secret: Vec<u8>,
    created_at: OffsetDateTime,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The keys read from the database, newest first. Rows never change once written, so a cached key is
/// always right; an unknown `kid` triggers a reload, at most one a second (see [`KeyRing::reload_for`]).
#[derive(Default)]
pub struct KeyRing {
    keys: RwLock<Vec<Arc<SigningKey>>>,
    /// When the last reload for an unknown `kid` began, and whether one is running now.
    reload: std::sync::Mutex<ReloadState>,
    /// Reloads begun for unknown key ids.
    reloads: AtomicU64,
}

#[derive(Default)]
struct ReloadState {
    last: Option<Instant>,
    running: bool,
}

/// The shortest time between two reloads for unknown key ids. A token naming a made-up `kid` would
/// otherwise cost a database read each; this way a flood of them costs one read a second.
const RELOAD_GAP: std::time::Duration = std::time::Duration::from_secs(1);

/// Marks the reload finished however its future ends (done, failed, or dropped with its request).
struct Running<'a>(&'a std::sync::Mutex<ReloadState>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).running = false;
    }
}

impl KeyRing {
    fn newest(&self) -> Option<Arc<SigningKey>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.first().cloned()
    }

    fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.iter().find(|k| k.kid == kid).cloned()
    }

    fn all(&self) -> Vec<Arc<SigningKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn replace(&self, rows: KeyRows) {
        let loaded = rows
            .into_iter()
            .map(|(kid, secret, created_at)| {
                Arc::new(SigningKey {
                    kid,
                    secret: secret.as_bytes().to_vec(),
                    created_at,
                    encoding: EncodingKey::from_secret(secret.as_bytes()),
                    decoding: DecodingKey::from_secret(secret.as_bytes()),
                })
            })
            .collect();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = loaded;
    }

    /// How many reloads unknown key ids have caused in this instance (for tests and diagnostics).
    pub fn unknown_kid_reloads(&self) -> u64 {
        self.reloads.load(Ordering::SeqCst)
    }

    /// Finds `kid`, reading the keys again with `load` when no reload ran in the last [`RELOAD_GAP`]
    /// and none is running. Nobody waits for a reload another request began: while one runs, or within
    /// the gap after one began, an unknown `kid` is refused at once. A flood of made-up key ids so costs
    /// one read a second and holds no request, and a key another instance has just made is found by
    /// the first request that names it outside the gap (or by its retry a second later).
    async fn reload_for<F, Fut>(&self, kid: &str, load: F) -> Result<Arc<SigningKey>, AccessError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<KeyRows, crate::store::StoreError>>,
    {
        {
            let mut state = self.reload.lock().unwrap_or_else(|p| p.into_inner());
            let recent = state.last.is_some_and(|at| at.elapsed() < RELOAD_GAP);
            if state.running || recent {
                drop(state);
                return self.find(kid).ok_or(AccessError::Invalid);
            }
            state.running = true;
            state.last = Some(Instant::now());
        }
        let _running = Running(&self.reload);
        self.reloads.fetch_add(1, Ordering::SeqCst);
        let rows = load().await.map_err(|_| AccessError::Unavailable)?;
        self.replace(rows);
        self.find(kid).ok_or(AccessError::Invalid)
    }
}

type KeyRows = Vec<(String, String, OffsetDateTime)>;

/// Tokens whose signature, issuer and audience this instance has already checked, by SHA-256 of the
/// token, until they expire. Checking a JWT costs more than the rest of a cached `/mcp` call (header and
/// claims parsing, an HMAC key schedule); a connector sends the same token for its whole lifetime. Only
/// the token's own checks are remembered: expiry is compared again on every hit and the grant's
/// liveness is never cached here, so revocation stays immediate. A signing key outlives every token it
/// signed (rotation keeps it until they have expired), so a remembered token never outlives its key.
#[derive(Default)]
pub struct VerifiedTokens {
    map: RwLock<HashMap<[u8; 32], Arc<Claims>>>,
}

/// Entries kept at most; a full map first drops expired tokens, then starts over.
const VERIFIED_CAP: usize = 4096;

impl VerifiedTokens {
    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, key: &[u8; 32], now: i64) -> Option<Arc<Claims>> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|c| c.exp > now).cloned()
    }

    fn put(&self, key: [u8; 32], claims: Arc<Claims>, now: i64) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= VERIFIED_CAP {
            map.retain(|_, c| c.exp > now);
            if map.len() >= VERIFIED_CAP {
                map.clear();
            }
        }
        map.insert(key, claims);
    }
}

/// The claims of an access token. `grant` is what the resource server checks in the database.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub grant: String,
}

/// Why a bearer token was refused; all of them are `invalid_token` on the wire (RFC 6750 §3.1).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("the access token is malformed, expired, or not for this resource")]
    Invalid,
    #[error("the access token's grant has been revoked")]
    Revoked,
    #[error("token check unavailable")]
    Unavailable,
}

impl AuthServer {
    /// Loads the keys, and makes a new one when there is none or the newest is due for rotation.
    pub async fn ensure_signing_key(&self) -> Result<(), OAuthError> {
        let now = self.services.clock.now();
        let rows = self.services.store.signing_keys(now).await?;
        let rotate_after = Duration::days(self.config.key_rotation_days as i64);
        let due = rows
            .first()
            .is_none_or(|(_, _, created)| now - *created > rotate_after);
        if due {
            // Tokens signed by the outgoing key live at most one access-token lifetime more; the margin also
            // covers an instance that keeps signing with it until its next upkeep reload.
            let retire = now
                + Duration::seconds(self.config.access_token_ttl_secs as i64)
                + Duration::minutes(20);
            let secret = super::new_secret("");
            self.services
                .store
                .insert_signing_key(KeyId::generate().as_str(), &secret, retire, now)
                .await?;
        }
        self.keys
            .replace(self.services.store.signing_keys(now).await?);
        Ok(())
    }

    async fn signing_key(&self) -> Result<Arc<SigningKey>, OAuthError> {
        if let Some(k) = self.keys.newest() {
            let age = self.services.clock.now() - k.created_at;
            if age <= Duration::days(self.config.key_rotation_days as i64) {
                return Ok(k);
            }
        }
        self.ensure_signing_key().await?;
        self.keys
            .newest()
            .ok_or_else(|| OAuthError::InvalidRequest("no signing key".into()))
    }

    /// Signs an access token for one grant. Returns the token and its lifetime in seconds.
    pub async fn mint_access(
        &self,
        grant: &GrantId,
        user: &UserId,
        client_id: &str,
        scope: &str,
    ) -> Result<(String, u64), OAuthError> {
        self.mint_access_for(
            grant,
            user,
            client_id,
            scope,
            self.config.access_token_ttl_secs,
        )
        .await
    }

    /// [`Self::mint_access`] with a lifetime of `ttl` seconds.
    pub async fn mint_access_for(
        &self,
        grant: &GrantId,
        user: &UserId,
        client_id: &str,
        scope: &str,
        ttl: u64,
    ) -> Result<(String, u64), OAuthError> {
        let key = self.signing_key().await?;
        let now = self.services.clock.now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: user.to_string(),
            aud: self.resource.clone(),
            exp: now.unix_timestamp() + ttl as i64,
            iat: now.unix_timestamp(),
            jti: crate::ids::random_hex(12),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            grant: grant.to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|_| OAuthError::InvalidRequest("could not sign the token".into()))?;
        Ok((token, ttl))
    }

    /// Checks only the token itself: signature, `kid`, expiry (by our clock), issuer and audience; a token
    /// already checked here is answered from [`VerifiedTokens`].
    pub async fn decode_access(&self, token: &str) -> Result<Arc<Claims>, AccessError> {
        let now = self.services.clock.now().unix_timestamp();
        let key = VerifiedTokens::key(token);
        if let Some(c) = self.verified.get(&key, now) {
            return Ok(c);
        }
        let claims = Arc::new(self.check_access(token).await?);
        self.verified.put(key, claims.clone(), now);
        Ok(claims)
    }

    async fn check_access(&self, token: &str) -> Result<Claims, AccessError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessError::Invalid)?;
        let kid = header.kid.ok_or(AccessError::Invalid)?;
        let key = match self.keys.find(&kid) {
            Some(k) => k,
            // Only our own shape of key id can be in the database; anything else needs no read.
            None if KeyId::parse(&kid).is_none() => return Err(AccessError::Invalid),
            // Another instance may have rotated: read the keys again.
            None => {
                let services = &self.services;
                self.keys
                    .reload_for(&kid, || services.store.signing_keys(services.clock.now()))
                    .await?
            }
        };
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[&self.resource]);
        v.set_issuer(&[&self.issuer]);
        // Expiry is checked below against the injected clock, so tests can move time.
        v.validate_exp = false;
        v.set_required_spec_claims(&["exp", "aud", "iss"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v)
            .map_err(|_| AccessError::Invalid)?;
        if data.claims.exp <= self.services.clock.now().unix_timestamp() {
            return Err(AccessError::Invalid);
        }
        Ok(data.claims)
    }

    /// The one check the MCP layer calls for every request: a valid token whose grant, connector key,
    /// client, membership and organisation switch are all still live in the database.
    pub async fn verify_access(&self, token: &str) -> Result<LiveGrant, AccessError> {
        let claims = self.decode_access(token).await?;
        let grant = GrantId::parse(&claims.grant).ok_or(AccessError::Invalid)?;
        let now = self.services.clock.now();
        match self.services.store.live_grant(&grant, now).await {
            Ok(Some(mut g)) if g.client_id == claims.client_id => {
                // The token may carry fewer scopes than the grant (narrowed on refresh).
                g.scopes = g
                    .scopes
                    .intersect(&super::scope::ScopeSet::parse_known(&claims.scope));
                Ok(g)
            }
            Ok(_) => Err(AccessError::Revoked),
            Err(_) => Err(AccessError::Unavailable),
        }
    }

    /// The refresh token that replaces `old`: a keyed hash of it, so a retry within the window can be
    /// answered with the same successor without storing any token in clear. Made with the newest key.
    pub async fn successor_of(&self, old: &str) -> Result<String, OAuthError> {
        let key = self.signing_key().await?;
        Ok(derive_successor(&key.secret, old))
    }

    /// Finds the successor of `old` whose hash is `successor_hash`, trying every live key (one may
    /// have rotated in between).
    pub fn recover_successor(&self, old: &str, successor_hash: &str) -> Option<String> {
        self.keys
            .all()
            .iter()
            .map(|k| derive_successor(&k.secret, old))
            .find(|s| super::hash_secret(s) == successor_hash)
    }

    /// The RFC 6750 / RFC 9728 challenge for a 401 from `/mcp`: always the absolute metadata URL.
    pub fn bearer_challenge(&self, error: Option<&AccessError>) -> String {
        let meta = self.endpoint("/.well-known/oauth-protected-resource/mcp");
        match error {
            Some(e) => format!(
                "Bearer resource_metadata=\"{meta}\", error=\"invalid_token\", error_description=\"{e}\""
            ),
            None => format!("Bearer resource_metadata=\"{meta}\""),
        }
    }

    /// The challenge for a 403 when a tool needs a scope the token lacks (RFC 6750 step-up).
    pub fn insufficient_scope_challenge(&self, scope: &str) -> String {
        let meta = self.endpoint("/.well-known/oauth-protected-resource/mcp");
        format!(
            "Bearer resource_metadata=\"{meta}\", error=\"insufficient_scope\", scope=\"{scope}\""
        )
    }
}

fn derive_successor(key: &[u8], old: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this arm only satisfies the type.
        Err(_) => return super::new_secret("sgr_"),
    };
    mac.update(b"statusgate refresh successor\0");
    mac.update(old.as_bytes());
    format!(
        "sgr_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}
