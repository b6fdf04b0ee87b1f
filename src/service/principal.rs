//! Who is acting: always a user, through a browser session, an API key or an MCP connector grant.
//! The credential can only narrow what the user's current role allows, never widen it.

use crate::domain::{ActorType, Permission};
use crate::ids::UserId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Signed in through the web pages.
    User,
    /// A statusgate API key; `write` is fixed when the key is made.
    ApiKey { key_id: String, write: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub actor: Actor,
}

impl Principal {
    pub fn user(user_id: UserId) -> Self {
        Self {
            user_id,
            actor: Actor::User,
        }
    }

    /// The id written as the audit row's actor id.
    pub fn actor_id(&self) -> String {
        match &self.actor {
            Actor::User => self.user_id.to_string(),
            Actor::ApiKey { key_id, .. } => key_id.clone(),
        }
    }
}

impl Actor {
    pub fn actor_type(&self) -> ActorType {
        match self {
            Self::User => ActorType::User,
            Self::ApiKey { .. } => ActorType::ApiKey,
        }
    }

    /// What the credential itself permits, before the role is asked.
    pub fn allows(&self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Self::User => true,
            Self::ApiKey { write, .. } => match p {
                PageRead | IncidentRead | MaintenanceRead | AnalyticsRead | MonitorRead => true,
                IncidentManage | MaintenanceManage | MonitorManage => *write,
                SubscriberManage | SettingsManage => false,
            },
        }
    }

    /// Adds what the audit row should remember about the credential.
    pub fn describe(&self, detail: &mut serde_json::Value) {
        if let (Self::ApiKey { key_id, .. }, Some(obj)) = (self, detail.as_object_mut()) {
            obj.insert("api_key".into(), key_id.clone().into());
        }
    }
}
