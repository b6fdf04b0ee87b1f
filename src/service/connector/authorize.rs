//! The authorization endpoint's logic: check a request (RFC 6749 §4.1.1, OAuth 2.1, RFC 7636, RFC 8707),
//! then turn an approved consent into a grant, its connector key and a single-use code.
//!
//! Consent state is not stored: the consent form carries the original request parameters, and the POST
//! checks them again from scratch, so any instance can finish a flow another one started.

use crate::telemetry::metrics::{self, OAuthEvent};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::Duration;

use super::scope::ScopeSet;
use super::{redirect, AuthServer, OAuthError, Result};
use crate::domain::connector::{Client, ClientKind, CodeRow, Grant};
use crate::domain::KeyKind;
use crate::domain::Permission;
use crate::ids::{ApiKeyId, GrantId, OrgId, UserId};
use crate::service::Principal;
use crate::store::api_keys::NewApiKey;

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: ScopeSet,
    /// The parameters as received, for the consent form to send back.
    pub params: Vec<(String, String)>,
}

/// Where an authorization failure goes.
#[derive(Debug)]
pub enum AuthorizeError {
    /// No trustworthy redirect URI: shown to the person, never redirected (RFC 6749 §4.1.2.1). This
    /// includes every error of a client nobody has approved yet (RFC 9700 §4.11.2: an unverified
    /// redirect URI would make statusgate an open redirector).
    Page(String),
    /// Sent back to the client's registered redirect URI, with `state` and `iss`.
    Redirect(String),
    /// The client's metadata document may not be fetched now (over a fetch budget): a 429 page with
    /// `Retry-After` set to the seconds inside, never redirected.
    Busy(u64),
    Server(OAuthError),
}

const PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

/// RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
fn pkce_shape(s: &str, min: usize) -> bool {
    (min..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// S256: BASE64URL(SHA256(verifier)) equals the challenge, compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    if !pkce_shape(verifier, 43) {
        return false;
    }
    let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    bool::from(digest.as_bytes().ct_eq(challenge.as_bytes()))
}

impl AuthServer {
    /// `redirect_uri` with `pairs` and `iss` added to its query.
    pub fn redirect_with(&self, redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
        match url::Url::parse(redirect_uri) {
            Ok(mut u) => {
                {
                    let mut q = u.query_pairs_mut();
                    for (k, v) in pairs {
                        q.append_pair(k, v);
                    }
                    q.append_pair("iss", &self.issuer);
                }
                u.to_string()
            }
            Err(_) => redirect_uri.to_owned(),
        }
    }

    fn error_redirect(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        e: &OAuthError,
    ) -> AuthorizeError {
        let code = e.to_string();
        let desc = e.description();
        let mut pairs = vec![
            ("error", code.as_str()),
            ("error_description", desc.as_str()),
        ];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        AuthorizeError::Redirect(self.redirect_with(redirect_uri, &pairs))
    }

