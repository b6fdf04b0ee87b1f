//! Finding a client: a registered one by id, or a Client ID Metadata Document for an https client id.
//! Documents are fetched (see `cimd.rs`) only for an authorization request and stored only when a
//! person approves one; Claude's two published documents are also pinned here as a fallback, because
//! fetching them from datacenter addresses often meets a bot challenge (checklist D8).

use time::OffsetDateTime;

use super::{AuthServer, OAuthError, Result};
use crate::domain::connector::{AuthMethod, Client, ClientKind};
use crate::store::oauth::NewClient;
use crate::store::{StoreError, Tx};

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
    /// The client named by `client_id` at the token and revocation endpoints: a stored row, or
    /// `invalid_client`. A metadata-document client is stored when a person first approves it, and no
    /// code or token exists before that, so nothing here fetches a document.
    pub async fn find_client(&self, client_id: &str) -> Result<Client> {
        self.check_client_id(client_id)?;
        self.stored_client(client_id)
            .await?
            .ok_or_else(|| OAuthError::InvalidClient("unknown client_id".into()))
    }

    /// The client an authorization request names. A URL id is a metadata document, fetched within the
    /// fetch budgets of `from` (the client address's bucket key) and of the instance, or answered from
    /// this instance's document cache; nothing is stored here (see [`AuthServer::store_document`]).
    /// Its stored row, if a person approved it before, only says so; when the budgets refuse a fetch
    /// that row (or Claude's pinned document) stands in for the document.
    pub async fn authorizing_client(&self, client_id: &str, from: &str) -> Result<Client> {
        if !self.check_client_id(client_id)? {
            return self
                .stored_client(client_id)
                .await?
                .ok_or_else(|| OAuthError::InvalidClient("unknown client_id".into()));
        }
        let now = self.services.clock.now();
        let stored = self.stored_client(client_id).await?;
        let doc = match self.client_document(client_id, from).await {
            Ok(doc) => doc,
            Err(e) => match (&e, &stored, pinned(client_id, now)) {
                (_, _, Some(doc)) => doc,
                (OAuthError::TooManyRequests(_), Some(row), None) => row.clone(),
                _ => return Err(e),
            },
        };
        Ok(match stored {
            Some(row) => Client {
                approved: row.approved,
                created_at: row.created_at,
                ..doc
            },
            None => doc,
        })
    }

    /// Refuses a client id no client of ours can have; answers whether it is a URL (a metadata
    /// document) rather than a registered id.
    fn check_client_id(&self, client_id: &str) -> Result<bool> {
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
        if is_url && !self.config.cimd_enabled {
            return Err(OAuthError::InvalidClient(
                "URL client ids are turned off here".into(),
            ));
        }
        Ok(is_url)
    }

    async fn stored_client(&self, client_id: &str) -> Result<Option<Client>> {
        match self.services.store.client(client_id).await {
            Ok(c) => Ok(Some(c)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a metadata-document client as `doc` reads, inside the approval `tx`: grants refer to the
    /// row. A disabled row stays disabled and the approval fails.
    pub(super) async fn store_document(
        &self,
        tx: &mut Tx,
        doc: &Client,
        now: OffsetDateTime,
    ) -> Result<()> {
        let metadata = serde_json::json!({ "client_id": doc.id, "redirect_uris": doc.redirect_uris, "client_name": doc.name }).to_string();
        let new = NewClient {
            client: doc,
            fingerprint: &super::hash_secret(&metadata),
            metadata: &metadata,
        };
        match self.services.store.put_document_client(tx, &new, now).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict) => {
                Err(OAuthError::InvalidClient("this client is disabled".into()))
            }
            Err(e) => Err(e.into()),
        }
    }
}
