//! RFC 7591 dynamic client registration. Lenient where real clients differ (checklist D1, D2, 1.3):
//! unacceptable redirect URIs are dropped rather than failing the request, unsupported grant types are
//! left out, an omitted auth method means a public client, and a client that asks for a secret gets one.

use serde_json::{json, Map, Value};

use super::{redirect, AuthServer, OAuthError, Result};
use crate::domain::connector::{AuthMethod, Client, ClientKind};
use crate::domain::ActorType;
use crate::ids::ClientId;
use crate::store::oauth::NewClient;
use crate::store::{AuditRecord, StoreError};

const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// Largest registration body read, in bytes; real clients send under 2 KiB. A larger one is refused
/// with `invalid_client_metadata` before anything is stored.
pub const MAX_BODY: usize = 16 * 1024;
/// Longest free-text field kept (`software_id`, `software_version`, `application_type`); longer ones
/// are left out of the registration.
const MAX_TEXT: usize = 255;
/// How long an unapproved registration may be handed to an identical one instead of a new row: well
/// short of the reaper, so a reused client is not deleted in the middle of someone's consent.
const REUSE_UNAPPROVED: time::Duration = time::Duration::hours(1);

/// Whether any text in the metadata carries a control character: none belongs in client metadata,
/// and PostgreSQL refuses NUL in text.
fn has_control(v: &Value) -> bool {
    match v {
        Value::String(s) => s.chars().any(char::is_control),
        Value::Array(items) => items.iter().any(has_control),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.chars().any(char::is_control) || has_control(v)),
        _ => false,
    }
}

fn str_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(OAuthError::InvalidClientMetadata(format!(
            "{name} must be a string"
        ))),
    }
}

fn list_field(body: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    OAuthError::InvalidClientMetadata(format!("{name} must list strings"))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(OAuthError::InvalidClientMetadata(format!(
            "{name} must be an array"
        ))),
    }
}

/// A URL field is kept only when it is an https URL of reasonable length; anything else is left out.
fn https_url(v: Option<String>) -> Option<String> {
    v.filter(|u| {
        u.len() <= redirect::MAX_URI_LEN && u.starts_with("https://") && url::Url::parse(u).is_ok()
    })
}

/// The effective registration, ready to store and echo.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
    pub response: Value,
}