    /// Checks an authorization request given as its raw parameters (query or consent form), sent
    /// from the client address whose bucket key is `from`.
    pub async fn check_authorize(
        &self,
        raw: &[(String, String)],
        from: &str,
    ) -> Result<AuthRequest, AuthorizeError> {
        let get = |name: &str| raw.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let repeated = |name: &str| raw.iter().filter(|(k, _)| k == name).count() > 1;
        if repeated("client_id") || repeated("redirect_uri") {
            return Err(AuthorizeError::Page(
                "client_id and redirect_uri may appear only once".into(),
            ));
        }
        let client_id =
            get("client_id").ok_or_else(|| AuthorizeError::Page("client_id is missing".into()))?;
        let client = match self.authorizing_client(client_id, from).await {
            Ok(c) => c,
            Err(OAuthError::Server(e)) => return Err(AuthorizeError::Server(e.into())),
            Err(OAuthError::TooManyRequests(secs)) => return Err(AuthorizeError::Busy(secs)),
            Err(e) => {
                return Err(AuthorizeError::Page(format!(
                    "This application is not registered here: {}",
                    e.description()
                )))
            }
        };
        let redirect_uri = match get("redirect_uri") {
            Some(r)
                if client
                    .redirect_uris
                    .iter()
                    .any(|reg| redirect::matches(reg, r)) =>
            {
                r.to_owned()
            }
            Some(_) => {
                return Err(AuthorizeError::Page(
                    "redirect_uri is not registered for this application".into(),
                ))
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris.concat(),
            None => {
                return Err(AuthorizeError::Page(
                    "redirect_uri is required for this application".into(),
                ))
            }
        };
        let state = get("state");
        let fail = |e: OAuthError| {
            if client.approved {
                self.error_redirect(&redirect_uri, state, &e)
            } else {
                AuthorizeError::Page(format!(
                    "This authorization request cannot be used: {}",
                    e.description()
                ))
            }
        };
        if let Some(p) = PARAMS.iter().find(|p| repeated(p)) {
            return Err(fail(OAuthError::InvalidRequest(format!(
                "{p} appears more than once"
            ))));
        }
        if get("response_type") != Some("code") {
            return Err(fail(OAuthError::UnsupportedResponseType));
        }
        let challenge = get("code_challenge").unwrap_or_default();
        if get("code_challenge_method") != Some("S256")
            || !pkce_shape(challenge, 43)
            || challenge.len() != 43
        {
            return Err(fail(OAuthError::InvalidRequest(
                "PKCE is required: code_challenge (43 characters) with code_challenge_method=S256"
                    .into(),
            )));
        }
        self.check_resource(get("resource")).map_err(fail)?;
        Ok(AuthRequest {
            scopes: ScopeSet::parse_tolerant(get("scope")),
            code_challenge: challenge.to_owned(),
            state: state.map(str::to_owned),
            redirect_uri,
            client,
            params: raw
                .iter()
                .filter(|(k, _)| PARAMS.contains(&k.as_str()))
                .cloned()
                .collect(),
        })
    }

    /// The scopes `user` may grant in `org` to this request's client: reads always; writes when the
    /// org allows them and the role could use them. `Err(reason)` inside when the user is not a member
    /// or the organisation's settings refuse this client.
    pub async fn grantable(
        &self,
        user: &UserId,
        org: &OrgId,
        req: &AuthRequest,
    ) -> Result<std::result::Result<ScopeSet, String>> {
        let store = &self.services.store;
        let Some(role) = store.role_of(org, user).await? else {
            return Ok(Err("you are not a member".into()));
        };
        let settings = store.org_settings(org).await?;
        if let Some(reason) = settings.refuses(org, &req.client, &req.redirect_uri) {
            return Ok(Err(reason));
        }
        let writes = settings.allow_write && role.allows(Permission::IncidentManage);
        Ok(Ok(ScopeSet::of(
            ScopeSet::all().iter().filter(|s| !s.is_write() || writes),
        )))
    }

    /// Records an approval and returns the redirect carrying the code.
    pub async fn approve(
        &self,
        req: &AuthRequest,
        user: &UserId,
        org: &OrgId,
        chosen: &ScopeSet,
        chosen_tools: &[String],
    ) -> Result<String> {
        let allowed = self
            .grantable(user, org, req)
            .await?
            .map_err(|why| OAuthError::AccessDenied(format!("that organisation refused: {why}")))?;
        let scopes = chosen.intersect(&allowed);
        if scopes.is_empty() {
            return Err(OAuthError::InvalidScope(
                "choose at least one permission".into(),
            ));
        }
        let tools: Vec<String> = scopes
            .tools()
            .into_iter()
            .filter(|t| chosen_tools.iter().any(|c| c == t))
            .map(str::to_owned)
            .collect();
        let now = self.services.clock.now();
        let grant = Grant {
            id: GrantId::generate(),
            org_id: org.clone(),
            user_id: user.clone(),
            client_id: req.client.id.clone(),
            scopes: scopes.clone(),
            tools,
            resource: self.resource.clone(),
            created_at: now,
        };
        let code = super::new_secret("sgc_");
        self.store_approval(req, &grant, &code).await?;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = &req.state {
            pairs.push(("state", s));
        }
        metrics::oauth(OAuthEvent::ConsentApproved);
        Ok(self.redirect_with(&req.redirect_uri, &pairs))
    }

    /// Writes an approval in one transaction: the user's earlier grants to this client end, and the
    /// grant, its connector key, the code and the audit row are stored.
    async fn store_approval(&self, req: &AuthRequest, grant: &Grant, code: &str) -> Result<()> {
        let (org, user, scopes) = (&grant.org_id, &grant.user_id, &grant.scopes);
        let now = grant.created_at;
        let store = &self.services.store;
        // Re-consent replaces this user's earlier grants to the same client, or to an identical
        // registration of it (a client that lost its registration and made a new one), in the same
        // organisation only: a grant is per (person, client, organisation), so approving a client for
        // another organisation leaves this one's connection alone. They are read before the
        // transaction so that it starts with a write: a SQLite transaction that reads first cannot
        // wait for the write lock, it fails when another writer got there in between.
        let earlier = store
            .live_grant_ids_like(&req.client.id, Some(org), Some(user))
            .await?;
        let mut tx = store.begin().await?;
        if req.client.kind == ClientKind::Document {
            // A metadata-document client is stored only now that a person approved it, as its
            // document reads at this moment (grants refer to the row).
            self.store_document(&mut tx, &req.client, now).await?;
        }
        for old in earlier {
            store.revoke_grant(&mut tx, &old, "reconsent", now).await?;
        }
        self.insert_grant_with_key(&mut tx, grant, &req.client.name, None)
            .await?;
        let row = CodeRow {
            grant_id: grant.id.clone(),
            client_id: req.client.id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            expires_at: now + Duration::seconds(self.config.code_ttl_secs as i64),
            used_at: None,
        };
        store
            .insert_code(&mut tx, &super::hash_secret(code), &row, now)
            .await?;
        store
            .mark_client_consented(&mut tx, &req.client.id, now)
            .await?;
        let detail = json!({ "client_id": req.client.id, "client_name": req.client.name, "scopes": scopes.to_string(), "tools": grant.tools });
        self.services
            .audit(
                &mut tx,
                &Principal::user(user.clone()),
                org,
                "oauth.consent_approved",
                ("oauth_grant", grant.id.as_str()),
                detail,
            )
            .await
            .map_err(service_to_oauth)?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }

    /// Stores `grant` and its connector key ("MCP — {client}", writable only with a write scope,
    /// expiring with `key_expires_at` if given): what every kind of grant is made of, so
    /// `verify_access`, the console and revocation treat them alike.
    pub(super) async fn insert_grant_with_key(
        &self,
        tx: &mut crate::store::Tx,
        grant: &Grant,
        client_name: &str,
        key_expires_at: Option<time::OffsetDateTime>,
    ) -> Result<()> {
        let store = &self.services.store;
        let key_secret = super::new_secret("sgk_");
        store.insert_grant(tx, grant).await?;
        store
            .insert_api_key(
                tx,
                &NewApiKey {
                    id: &ApiKeyId::generate(),
                    org_id: &grant.org_id,
                    user_id: &grant.user_id,
                    name: &format!("MCP — {client_name}"),
                    prefix: &key_secret[..12],
                    secret_hash: &super::hash_secret(&key_secret),
                    can_write: grant.scopes.has_write(),
                    page_id: None,
                    kind: KeyKind::Connector,
                    grant_id: Some(&grant.id),
                    expires_at: key_expires_at,
                },
                grant.created_at,
            )
            .await?;
        Ok(())
    }

    /// Records a refusal and returns the `access_denied` redirect. The refusal is written to `org`'s
    /// audit log only if the person belongs to it; naming another organisation is refused and writes
    /// nothing.
    pub async fn deny(
        &self,
        req: &AuthRequest,
        user: &UserId,
        org: Option<&OrgId>,
    ) -> Result<String> {
        if let Some(org) = org {
            if self.services.store.role_of(org, user).await?.is_none() {
                return Err(OAuthError::AccessDenied(
                    "you are not a member of that organisation".into(),
                ));
            }
            let mut tx = self.services.store.begin_untracked().await?;
            let detail = json!({ "client_id": req.client.id, "client_name": req.client.name });
            self.services
                .audit(
                    &mut tx,
                    &Principal::user(user.clone()),
                    org,
                    "oauth.consent_denied",
                    ("oauth_client", &req.client.id),
                    detail,
                )
                .await
                .map_err(service_to_oauth)?;
            tx.commit().await.map_err(crate::store::StoreError::from)?;
        }
        metrics::oauth(OAuthEvent::ConsentDenied);
        let e = OAuthError::AccessDenied("the user declined".into());
        match self.error_redirect(&req.redirect_uri, req.state.as_deref(), &e) {
            AuthorizeError::Redirect(to) => Ok(to),
            _ => Err(e),
        }
    }
}

pub(crate) fn service_to_oauth(e: crate::service::ServiceError) -> OAuthError {
    match e {
        crate::service::ServiceError::Internal(s) => OAuthError::Server(s),
        other => OAuthError::InvalidRequest(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
    }
}
