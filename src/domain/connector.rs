//! The Hosted MCP connector's records: clients, grants, codes, refresh tokens and organisation settings,
//! as storage reads them back and the authorization server checks them.

use time::OffsetDateTime;

use super::scope::ScopeSet;
use crate::ids::{ApiKeyId, GrantId, OrgId, UserId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// Registered by the client itself (RFC 7591): unverified.
    Dynamic,
    /// A Client ID Metadata Document: the client id is an https URL on the client's own domain.
    Document,
    /// Added by an admin of one organisation (the client's `owner`): trusted there only.
    Admin,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dcr",
            Self::Document => "cimd",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "dcr" => Ok(Self::Dynamic),
            "cimd" => Ok(Self::Document),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown client kind {other}")),
        }
    }
}

/// Token-endpoint authentication (RFC 7591 §2). Secret clients still need PKCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    None,
    SecretPost,
    SecretBasic,
}

impl AuthMethod {
    pub const SUPPORTED: [&'static str; 3] = ["none", "client_secret_post", "client_secret_basic"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SecretPost => "client_secret_post",
            Self::SecretBasic => "client_secret_basic",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "client_secret_post" => Ok(Self::SecretPost),
            "client_secret_basic" => Ok(Self::SecretBasic),
            other => Err(format!("unsupported token_endpoint_auth_method {other}")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub kind: ClientKind,
    pub name: String,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub secret_hash: Option<String>,
    pub created_at: OffsetDateTime,
    /// For an admin-registered client, the organisation whose administrator registered it; `None` for
    /// other kinds, and for admin clients whose organisation is unknown (trusted nowhere).
    pub owner: Option<OrgId>,
    /// Someone has approved this client at least once: only then are authorization errors redirected
    /// to its redirect URI (RFC 9700 §4.11.2); before that they are shown as a page.
    pub approved: bool,
}

impl Client {
    /// How `org` sees this client: an admin-registered client is trusted only by the organisation whose
    /// administrator registered it; to every other organisation it is a self-registered application,
    /// under that organisation's policy for those.
    pub fn kind_in(&self, org: &OrgId) -> ClientKind {
        match self.kind {
            ClientKind::Admin if self.owner.as_ref() != Some(org) => ClientKind::Dynamic,
            kind => kind,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Grant {
    pub id: GrantId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub tools: Vec<String>,
    pub resource: String,
    pub created_at: OffsetDateTime,
}

/// A stored authorization code, found by its hash.
#[derive(Clone, Debug)]
pub struct CodeRow {
    pub grant_id: GrantId,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// A stored refresh token, found by its hash.
#[derive(Clone, Debug)]
pub struct RefreshRow {
    pub grant_id: GrantId,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub expires_at: OffsetDateTime,
    pub superseded_at: Option<OffsetDateTime>,
    pub successor_hash: Option<String>,
}

/// A grant that is live right now, with its connector key: what a valid access token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveGrant {
    pub grant_id: GrantId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub client_id: String,
    pub client_name: String,
    pub scopes: ScopeSet,
    pub tools: Vec<String>,
    pub key_id: ApiKeyId,
    pub can_write: bool,
    /// The organisation's "Allow write scopes" as it is now: off withdraws the grant's write scopes at
    /// the next call, whatever was consented.
    pub org_allows_write: bool,
}

/// One row of the connections console.
#[derive(Clone, Debug)]
pub struct Connection {
    pub grant_id: GrantId,
    pub client_id: String,
    pub client_name: String,
    pub client_kind: ClientKind,
    pub redirect_uris: Vec<String>,
    /// Equal for identical registrations: the console shows them as one client.
    pub fingerprint: String,
    pub user_email: String,
    pub scopes: ScopeSet,
    pub tools: Vec<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    /// Calls through this connection in the last 30 days.
    pub calls_30d: i64,
}

/// One organisation's Hosted MCP settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgSettings {
    pub enabled: bool,
    pub allow_write: bool,
    /// Self-registered (RFC 7591) clients may be approved in this organisation.
    pub allow_dynamic: bool,
    /// Clients identified by a metadata document URL may be approved in this organisation.
    pub allow_documents: bool,
    /// Private-use-scheme redirect URIs this organisation accepts; `None` follows the deployment's list.
    pub private_use_redirects: Option<Vec<String>>,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_write: false,
            allow_dynamic: true,
            allow_documents: true,
            private_use_redirects: None,
        }
    }
}

impl OrgSettings {
    /// Why organisation `org` (whose settings these are) will not take a connection from `client`
    /// returning to `redirect_uri`, if it will not. Registration is deployment-wide (it happens before
    /// anyone signs in), so an organisation's narrower policy is applied here, on the consent page and
    /// at approval.
    pub fn refuses(&self, org: &OrgId, client: &Client, redirect_uri: &str) -> Option<String> {
        if let Some(why) = self.refuses_client(org, client) {
            return Some(why);
        }
        let private_use = is_private_use(redirect_uri);
        match &self.private_use_redirects {
            Some(list) if private_use && !list.iter().any(|u| u == redirect_uri) => Some(format!(
                "it does not accept the redirect URI {redirect_uri}"
            )),
            _ => None,
        }
    }
}

impl OrgSettings {
    /// Why this organisation refuses `client` whatever its redirect URI (Hosted MCP off, or a kind of
    /// client it does not accept); the part of [`OrgSettings::refuses`] a grant without a redirect
    /// (an identity assertion) is held to as well.
    pub fn refuses_client(&self, org: &OrgId, client: &Client) -> Option<String> {
        if !self.enabled {
            return Some("Hosted MCP is turned off".into());
        }
        match client.kind_in(org) {
            ClientKind::Dynamic if !self.allow_dynamic => {
                Some("it does not accept self-registered applications".into())
            }
            ClientKind::Document if !self.allow_documents => {
                Some("it does not accept applications identified by a metadata URL".into())
            }
            _ => None,
        }
    }
}

/// A redirect URI with a private-use scheme (`com.example.app:/cb`, RFC 8252 §7.1): neither https nor http.
pub fn is_private_use(uri: &str) -> bool {
    !uri.starts_with("https://") && !uri.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_client(owner: Option<OrgId>) -> Client {
        Client {
            id: "cli_000000000000000000000001".into(),
            kind: ClientKind::Admin,
            name: "Claude".into(),
            client_uri: None,
            logo_uri: None,
            redirect_uris: vec!["https://attacker.example/cb".into()],
            auth_method: AuthMethod::None,
            secret_hash: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            owner,
            approved: false,
        }
    }

    #[test]
    fn an_admin_client_is_trusted_only_by_its_own_organisation() {
        let (a, b) = (OrgId::generate(), OrgId::generate());
        let client = admin_client(Some(a.clone()));
        assert_eq!(client.kind_in(&a), ClientKind::Admin);
        assert_eq!(client.kind_in(&b), ClientKind::Dynamic);
        assert_eq!(admin_client(None).kind_in(&a), ClientKind::Dynamic);
        let strict = OrgSettings {
            allow_dynamic: false,
            ..OrgSettings::default()
        };
        let cb = "https://attacker.example/cb";
        assert_eq!(strict.refuses(&a, &client, cb), None);
        assert!(strict.refuses(&b, &client, cb).is_some());
    }
}

/// An identity provider an organisation trusts for enterprise-managed sign-in (an ID-JAG presented
/// through the RFC 7523 jwt-bearer grant): its `iss`, where it publishes its signing keys, and the
/// highest role its sign-ins may use (a viewer cap gets read scopes only, whatever the person's role).
#[derive(Clone, Debug)]
pub struct TrustedIssuer {
    pub org_id: OrgId,
    pub issuer: String,
    pub jwks_uri: String,
    pub role_cap: super::Role,
    pub created_at: OffsetDateTime,
}