/// What statusgate keeps of a registration: the accepted fields only, each capped. Unknown fields and
/// refused values are dropped, so a stored client is a few KiB at most whatever was sent.
struct Metadata {
    name: String,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    redirect_uris: Vec<String>,
    auth_method: AuthMethod,
    grant_types: Vec<&'static str>,
    /// `software_id`, `software_version`, `application_type`: echoed and stored, never used.
    extra: Vec<(&'static str, String)>,
}

impl Metadata {
    fn parse(body: &Value, private_use: &[String]) -> Result<Self> {
        let body = body.as_object().ok_or_else(|| {
            OAuthError::InvalidClientMetadata("the body must be a JSON object".into())
        })?;
        let requested = list_field(body, "redirect_uris")?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OAuthError::InvalidRedirectUri("redirect_uris is required".into()))?;
        if requested.len() > redirect::MAX_URIS {
            return Err(OAuthError::InvalidRedirectUri(format!(
                "at most {} redirect_uris",
                redirect::MAX_URIS
            )));
        }
        let mut redirect_uris: Vec<String> = Vec::new();
        for uri in requested {
            if redirect::check(&uri, private_use).is_ok() && !redirect_uris.contains(&uri) {
                redirect_uris.push(uri);
            }
        }
        if redirect_uris.is_empty() {
            return Err(OAuthError::InvalidRedirectUri(format!(
                "no redirect URI is acceptable: use https, http on localhost/127.0.0.1/[::1], or an allowed app scheme, at most {} bytes each",
                redirect::MAX_URI_LEN
            )));
        }
        let auth_method = match str_field(body, "token_endpoint_auth_method")? {
            None => AuthMethod::None,
            Some(m) => AuthMethod::parse(&m).map_err(OAuthError::InvalidClientMetadata)?,
        };
        if let Some(rt) = list_field(body, "response_types")? {
            if !rt.iter().any(|t| t == "code") {
                return Err(OAuthError::InvalidClientMetadata(
                    "response_types must include code".into(),
                ));
            }
        }
        // Extra grant types (device_code, jwt-bearer) are dropped from the effective set, not refused.
        let grant_types: Vec<&'static str> = match list_field(body, "grant_types")? {
            Some(g) => GRANT_TYPES
                .into_iter()
                .filter(|t| g.iter().any(|x| x == t))
                .collect(),
            None => GRANT_TYPES.to_vec(),
        };
        let grant_types = if grant_types.contains(&"authorization_code") {
            grant_types
        } else {
            GRANT_TYPES.to_vec()
        };
        let mut extra = Vec::new();
        for k in ["software_id", "software_version", "application_type"] {
            if let Some(v) = str_field(body, k)?.filter(|v| v.len() <= MAX_TEXT) {
                extra.push((k, v));
            }
        }
        Ok(Self {
            name: str_field(body, "client_name")?
                .map(|n| n.chars().take(100).collect::<String>())
                .unwrap_or_else(|| "Unnamed MCP client".into()),
            client_uri: https_url(str_field(body, "client_uri")?),
            logo_uri: https_url(str_field(body, "logo_uri")?),
            redirect_uris,
            auth_method,
            grant_types,
            extra,
        })
    }

    /// Equal for identical registrations: the console groups by it, reuse and the throttle look it up.
    fn fingerprint(&self) -> String {
        let src = json!([
            self.name,
            self.redirect_uris,
            self.auth_method.as_str(),
            self.client_uri
        ]);
        super::hash_secret(&src.to_string())
    }

    /// Whether `client` is a public client registered with exactly this metadata.
    fn describes(&self, c: &Client) -> bool {
        c.kind == ClientKind::Dynamic
            && c.auth_method == AuthMethod::None
            && self.auth_method == AuthMethod::None
            && c.name == self.name
            && c.redirect_uris == self.redirect_uris
            && c.client_uri == self.client_uri
            && c.logo_uri == self.logo_uri
    }

    /// The answer to an identical registration of the public client `client`: nothing new is stored.
    fn reused(&self, client: Client) -> Registered {
        let response = self.echo(&client.id, client.created_at);
        Registered {
            client,
            secret: None,
            response,
        }
    }

    /// The registration as answered (RFC 7591 §3.2.1) and stored, without any secret; absent values
    /// are left out rather than sent as null (checklist 1.3).
    fn echo(&self, client_id: &str, issued_at: time::OffsetDateTime) -> Value {
        let mut out = Map::new();
        out.insert("client_id".into(), client_id.into());
        out.insert(
            "client_id_issued_at".into(),
            issued_at.unix_timestamp().into(),
        );
        out.insert("client_name".into(), self.name.clone().into());
        out.insert("redirect_uris".into(), self.redirect_uris.clone().into());
        out.insert("grant_types".into(), self.grant_types.clone().into());
        out.insert("response_types".into(), json!(["code"]));
        out.insert(
            "token_endpoint_auth_method".into(),
            self.auth_method.as_str().into(),
        );
        for (k, v) in [
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
        ] {
            if let Some(v) = v {
                out.insert(k.into(), v.clone().into());
            }
        }
        for (k, v) in &self.extra {
            out.insert((*k).into(), v.clone().into());
        }
        Value::Object(out)
    }
}

/// The id of a public client: derived from its metadata (fingerprint and logo) and the current hour.
/// Public client ids are not secrets, and whoever computes this one can only register the very same
/// metadata under it.
fn shared_id(fingerprint: &str, logo_uri: Option<&str>, now: time::OffsetDateTime) -> String {
    let hour = now.unix_timestamp().div_euclid(3600);
    let digest = super::hash_secret(&json!([fingerprint, logo_uri, hour]).to_string());
    format!("{}{}", ClientId::PREFIX, &digest[..24])
}

/// What storing a registration came to: a new client (with its secret, if any, and the metadata as
/// stored), or the identical public client another registration stored first.
enum Stored {
    New(Client, Option<String>, Value),
    Existing(Registered),
}

