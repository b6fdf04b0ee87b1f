//! Who is acting: always a user, through a browser session, an API key or an MCP connector grant.
//! The credential can only narrow what the user's current role allows, never widen it.

use crate::domain::{ActorType, Permission, Role};
use crate::ids::{OrgId, PageId, UserId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Signed in through the web pages.
    User,
    /// A statusgate API key: `write`, the organisation and the optional page are fixed when the key is
    /// made; `tool` names the page MCP server's tool that made the call, for the audit row.
    ApiKey {
        key_id: String,
        write: bool,
        org: OrgId,
        page: Option<PageId>,
        tool: Option<String>,
        /// The notify confirmation a person gave for this call, named in its audit row.
        confirmation: Option<String>,
    },
    /// An assistant through the Hosted MCP connector: the grant's connector key, the organisation the
    /// person approved it for (it reaches no other, whatever else the person belongs to), the client,
    /// and the tool being run (for the audit row). Scopes are checked by the MCP layer.
    Mcp {
        key_id: String,
        grant_id: String,
        org: OrgId,
        client_name: String,
        tool: Option<String>,
        /// The notify confirmation a person gave for this call, named in its audit row.
        confirmation: Option<String>,
    },
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
            Actor::ApiKey { key_id, .. } | Actor::Mcp { key_id, .. } => key_id.clone(),
        }
    }
}

impl crate::domain::connector::LiveGrant {
    /// The acting principal for a call made with this grant (`tool` is named in the audit row).
    pub fn principal(&self, tool: Option<String>) -> Principal {
        Principal {
            user_id: self.user_id.clone(),
            actor: Actor::Mcp {
                key_id: self.key_id.to_string(),
                grant_id: self.grant_id.to_string(),
                org: self.org_id.clone(),
                client_name: self.client_name.clone(),
                tool,
                confirmation: None,
            },
        }
    }
}

impl Actor {
    pub fn actor_type(&self) -> ActorType {
        match self {
            Self::User => ActorType::User,
            Self::ApiKey { .. } => ActorType::ApiKey,
            Self::Mcp { .. } => ActorType::Mcp,
        }
    }

    /// What the credential itself permits, before the role is asked.
    pub fn allows(&self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Self::User => true,
            Self::ApiKey { write, .. } => match p {
                PageRead | IncidentRead | MaintenanceRead | AnalyticsRead | MonitorRead => true,
                IncidentManage | MaintenanceManage | MonitorManage | PageManage => *write,
                SubscriberManage | SettingsManage => false,
            },
            // The hosted surface never manages subscribers, settings or pages; the rest is
            // scope-gated upstream.
            Self::Mcp { .. } => !matches!(p, SubscriberManage | SettingsManage | PageManage),
        }
    }

    /// Why this credential may not do `what`, and what to do instead (its role would allow it).
    pub fn refusal(&self, what: Permission) -> String {
        let action = what.action();
        match self {
            Self::User => format!("you cannot {action} here"),
            Self::ApiKey { .. } => format!(
                "this API key cannot {action}: it is read-only or that is never done with a key; \
                 create a write key under API keys, or do it from the admin pages"
            ),
            Self::Mcp { .. } => format!(
                "an assistant connected through Hosted MCP cannot {action}: \
                 a person does that from the admin pages"
            ),
        }
    }

    /// Whether the credential reaches `org` at all: a key and a connector grant each belong to the one
    /// organisation they were made for; only a browser session follows the person's memberships.
    pub fn reaches_org(&self, org: &OrgId) -> bool {
        match self {
            Self::ApiKey { org: own, .. } | Self::Mcp { org: own, .. } => own == org,
            Self::User => true,
        }
    }

    /// The one organisation a credential is bound to; `None` for a browser session.
    pub fn bound_org(&self) -> Option<&OrgId> {
        match self {
            Self::ApiKey { org, .. } | Self::Mcp { org, .. } => Some(org),
            Self::User => None,
        }
    }

    /// Whether the credential is a key limited to one page.
    pub fn limited_to_page(&self) -> bool {
        matches!(self, Self::ApiKey { page: Some(_), .. })
    }

    /// Whether the credential reaches `page`: a page-scoped key reaches only its page.
    pub fn reaches_page(&self, page: &PageId) -> bool {
        match self {
            Self::ApiKey {
                page: Some(own), ..
            } => own == page,
            _ => true,
        }
    }

    /// Adds what the audit row should remember about the credential.
    pub fn describe(&self, detail: &mut serde_json::Value) {
        let Some(obj) = detail.as_object_mut() else {
            return;
        };
        match self {
            Self::User => {}
            Self::ApiKey {
                key_id,
                tool,
                confirmation,
                ..
            } => {
                obj.insert("api_key".into(), key_id.clone().into());
                if let Some(t) = tool {
                    obj.insert("tool".into(), t.clone().into());
                }
                if let Some(c) = confirmation {
                    obj.insert("confirmation".into(), c.clone().into());
                }
            }
            Self::Mcp {
                key_id,
                grant_id,
                client_name,
                tool,
                confirmation,
                ..
            } => {
                obj.insert("connector_key".into(), key_id.clone().into());
                obj.insert("grant".into(), grant_id.clone().into());
                obj.insert("client".into(), client_name.clone().into());
                if let Some(t) = tool {
                    obj.insert("tool".into(), t.clone().into());
                }
                if let Some(c) = confirmation {
                    obj.insert("confirmation".into(), c.clone().into());
                }
            }
        }
    }
}

/// Why `role` may not do `what`: the role that may, and whom to ask for it.
pub(crate) fn role_refusal(role: Role, what: Permission) -> String {
    let needed = Role::least_with(what);
    let grantors = if needed == Role::Owner {
        "an owner"
    } else {
        "an admin or owner"
    };
    format!(
        "your role ({}) cannot {}: ask {grantors} of this organisation to make you {} {}",
        role.as_str(),
        what.action(),
        if needed == Role::Viewer { "a" } else { "an" },
        needed.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_refusal_names_the_role_needed_and_whom_to_ask() {
        let m = role_refusal(Role::Editor, Permission::SettingsManage);
        assert!(m.starts_with("your role (editor) cannot change"), "{m}");
        assert!(
            m.ends_with("ask an admin or owner of this organisation to make you an admin"),
            "{m}"
        );
        let m = role_refusal(Role::Viewer, Permission::IncidentManage);
        assert!(m.ends_with("make you an editor"), "{m}");
    }

    #[test]
    fn a_credential_refusal_says_what_to_use_instead() {
        let key = Actor::ApiKey {
            key_id: "k".into(),
            write: false,
            org: OrgId::generate(),
            page: None,
            tool: None,
            confirmation: None,
        };
        assert!(key
            .refusal(Permission::IncidentManage)
            .contains("create a write key"));
    }
}
