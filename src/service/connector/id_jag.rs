//! Enterprise-managed sign-in: the RFC 7523 jwt-bearer grant carrying an Identity Assertion JWT
//! Authorization Grant (ID-JAG, `typ: oauth-id-jag+jwt`) signed by an identity provider an organisation
//! trusts. No consent screen: the organisation's owner decided, by trusting the issuer, that its members'
//! assertions stand for their consent, within the role cap the owner chose.
//!
//! The assertion must be signed (RS256 or ES256) by a key in the issuer's JWKS, name a trusted `iss`,
//! our issuer as `aud`, our `/mcp` URL as `resource`, the authenticated client as `client_id`, carry
//! `exp`/`iat` within a minute's leeway and a `jti` never redeemed before (on any instance), and its
//! `sub` (our user id) or verified `email` must be a member of the organisation trusting the issuer.
//! It becomes an ordinary grant with its connector key (so `verify_access`, the console and revocation
//! need nothing new) and a one-hour access token; no refresh token: the client asks its identity
//! provider for a fresh assertion instead.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::authorize::service_to_oauth;
use super::scope::ScopeSet;
use super::token::{invalid_grant, AssertionGrant, ClientCredentials, TokenResponse};
use super::{AuthServer, OAuthError, Result};
use crate::domain::connector::{ClientKind, Grant, TrustedIssuer};
use crate::domain::{DomainError, Permission, Role};
use crate::ids::{GrantId, OrgId, UserId};
use crate::service::{Principal, ServiceError};
use crate::store::StoreError;

/// The `typ` an ID-JAG carries (with or without the `application/` prefix, RFC 8725 §3.11).
const TYP: &str = "oauth-id-jag+jwt";
/// Clock difference tolerated on `exp` and `iat`.
const LEEWAY_SECS: i64 = 60;
/// The longest an access token from an assertion lives.
const MAX_TTL_SECS: u64 = 3_600;
/// The longest accepted issuer or JWKS URL.
const MAX_URL_BYTES: usize = 2_048;

/// The claims this server reads from an ID-JAG; `aud` and `resource` may be a string or a list.
#[derive(Deserialize)]
struct Assertion {
    iss: String,
    sub: String,
    aud: Value,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    resource: Option<Value>,
    scope: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
}

/// Whether a string-or-list claim names `want`.
fn names(claim: &Value, want: &str) -> bool {
    match claim {
        Value::String(s) => s.trim_end_matches('/') == want,
        Value::Array(list) => list
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.trim_end_matches('/') == want)),
        _ => false,
    }
}

