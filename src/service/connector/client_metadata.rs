//! Client metadata as RFC 7591 registration reads it: lenient where real clients differ (unacceptable
//! redirect URIs dropped, unsupported grant types left out, an omitted auth method meaning a public
//! client), strict about size and control characters.

use serde_json::{json, Map, Value};

use super::{redirect, OAuthError, Result};
use crate::domain::connector::{AuthMethod, Client, ClientKind};
use crate::ids::ClientId;

const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// Longest free-text field kept (`software_id`, `software_version`, `application_type`); longer ones
/// are left out of the registration.
const MAX_TEXT: usize = 255;

/// Whether any text in the metadata carries a control character: none belongs in client metadata,
/// and PostgreSQL refuses NUL in text.
pub(super) fn has_control(v: &Value) -> bool {
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
pub(super) fn https_url(v: Option<String>) -> Option<String> {
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
pub(super) struct Metadata {
    pub(super) name: String,
    pub(super) client_uri: Option<String>,
    pub(super) logo_uri: Option<String>,
    pub(super) redirect_uris: Vec<String>,
    pub(super) auth_method: AuthMethod,
    pub(super) grant_types: Vec<&'static str>,
    /// `software_id`, `software_version`, `application_type`: echoed and stored, never used.
    pub(super) extra: Vec<(&'static str, String)>,
}

impl Metadata {
    pub(super) fn parse(body: &Value, private_use: &[String]) -> Result<Self> {
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
    pub(super) fn fingerprint(&self) -> String {
        let src = json!([
            self.name,
            self.redirect_uris,
            self.auth_method.as_str(),
            self.client_uri
        ]);
        super::hash_secret(&src.to_string())
    }

    /// Whether `client` is a public client registered with exactly this metadata.
    pub(super) fn describes(&self, c: &Client) -> bool {
        c.kind == ClientKind::Dynamic
            && c.auth_method == AuthMethod::None
            && self.auth_method == AuthMethod::None
            && c.name == self.name
            && c.redirect_uris == self.redirect_uris
            && c.client_uri == self.client_uri
            && c.logo_uri == self.logo_uri
    }

    /// The answer to an identical registration of the public client `client`: nothing new is stored.
    pub(super) fn reused(&self, client: Client) -> Registered {
        let response = self.echo(&client.id, client.created_at);
        Registered {
            client,
            secret: None,
            response,
        }
    }

    /// The registration as answered (RFC 7591 §3.2.1) and stored, without any secret; absent values
    /// are left out rather than sent as null (checklist 1.3).
    pub(super) fn echo(&self, client_id: &str, issued_at: time::OffsetDateTime) -> Value {
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
pub(super) fn shared_id(
    fingerprint: &str,
    logo_uri: Option<&str>,
    now: time::OffsetDateTime,
) -> String {
    let hour = now.unix_timestamp().div_euclid(3600);
    let digest = super::hash_secret(&json!([fingerprint, logo_uri, hour]).to_string());
    format!("{}{}", ClientId::PREFIX, &digest[..24])
}