impl AuthServer {
    /// Registers a client for a request from client address `from` (a [`RateLimiter`] key).
    ///
    /// An identical registration of a public client is answered with the existing client and stores
    /// nothing: Claude.ai sends the same body for every person, so a whole organisation connecting at
    /// once costs one row and meets no limit. A registration that stores a client takes a token from
    /// the per-address bucket, and identical ones nobody has approved are throttled across addresses.
    ///
    /// [`RateLimiter`]: crate::ratelimit::RateLimiter
    pub async fn register(&self, body: &Value, from: &str) -> Result<Registered> {
        if !self.config.dcr_enabled {
            return Err(OAuthError::InvalidClientMetadata(
                "dynamic registration is turned off here".into(),
            ));
        }
        if has_control(body) {
            return Err(OAuthError::InvalidClientMetadata(
                "client metadata must not contain control characters".into(),
            ));
        }
        let meta = Metadata::parse(body, &self.config.private_use_redirect_uris)?;
        let fingerprint = meta.fingerprint();
        let now = self.services.clock.now();
        let public = meta.auth_method == AuthMethod::None;
        if public {
            if let Some(client) = self.reusable(&meta, &fingerprint, now).await? {
                return Ok(meta.reused(client));
            }
        }
        self.registrations
            .take(from)
            .map_err(OAuthError::TooManyRequests)?;
        // A client stuck in a registration loop (it never reaches consent) is stopped here, whatever
        // addresses it comes from; the people of a rollout approve their registrations.
        let since = now - time::Duration::minutes(1);
        if self
            .services
            .store
            .count_registrations(&fingerprint, since)
            .await?
            >= i64::from(self.config.identical_registrations_per_minute)
        {
            return Err(OAuthError::TooManyRequests(60));
        }
        let (client, secret, stored) = match self.store_client(&meta, &fingerprint, now).await? {
            Stored::New(client, secret, stored) => (client, secret, stored),
            Stored::Existing(reused) => return Ok(reused),
        };
        crate::telemetry::metrics::oauth(crate::telemetry::metrics::OAuthEvent::Registration);
        self.system_audit(
            "oauth.client_registered",
            &client.id,
            json!({ "client_name": client.name }),
        )
        .await;
        let mut response = stored;
        if let (Some(s), Some(obj)) = (&secret, response.as_object_mut()) {
            obj.insert("client_secret".into(), s.clone().into());
            obj.insert("client_secret_expires_at".into(), 0.into());
        }
        Ok(Registered {
            client,
            secret,
            response,
        })
    }

    /// Stores a new client for `meta`: a secret client gets a fresh id and secret, a public one the id
    /// its metadata and the hour give, so identical registrations racing each other (on any instance)
    /// meet on one row instead of each storing its own.
    async fn store_client(
        &self,
        meta: &Metadata,
        fingerprint: &str,
        now: time::OffsetDateTime,
    ) -> Result<Stored> {
        let public = meta.auth_method == AuthMethod::None;
        let secret = (!public).then(|| super::new_secret("sgcs_"));
        let id = if public {
            shared_id(fingerprint, meta.logo_uri.as_deref(), now)
        } else {
            ClientId::generate().to_string()
        };
        let client = Client {
            id,
            kind: ClientKind::Dynamic,
            name: meta.name.clone(),
            client_uri: meta.client_uri.clone(),
            logo_uri: meta.logo_uri.clone(),
            redirect_uris: meta.redirect_uris.clone(),
            auth_method: meta.auth_method,
            secret_hash: secret.as_deref().map(super::hash_secret),
            created_at: now,
            owner: None,
            approved: false,
        };
        let stored = meta.echo(&client.id, now);
        let new = NewClient {
            client: &client,
            fingerprint,
            metadata: &stored.to_string(),
        };
        match self.services.store.insert_client(&new, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict) if public => {
                // An identical registration stored this id first: that is the client.
                return match self.services.store.client(&client.id).await {
                    Ok(c) if meta.describes(&c) => Ok(Stored::Existing(meta.reused(c))),
                    Ok(_) | Err(StoreError::NotFound) => Err(OAuthError::InvalidClientMetadata(
                        "this client is not available; change its metadata".into(),
                    )),
                    Err(e) => Err(e.into()),
                };
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Stored::New(client, secret, stored))
    }

