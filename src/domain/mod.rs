//! The status-page domain: values, rules and permissions. No I/O, no HTTP, no SQL. Rules that depend on
//! time take `now` as an argument.

pub mod access;
pub mod confirmation;
pub mod connector;
pub mod impact;
pub mod incident;
pub mod maintenance;
pub mod monitor;
pub mod page;
pub mod records;
pub mod scope;
pub mod secret;
pub mod subscriber;
pub mod text;

pub use access::{Permission, Role};
pub use impact::{Impact, PageStatus};
pub use incident::{IncidentStage, NewIncidentUpdate};
pub use maintenance::{MaintenanceState, MaintenanceWindow};
pub use page::{ComponentKind, ComponentStatus};
pub use records::*;
pub use text::{breaks_line, Email, Message, Name, Slug};

/// A rule of the domain was broken; the message is safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0}")]
    Transition(String),
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Who performed an audited action, as written in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorType {
    User,
    ApiKey,
    Mcp,
    System,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Mcp => "mcp",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "api_key" => Self::ApiKey,
            "mcp" => Self::Mcp,
            "system" => Self::System,
            _ => return None,
        })
    }
}