/// The payload's `iss`, read before the signature is checked only to find whose keys to check it with.
fn unverified_issuer(assertion: &str) -> Option<String> {
    use base64::Engine;
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

/// An issuer or JWKS URL an owner typed: https, a host, no credentials, no fragment.
fn checked_url(field: &'static str, raw: &str, allow_http: bool) -> Result<String, DomainError> {
    let raw = raw.trim();
    let bad = |why: &str| DomainError::invalid(field, why.to_owned());
    if raw.is_empty() || raw.len() > MAX_URL_BYTES {
        return Err(bad("must be a URL of at most 2,048 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must be an https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(bad("must carry no credentials and no fragment"));
    }
    Ok(raw.to_owned())
}

impl AuthServer {
    pub(super) async fn assertion_grant(
        &self,
        credentials: &ClientCredentials,
        req: &AssertionGrant,
    ) -> Result<TokenResponse> {
        let client = self.authenticate_client(credentials).await?;
        self.check_resource(req.resource.as_deref())?;
        let (claims, trusted) = self.verify_assertion(&req.assertion).await?;
        if claims.client_id != client.id {
            return Err(invalid_grant(
                "the assertion was issued to another client_id",
            ));
        }
        let (issuer, user, role) = self.assertion_member(&claims, &trusted).await?;
        let org = &issuer.org_id;
        let store = &self.services.store;
        let settings = store.org_settings(org).await?;
        if let Some(why) = settings.refuses_client(org, &client) {
            return Err(invalid_grant(&format!("that organisation refused: {why}")));
        }
        let writes = settings.allow_write
            && role.allows(Permission::IncidentManage)
            && issuer.role_cap.allows(Permission::IncidentManage);
        let allowed = ScopeSet::of(ScopeSet::all().iter().filter(|s| !s.is_write() || writes));
        let requested = ScopeSet::parse_tolerant(req.scope.as_deref().or(claims.scope.as_deref()));
        let scopes = requested.intersect(&allowed);
        if scopes.is_empty() {
            return Err(OAuthError::InvalidScope(
                "none of the requested scopes is allowed".into(),
            ));
        }
        let now = self.services.clock.now();
        let ttl = self.config.access_token_ttl_secs.min(MAX_TTL_SECS);
        let grant = Grant {
            id: GrantId::generate(),
            org_id: org.clone(),
            user_id: user.clone(),
            client_id: client.id.clone(),
            tools: scopes.tools().into_iter().map(str::to_owned).collect(),
            scopes,
            resource: self.resource.clone(),
            created_at: now,
        };
        // A new assertion for the same person and client replaces the connection it made before, as
        // re-consent does; read first, so the transaction starts with its write (see store_approval).
        let earlier = store
            .live_grant_ids_like(&client.id, Some(org), Some(&user))
            .await?;
        let mut tx = store.begin().await?;
        let expires = instant(claims.exp);
        if !store
            .use_assertion(&mut tx, &claims.iss, &claims.jti, expires)
            .await?
        {
            return Err(invalid_grant("the assertion was already used"));
        }
        if client.kind == ClientKind::Document {
            self.store_document(&mut tx, &client, now).await?;
        }
        for old in earlier {
            store
                .revoke_grant(&mut tx, &old, "reassertion", now)
                .await?;
        }
        let key_expires = now + Duration::seconds(ttl as i64);
        self.insert_grant_with_key(&mut tx, &grant, &client.name, Some(key_expires))
            .await?;
        let detail = json!({ "issuer": claims.iss, "jti": claims.jti, "client_id": client.id, "client_name": client.name, "scopes": grant.scopes.to_string() });
        self.services
            .audit(
                &mut tx,
                &Principal::user(user.clone()),
                org,
                "oauth.assertion_granted",
                ("oauth_grant", grant.id.as_str()),
                detail,
            )
            .await
            .map_err(service_to_oauth)?;
        tx.commit().await.map_err(StoreError::from)?;
        let scope = grant.scopes.to_string();
        let (access_token, expires_in) = self
            .mint_access_for(&grant.id, &user, &client.id, &scope, ttl)
            .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token: None,
            scope,
        })
    }

    /// Checks the assertion's header, signature and claims; returns them with the trusted-issuer rows
    /// whose keys verified it (one per organisation trusting that issuer).
    async fn verify_assertion(&self, assertion: &str) -> Result<(Assertion, Vec<TrustedIssuer>)> {
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| invalid_grant("the assertion is not a JWT"))?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t == TYP || t.strip_prefix("application/") == Some(TYP)
        });
        if !typ_ok {
            return Err(invalid_grant(
                "the assertion's typ must be oauth-id-jag+jwt",
            ));
        }
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(invalid_grant(
                "the assertion must be signed with RS256 or ES256",
            ));
        }
        let iss = unverified_issuer(assertion)
            .ok_or_else(|| invalid_grant("the assertion has no iss"))?;
        let entries = self.services.store.issuers_named(&iss).await?;
        if entries.is_empty() {
            return Err(invalid_grant("the assertion's issuer is not trusted here"));
        }
        let mut validation = Validation::new(header.alg);
        // Every claim is checked below, by our clock; the library checks the signature only.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut verified: Option<Assertion> = None;
        let mut trusted = Vec::new();
        let mut last_error = String::new();
        for entry in entries {
            let key = match self
                .issuer_key(&entry.jwks_uri, header.kid.as_deref())
                .await
            {
                Ok(jwk) => DecodingKey::from_jwk(&jwk)
                    .map_err(|_| "the issuer's key is unusable".to_owned()),
                Err(why) => Err(why),
            };
            match key.and_then(|k| {
                jsonwebtoken::decode::<Assertion>(assertion, &k, &validation)
                    .map_err(|e| format!("the assertion's signature does not verify ({e})"))
            }) {
                Ok(data) => {
                    verified = Some(data.claims);
                    trusted.push(entry);
                }
                Err(why) => last_error = why,
            }
        }
        let claims = verified.ok_or_else(|| invalid_grant(&last_error))?;
        self.check_claims(&claims)?;
        Ok((claims, trusted))
    }

    fn check_claims(&self, c: &Assertion) -> Result<()> {
        let now = self.services.clock.now().unix_timestamp();
        if !names(&c.aud, &self.issuer) {
            return Err(invalid_grant(
                "the assertion's aud is not this server's issuer",
            ));
        }
        if !c
            .resource
            .as_ref()
            .is_some_and(|r| names(r, &self.resource))
        {
            return Err(invalid_grant(
                "the assertion's resource is not this server's /mcp URL",
            ));
        }
        if c.exp + LEEWAY_SECS <= now {
            return Err(invalid_grant("the assertion has expired"));
        }
        if c.iat > now + LEEWAY_SECS {
            return Err(invalid_grant("the assertion was issued in the future"));
        }
        if c.jti.is_empty() || c.sub.is_empty() {
            return Err(invalid_grant("the assertion needs a sub and a jti"));
        }
        Ok(())
    }

    /// The member the assertion names, in exactly one organisation trusting its issuer: `sub` as our
    /// user id, or the `email` when the issuer says it verified it.
    async fn assertion_member(
        &self,
        c: &Assertion,
        trusted: &[TrustedIssuer],
    ) -> Result<(TrustedIssuer, UserId, Role)> {
        let email = c
            .email
            .as_deref()
            .filter(|_| c.email_verified == Some(true));
        let mut found = Vec::new();
        for t in trusted {
            if let Some((user, role)) = self
                .services
                .store
                .member_named(&t.org_id, Some(&c.sub), email)
                .await?
            {
                found.push((t.clone(), user, role));
            }
        }
        match found.len() {
            0 => Err(invalid_grant(
                "the assertion's subject is not a member of an organisation that trusts its issuer",
            )),
            1 => Ok(found.remove(0)),
            _ => Err(invalid_grant(
                "the assertion's subject is a member of several organisations trusting its issuer",
            )),
        }
    }

    /// The identity providers `org` trusts. Owners only, as for changing them.
    pub async fn trusted_issuers(
        &self,
        who: &Principal,
        org: &OrgId,
    ) -> crate::service::Result<Vec<TrustedIssuer>> {
        self.require_owner(who, org).await?;
        Ok(self.services.store.trusted_issuers(org).await?)
    }

    /// Trusts `issuer` (keys at `jwks_uri`) for `org`'s enterprise-managed sign-in, capped at
    /// `role_cap`; audited.
    pub async fn add_trusted_issuer(
        &self,
        who: &Principal,
        org: &OrgId,
        issuer: &str,
        jwks_uri: &str,
        role_cap: &str,
    ) -> crate::service::Result<()> {
        self.require_owner(who, org).await?;
        let allow_http = self.config.jwks_allow_private_targets;
        let entry = TrustedIssuer {
            org_id: org.clone(),
            issuer: checked_url("issuer", issuer, allow_http)?,
            jwks_uri: checked_url("jwks_uri", jwks_uri, allow_http)?,
            role_cap: Role::parse(role_cap)?,
            created_at: self.services.clock.now(),
        };
        let s = &self.services;
        let mut tx = s.store.begin().await?;
        match s.store.insert_trusted_issuer(&mut tx, &entry).await {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(
                    "this organisation already trusts that issuer".into(),
                ))
            }
            other => other?,
        }
        let detail = json!({ "issuer": entry.issuer, "jwks_uri": entry.jwks_uri, "role_cap": entry.role_cap.as_str() });
        s.audit(
            &mut tx,
            who,
            org,
            "hosted_mcp.issuer_trusted",
            ("org", org.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Stops trusting `issuer` for `org`; audited. Connections it made stay until revoked or expired
    /// (at most an hour: an assertion's token is never refreshed).
    pub async fn remove_trusted_issuer(
        &self,
        who: &Principal,
        org: &OrgId,
        issuer: &str,
    ) -> crate::service::Result<()> {
        self.require_owner(who, org).await?;
        let s = &self.services;
        let mut tx = s.store.begin().await?;
        match s.store.delete_trusted_issuer(&mut tx, org, issuer).await {
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound("trusted issuer")),
            other => other?,
        }
        let detail = json!({ "issuer": issuer });
        s.audit(
            &mut tx,
            who,
            org,
            "hosted_mcp.issuer_removed",
            ("org", org.as_str()),
            detail,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Settings-manage there, and the owner role: trusting an issuer lets it sign anyone in.
    async fn require_owner(&self, who: &Principal, org: &OrgId) -> crate::service::Result<()> {
        let s = &self.services;
        s.require(who, org, Permission::SettingsManage, "organisation")
            .await?;
        if s.store.role_of(org, &who.user_id).await? != Some(Role::Owner) {
            return Err(ServiceError::Forbidden(
                "only an owner can choose which identity providers sign people in".into(),
            ));
        }
        Ok(())
    }
}

/// When an assertion's `exp` falls, for the replay row's lifetime.
fn instant(secs: i64) -> OffsetDateTime {
    crate::clock::from_millis(secs.saturating_mul(1000))
}