    /// An existing public client registered with exactly this metadata, if one may be handed out again.
    /// Safe to share: a public client has no secret, and its redirect URIs are the ones asked for.
    async fn reusable(
        &self,
        meta: &Metadata,
        fingerprint: &str,
        now: time::OffsetDateTime,
    ) -> Result<Option<Client>> {
        let reap = time::Duration::hours(self.config.registration_reap_hours as i64);
        let fresh_since = now - REUSE_UNAPPROVED.min(reap / 2);
        let found = self
            .services
            .store
            .reusable_client(fingerprint, meta.logo_uri.as_deref(), fresh_since)
            .await?;
        // The fingerprint is a hash: compare what it stands for before handing the client out.
        Ok(found.filter(|c| meta.describes(c)))
    }

    /// Deletes registrations that never reached consent (never one with a grant).
    pub async fn reap_registrations(&self) -> Result<u64> {
        let now = self.services.clock.now();
        let before = now - time::Duration::hours(self.config.registration_reap_hours as i64);
        let n = self.services.store.reap_clients(before).await?;
        if n > 0 {
            self.system_audit("oauth.clients_reaped", "", json!({ "count": n }))
                .await;
        }
        Ok(n)
    }

    /// An audit row that belongs to no organisation (org id empty), written on its own.
    pub(crate) async fn system_audit(&self, action: &str, target: &str, detail: Value) {
        let store = &self.services.store;
        let result = async {
            // The audit log is not cached: this write leaves the read cache (and other instances) alone.
            let mut tx = store.begin_untracked().await?;
            let org = crate::ids::OrgId::from_db(String::new());
            let rec = AuditRecord {
                org_id: &org,
                actor_type: ActorType::System,
                actor_id: "oauth",
                user_id: None,
                action,
                target_type: "oauth_client",
                target_id: target,
                detail: detail.to_string(),
            };
            store
                .insert_audit(&mut tx, &rec, self.services.clock.now())
                .await?;
            tx.commit().await?;
            Ok::<_, crate::store::StoreError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, action, "audit write failed");
        }
    }
}

impl AuthServer {
    /// A client added by an organisation admin in the console: public, PKCE, exact redirect URIs. It
    /// belongs to `org`: trusted there, and a self-registered application to every other organisation.
    pub async fn register_admin_client(
        &self,
        who: &crate::service::Principal,
        org: &crate::ids::OrgId,
        name: &str,
        redirect_uris: &[String],
        logo_uri: Option<String>,
    ) -> Result<Client, crate::service::ServiceError> {
        use crate::service::ServiceError;
        self.services
            .require(
                who,
                org,
                crate::domain::Permission::SettingsManage,
                "organisation",
            )
            .await?;
        let invalid =
            |m: &str| ServiceError::Invalid(crate::domain::DomainError::invalid("client", m));
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("a name of 1 to 100 characters is required"));
        }
        if redirect_uris.is_empty()
            || redirect_uris.len() > redirect::MAX_URIS
            || redirect_uris
                .iter()
                .any(|u| redirect::check(u, &self.config.private_use_redirect_uris).is_err())
        {
            return Err(invalid(&format!(
                "1 to {} redirect URIs, each https, http on a loopback host, or an allowed app scheme, of at most {} bytes",
                redirect::MAX_URIS,
                redirect::MAX_URI_LEN
            )));
        }
        let now = self.services.clock.now();
        let client = Client {
            id: ClientId::generate().to_string(),
            kind: ClientKind::Admin,
            name: name.to_owned(),
            client_uri: None,
            logo_uri: https_url(logo_uri),
            redirect_uris: redirect_uris.to_vec(),
            auth_method: AuthMethod::None,
            secret_hash: None,
            created_at: now,
            owner: Some(org.clone()),
            approved: false,
        };
        // The owner is part of the fingerprint: two organisations' clients are never one client.
        let metadata = json!({ "client_name": client.name, "redirect_uris": client.redirect_uris, "owner_org_id": org });
        self.services
            .store
            .insert_client(
                &NewClient {
                    client: &client,
                    fingerprint: &super::hash_secret(&metadata.to_string()),
                    metadata: &metadata.to_string(),
                },
                now,
            )
            .await?;
        // Only the audit log is written here, and it is not cached.
        let mut tx = self.services.store.begin_untracked().await?;
        self.services
            .audit(
                &mut tx,
                who,
                org,
                "oauth.client_registered",
                ("oauth_client", &client.id),
                metadata,
            )
            .await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(client)
    }
}
