//! RFC 7591 dynamic client registration. Lenient where real clients differ (checklist D1, D2, 1.3):
//! unacceptable redirect URIs are dropped rather than failing the request, unsupported grant types are
//! left out, an omitted auth method means a public client, and a client that asks for a secret gets one.

use serde_json::{json, Map, Value};

use super::records::{AuthMethod, Client, ClientKind};
use super::{redirect, AuthServer, OAuthError, Result};
use crate::domain::ActorType;
use crate::ids::ClientId;
use crate::store::oauth::NewClient;
use crate::store::AuditRecord;

const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];
const MAX_URIS: usize = 20;

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

/// A URL field is kept only when it is an https URL; anything else is left out of the echo.
fn https_url(v: Option<String>) -> Option<String> {
    v.filter(|u| u.starts_with("https://") && url::Url::parse(u).is_ok())
}

/// The effective registration, ready to store and echo.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
    pub response: Value,
}

impl AuthServer {
    pub async fn register(&self, body: &Value) -> Result<Registered> {
        if !self.config.dcr_enabled {
            return Err(OAuthError::InvalidClientMetadata(
                "dynamic registration is turned off here".into(),
            ));
        }
        let body = body.as_object().ok_or_else(|| {
            OAuthError::InvalidClientMetadata("the body must be a JSON object".into())
        })?;
        let requested = list_field(body, "redirect_uris")?
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OAuthError::InvalidRedirectUri("redirect_uris is required".into()))?;
        if requested.len() > MAX_URIS {
            return Err(OAuthError::InvalidRedirectUri(format!(
                "at most {MAX_URIS} redirect_uris"
            )));
        }
        let mut redirect_uris: Vec<String> = Vec::new();
        for uri in requested {
            if redirect::check(&uri, &self.config.private_use_redirect_uris).is_ok()
                && !redirect_uris.contains(&uri)
            {
                redirect_uris.push(uri);
            }
        }
        if redirect_uris.is_empty() {
            return Err(OAuthError::InvalidRedirectUri(
                "no redirect URI is acceptable: use https, http on localhost/127.0.0.1/[::1], or an allowed app scheme".into(),
            ));
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
        let grant_types: Vec<&str> = match list_field(body, "grant_types")? {
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
        let name = str_field(body, "client_name")?
            .map(|n| n.chars().take(100).collect::<String>())
            .unwrap_or_else(|| "Unnamed MCP client".into());
        let secret = (auth_method != AuthMethod::None).then(|| super::new_secret("sgcs_"));
        let now = self.services.clock.now();
        let client = Client {
            id: ClientId::generate().to_string(),
            kind: ClientKind::Dynamic,
            name,
            client_uri: https_url(str_field(body, "client_uri")?),
            logo_uri: https_url(str_field(body, "logo_uri")?),
            redirect_uris,
            auth_method,
            secret_hash: secret.as_deref().map(super::hash_secret),
            created_at: now,
        };
        let mut response = json!({
            "client_id": client.id,
            "client_id_issued_at": now.unix_timestamp(),
            "client_name": client.name,
            "redirect_uris": client.redirect_uris,
            "grant_types": grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": auth_method.as_str(),
        });
        if let Some(obj) = response.as_object_mut() {
            for (k, v) in [
                ("client_uri", &client.client_uri),
                ("logo_uri", &client.logo_uri),
            ] {
                if let Some(v) = v {
                    obj.insert(k.into(), v.clone().into());
                }
            }
            for k in ["software_id", "software_version", "application_type"] {
                if let Some(v) = str_field(body, k)? {
                    obj.insert(k.into(), v.into());
                }
            }
            if let Some(s) = &secret {
                obj.insert("client_secret".into(), s.clone().into());
                obj.insert("client_secret_expires_at".into(), 0.into());
            }
        }
        let fingerprint_src = json!([
            client.name,
            client.redirect_uris,
            auth_method.as_str(),
            client.client_uri
        ]);
        let fingerprint = super::hash_secret(&fingerprint_src.to_string());
        // Identical registrations are throttled by their metadata, not by address: clients behind one
        // shared egress (every Claude.ai user) register different metadata and never slow each other.
        let since = now - time::Duration::minutes(1);
        if self
            .services
            .store
            .count_registrations(&fingerprint, since)
            .await?
            >= i64::from(self.config.identical_registrations_per_minute)
        {
            return Err(OAuthError::TooManyRequests);
        }
        let metadata = Value::Object(body.clone()).to_string();
        self.services
            .store
            .insert_client(
                &NewClient {
                    client: &client,
                    fingerprint: &fingerprint,
                    metadata: &metadata,
                },
                now,
            )
            .await?;
        self.system_audit(
            "oauth.client_registered",
            &client.id,
            json!({ "client_name": client.name }),
        )
        .await;
        Ok(Registered {
            client,
            secret,
            response,
        })
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
            let mut tx = store.begin().await?;
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
    /// A client added by an organisation admin in the console: public, PKCE, exact redirect URIs.
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
            || redirect_uris
                .iter()
                .any(|u| redirect::check(u, &self.config.private_use_redirect_uris).is_err())
        {
            return Err(invalid(
                "redirect URIs must be https, http on a loopback host, or an allowed app scheme",
            ));
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
        };
        let metadata = json!({ "client_name": client.name, "redirect_uris": client.redirect_uris });
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
        let mut tx = self.services.store.begin().await?;
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
