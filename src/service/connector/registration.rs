//! RFC 7591 dynamic client registration (the metadata is read in `client_metadata`, leniently where
//! real clients differ: checklist D1, D2, 1.3): identical public registrations meet on one client, a
//! client that asks for a secret gets one, and registrations are limited per address and per
//! fingerprint. Admin-registered clients and the reaping of unused registrations live here too.

use serde_json::{json, Value};

pub use super::client_metadata::Registered;
use super::client_metadata::{has_control, https_url, shared_id, Metadata};
use super::{redirect, AuthServer, OAuthError, Result};
use crate::domain::connector::{AuthMethod, Client, ClientKind};
use crate::domain::ActorType;
use crate::ids::ClientId;
use crate::store::oauth::NewClient;
use crate::store::{AuditRecord, StoreError};

/// Largest registration body read, in bytes; real clients send under 2 KiB. A larger one is refused
/// with `invalid_client_metadata` before anything is stored.
pub const MAX_BODY: usize = 16 * 1024;
/// How long an unapproved registration may be handed to an identical one instead of a new row: well
/// short of the reaper, so a reused client is not deleted in the middle of someone's consent.
const REUSE_UNAPPROVED: time::Duration = time::Duration::hours(1);

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
