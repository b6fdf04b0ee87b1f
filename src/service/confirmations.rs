//! Confirmation before anyone is notified: what an update with `notify` would send and to how many
//! subscribers per channel, and the sealed, single-use confirmation a person answers (the MCP layer
//! carries it as an `input_required` round trip). Nothing here runs for a call without `notify`.

use serde_json::{json, Map, Value};

use super::{Actor, Principal, Result, ServiceError, Services};
use crate::clock::{from_millis, to_millis};
use crate::domain::confirmation::{
    args_digest, Confirmation, ConfirmationRefusal, CONFIRMATION_TTL_MS,
};
use crate::domain::subscriber::SubscriberKind;
use crate::domain::Permission;
use crate::ids::PageId;
use crate::store::StoreError;

const PURPOSE: &str = "statusgate notify confirmations v1";

/// What confirming would send: the email as subscribers get it (webhooks get the same event as
/// JSON) and how many confirmed subscribers each channel has now.
#[derive(Clone, Debug)]
pub struct NotifyPreview {
    pub page: String,
    pub subject: String,
    pub body: String,
    /// Every channel, also those with nobody on them.
    pub channels: Vec<(SubscriberKind, i64)>,
}

impl NotifyPreview {
    pub fn total(&self) -> i64 {
        self.channels.iter().map(|(_, n)| n).sum()
    }

    pub fn counts(&self) -> Value {
        let mut m = Map::new();
        for (kind, n) in &self.channels {
            m.insert(kind.as_str().into(), json!(n));
        }
        Value::Object(m)
    }
}

/// The update a preview describes.
pub struct Announcement<'a> {
    pub page_id: &'a PageId,
    /// `IncidentManage` or `MaintenanceManage`: asking needs the right to post it.
    pub permission: Permission,
    pub title: &'a str,
    pub stage: &'a str,
    pub message: &'a str,
}

/// Whose confirmation it is: the grant (or key) and the person.
fn credential(who: &Principal) -> String {
    match &who.actor {
        Actor::Mcp { grant_id, .. } => format!("grant:{grant_id}"),
        Actor::ApiKey { key_id, .. } => format!("key:{key_id}"),
        Actor::User => format!("user:{}", who.user_id),
    }
}

impl Services {
    fn confirmation_key(&self) -> Result<[u8; 32]> {
        self.shared_key(PURPOSE).ok_or_else(|| {
            ServiceError::Internal(StoreError::Unavailable(
                "confirmations asked for before the keys were unlocked".into(),
            ))
        })
    }

    /// What posting `a` with `notify` would send now, if `who` may post it.
    pub async fn notify_preview(
        &self,
        who: &Principal,
        a: &Announcement<'_>,
    ) -> Result<NotifyPreview> {
        let page = self.page_for(who, a.page_id, a.permission).await?;
        let event = json!({
            "page": page.name,
            "title": a.title,
            "stage": a.stage,
            "message": a.message,
            "page_url": format!("{}/status/{}", self.monitoring.public_url, page.public_slug),
        });
        let (subject, body) =
            super::outbox::render_email(&event, "(each subscriber's own unsubscribe link)");
        let counted = self.store.confirmed_subscribers_by_kind(&page.id).await?;
        let channels = [SubscriberKind::Email, SubscriberKind::Webhook]
            .into_iter()
            .map(|k| {
                let n = counted
                    .iter()
                    .find(|(kind, _)| kind == k.as_str())
                    .map_or(0, |(_, n)| *n);
                (k, n)
            })
            .collect();
        Ok(NotifyPreview {
            page: page.name,
            subject,
            body,
            channels,
        })
    }

    /// A new confirmation of `tool` with exactly `args` for `who`, sealed, with its id.
    pub fn seal_confirmation(
        &self,
        who: &Principal,
        tool: &str,
        args: &Map<String, Value>,
    ) -> Result<(String, String)> {
        let c = Confirmation {
            id: crate::ids::random_hex(16),
            credential: credential(who),
            user: who.user_id.to_string(),
            tool: tool.to_owned(),
            args: args_digest(args),
            expires_at: to_millis(self.clock.now()) + CONFIRMATION_TTL_MS,
        };
        let key = self.confirmation_key()?;
        let state = c.seal(&key).ok_or_else(|| {
            ServiceError::Internal(StoreError::Corrupt("a confirmation did not seal".into()))
        })?;
        Ok((state, c.id))
    }

    /// The confirmation `state` seals, checked against this very call: ours, unexpired, the same
    /// credential and person, the same tool and arguments. Not yet used up (see `use_confirmation`).
    pub fn open_confirmation(
        &self,
        who: &Principal,
        tool: &str,
        args: &Map<String, Value>,
        state: &str,
    ) -> Result<Result<Confirmation, ConfirmationRefusal>> {
        let key = self.confirmation_key()?;
        let c = match Confirmation::open(&key, state) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let verdict = if c.expires_at < to_millis(self.clock.now()) {
            Err(ConfirmationRefusal::Expired)
        } else if c.credential != credential(who) || c.user != who.user_id.as_str() {
            Err(ConfirmationRefusal::OtherCredential)
        } else if c.tool != tool || c.args != args_digest(args) {
            Err(ConfirmationRefusal::OtherCall)
        } else {
            Ok(c)
        };
        Ok(verdict.inspect_err(|e| tracing::info!(refusal = %e, "notify confirmation refused")))
    }

    /// Uses `c` up, on every instance at once: `Used` when it was answered before.
    pub async fn use_confirmation(
        &self,
        c: &Confirmation,
    ) -> Result<Result<(), ConfirmationRefusal>> {
        let fresh = self
            .store
            .use_confirmation(&c.id, from_millis(c.expires_at))
            .await?;
        Ok(if fresh {
            Ok(())
        } else {
            Err(ConfirmationRefusal::Used)
        })
    }
}
