//! Finding a client: a registered one by id, or a Client ID Metadata Document for an https client id.
//! Documents are fetched (see `cimd.rs`); Claude's two published documents are also pinned here as a
//! fallback, because fetching them from datacenter addresses often meets a bot challenge (checklist D8).

use time::OffsetDateTime;

use super::{AuthServer, OAuthError, Result};
use crate::domain::connector::{AuthMethod, Client, ClientKind};
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
            owner: None,
            approved: false,
        })
}

impl AuthServer {
    /// The client named by `client_id`, or `invalid_client`. A URL id is a metadata document; a known
    /// one is stored on first use so that grants can refer to it.
    pub async fn find_client(&self, client_id: &str) -> Result<Client> {
        // No client id of ours holds spaces or control characters; such a value is never looked up
        // (PostgreSQL refuses NUL in text, which would surface as a server error).
        if client_id.len() > 2048
            || client_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(OAuthError::InvalidClient("unknown client".into()));
        }
        let is_url = client_id.starts_with("https://")
            || (self.config.cimd_allow_private_targets && client_id.starts_with("http://"));
        if is_url {
            if !self.config.cimd_enabled {
                return Err(OAuthError::InvalidClient(
                    "URL client ids are turned off here".into(),
                ));
            }
            let now = self.services.clock.now();
            let doc = match self.client_document(client_id).await {
                Ok(doc) => doc,
                Err(e) => match pinned(client_id, now) {
                    Some(doc) => doc,
                    None => return Err(e),
                },
            };
            return self.stored_document(doc, now).await;
        }
        match self.services.store.client(client_id).await {
            Ok(c) => Ok(c),
            Err(StoreError::NotFound) => Err(OAuthError::InvalidClient("unknown client_id".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The stored row of a metadata-document client (grants refer to it), brought in line with the
    /// document: inserted when missing (first use, or reaped unused), updated when the document changed.
    async fn stored_document(&self, doc: Client, now: OffsetDateTime) -> Result<Client> {
        let store = &self.services.store;
        let metadata = serde_json::json!({ "client_id": doc.id, "redirect_uris": doc.redirect_uris, "client_name": doc.name }).to_string();
        let new = NewClient {
            client: &doc,
            fingerprint: &super::hash_secret(&metadata),
            metadata: &metadata,
        };
        match store.client(&doc.id).await {
            Ok(c) if c.redirect_uris == doc.redirect_uris && c.name == doc.name => return Ok(c),
            Ok(c) => {
                store.update_document_client(&new, now).await?;
                return Ok(Client {
                    approved: c.approved,
                    created_at: c.created_at,
                    ..doc
                });
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        match store.insert_client(&new, now).await {
            Ok(()) => Ok(doc),
            // Another request stored it first (or the row is disabled): the stored row decides.
            Err(StoreError::Conflict) => match store.client(&doc.id).await {
                Ok(c) => Ok(c),
                Err(StoreError::NotFound) => {
                    Err(OAuthError::InvalidClient("this client is disabled".into()))
                }
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }
}
