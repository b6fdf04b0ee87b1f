//! Finding a client: a registered one by id, or a Client ID Metadata Document for an https client id.
//! Claude's two published documents are pinned here, because fetching them from datacenter addresses
//! often meets a bot challenge (checklist D8). Other documents are not fetched yet: such ids are refused.

use time::OffsetDateTime;

use super::records::{AuthMethod, Client, ClientKind};
use super::{AuthServer, OAuthError, Result};
use crate::store::oauth::NewClient;
use crate::store::StoreError;

/// (client id URL, client name, client URI, redirect URIs) as the documents publish them.
const PINNED: [(&str, &str, &str, &[&str]); 2] = [
    (
        "https://claude.ai/oauth/mcp-oauth-client-metadata",
        "Claude",
        "https://claude.ai",
        &["https://claude.ai/api/mcp/auth_callback"],
    ),
    (
        "https://claude.ai/oauth/claude-code-client-metadata",
        "Claude Code",
        "https://claude.ai",
        &["http://localhost/callback", "http://127.0.0.1/callback"],
    ),
];

fn pinned(id: &str, now: OffsetDateTime) -> Option<Client> {
    PINNED
        .iter()
        .find(|p| p.0 == id)
        .map(|(id, name, uri, redirects)| Client {
            id: (*id).to_owned(),
            kind: ClientKind::Document,
            name: (*name).to_owned(),
            client_uri: Some((*uri).to_owned()),
            logo_uri: None,
            redirect_uris: redirects.iter().map(|r| (*r).to_owned()).collect(),
            auth_method: AuthMethod::None,
            secret_hash: None,
            created_at: now,
        })
}

impl AuthServer {
    /// The client named by `client_id`, or `invalid_client`. A URL id is a metadata document; a known
    /// one is stored on first use so that grants can refer to it.
    pub async fn find_client(&self, client_id: &str) -> Result<Client> {
        if client_id.starts_with("https://") {
            if !self.config.cimd_enabled {
                return Err(OAuthError::InvalidClient(
                    "URL client ids are turned off here".into(),
                ));
            }
            let now = self.services.clock.now();
            let Some(doc) = pinned(client_id, now) else {
                return Err(OAuthError::InvalidClient(
                    "this client metadata document is not known to this server".into(),
                ));
            };
            match self.services.store.client(client_id).await {
                Ok(c) => return Ok(c),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            let metadata =
                serde_json::json!({ "client_id": doc.id, "redirect_uris": doc.redirect_uris });
            self.services
                .store
                .insert_client(
                    &NewClient {
                        client: &doc,
                        fingerprint: &super::hash_secret(&metadata.to_string()),
                        metadata: &metadata.to_string(),
                    },
                    now,
                )
                .await?;
            return Ok(doc);
        }
        match self.services.store.client(client_id).await {
            Ok(c) => Ok(c),
            Err(StoreError::NotFound) => Err(OAuthError::InvalidClient("unknown client_id".into())),
            Err(e) => Err(e.into()),
        }
    }
}
