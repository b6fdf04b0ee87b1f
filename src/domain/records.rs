//! The records the domain hands out: what storage reads back and every front end shows.

use time::OffsetDateTime;

use super::{ActorType, ComponentKind, ComponentStatus, IncidentStage, MaintenanceState, Role};
use crate::ids::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
}

/// A user's place in one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub org: Org,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub id: PageId,
    pub org_id: OrgId,
    pub slug: String,
    pub public_slug: String,
    pub name: String,
    pub description: String,
    /// An unpublished page answers 404 to the public; its team still sees and edits it.
    pub published: bool,
    /// The IANA time zone the public page shows times in.
    pub time_zone: String,
    pub branding: Branding,
}

/// How a public page looks beyond its name: each part empty when unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Branding {
    /// An https URL of the logo shown in the page header.
    pub logo_url: String,
    /// `#rrggbb`.
    pub accent_color: String,
    /// An https link to the company's site or support, shown in the page header.
    pub support_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    pub id: ComponentId,
    pub page_id: PageId,
    pub parent_id: Option<ComponentId>,
    pub kind: ComponentKind,
    pub name: String,
    pub description: String,
    pub status: ComponentStatus,
    pub position: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    pub page_id: PageId,
    pub title: String,
    pub stage: IncidentStage,
    pub started_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    /// Set while the incident is an unpublished draft.
    pub draft: Option<Draft>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentUpdate {
    pub id: IncidentUpdateId,
    pub incident_id: IncidentId,
    pub stage: IncidentStage,
    pub message: String,
    pub notify: bool,
    pub created_at: OffsetDateTime,
    pub affected: Vec<(ComponentId, ComponentStatus)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintenance {
    pub id: MaintenanceId,
    pub page_id: PageId,
    pub title: String,
    pub state: MaintenanceState,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub components: Vec<ComponentId>,
    pub updated_at: OffsetDateTime,
    /// Set while the maintenance is an unpublished draft.
    pub draft: Option<Draft>,
}

/// An incident or maintenance saved but not published: not on the public page, no component status
/// changed, nobody notified, and no further updates until a person publishes or discards it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// What saved it: the assistant's client name, "API key", or "web".
    pub via: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceUpdate {
    pub id: MaintenanceUpdateId,
    pub maintenance_id: MaintenanceId,
    pub state: MaintenanceState,
    pub message: String,
    pub notify: bool,
    pub created_at: OffsetDateTime,
}

/// One audit-log row as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub org_id: OrgId,
    pub actor_type: ActorType,
    pub actor_id: String,
    pub user_id: Option<UserId>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: String,
    pub created_at: OffsetDateTime,
}

/// An ordinary REST API key, or the key an OAuth connector grant acts through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Api,
    Connector,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Connector => "connector",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "api" => Ok(Self::Api),
            "connector" => Ok(Self::Connector),
            other => Err(format!("unknown key kind {other}")),
        }
    }
}

/// A stored key as lists and checks see it; the secret itself is never stored.
#[derive(Clone, Debug)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    pub can_write: bool,
    pub page_id: Option<PageId>,
    pub kind: KeyKind,
    pub grant_id: Option<GrantId>,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// Which audit rows a search wants: one actor type, and rows written at `from` or later and before
/// `until`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_type: Option<ActorType>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// Which table a draft lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftKind {
    Incident,
    Maintenance,
}

impl DraftKind {
    /// The noun the audit log and messages use.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Maintenance => "maintenance",
        }
    }
}

/// Which maintenances a listing wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaintenanceFilter {
    /// Open and inside its window, or marked in progress.
    Active,
    /// Scheduled and not yet started.
    Upcoming,
    /// Completed or cancelled.
    Past,
    /// Every scheduled one, whatever its window.
    Scheduled,
}

/// One member of an organisation, as the members page lists them.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub since: OffsetDateTime,
}

/// An invitation to join an organisation. The token itself is never stored, only its hash.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}
