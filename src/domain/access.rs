//! Roles and the permissions they grant. Every front end (web, REST, MCP) asks these same questions.

use super::DomainError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
    Owner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    PageRead,
    IncidentRead,
    IncidentManage,
    MaintenanceRead,
    MaintenanceManage,
    AnalyticsRead,
    MonitorRead,
    MonitorManage,
    SubscriberManage,
    SettingsManage,
    /// Creating, editing and deleting pages and their components.
    PageManage,
}

impl Permission {
    /// Whether the permission only reads.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Self::PageRead
                | Self::IncidentRead
                | Self::MaintenanceRead
                | Self::AnalyticsRead
                | Self::MonitorRead
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PageRead => "page read",
            Self::IncidentRead => "incident read",
            Self::IncidentManage => "incident manage",
            Self::MaintenanceRead => "maintenance read",
            Self::MaintenanceManage => "maintenance manage",
            Self::AnalyticsRead => "analytics read",
            Self::MonitorRead => "monitor read",
            Self::MonitorManage => "monitor manage",
            Self::SubscriberManage => "subscriber manage",
            Self::SettingsManage => "settings manage",
            Self::PageManage => "page manage",
        }
    }

    /// What the permission lets a person do, in the words a refusal uses ("cannot …").
    pub fn action(self) -> &'static str {
        match self {
            Self::PageRead => "read this organisation's pages",
            Self::IncidentRead => "read incidents",
            Self::IncidentManage => "post or change incidents",
            Self::MaintenanceRead => "read maintenances",
            Self::MaintenanceManage => "schedule or change maintenances",
            Self::AnalyticsRead => "read analytics",
            Self::MonitorRead => "read monitors",
            Self::MonitorManage => "set up or change monitors",
            Self::SubscriberManage => "manage subscribers",
            Self::SettingsManage => {
                "change this organisation's settings, members, keys or connections"
            }
            Self::PageManage => "create, change or delete pages and components",
        }
    }
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Ok(match s {
            "viewer" => Self::Viewer,
            "editor" => Self::Editor,
            "admin" => Self::Admin,
            "owner" => Self::Owner,
            _ => {
                return Err(DomainError::invalid(
                    "role",
                    "must be one of owner, admin, editor, viewer",
                ))
            }
        })
    }

    /// The least role that has `p`: what a refusal tells a person to ask for.
    pub fn least_with(p: Permission) -> Role {
        Self::ALL
            .into_iter()
            .find(|r| r.allows(p))
            .unwrap_or(Role::Owner)
    }

    /// The permission table. Viewers read everything an org shows; editors run the page day to day;
    /// admins also manage subscribers and settings; owners are admins who cannot be demoted by an admin.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match p {
            PageRead | IncidentRead | MaintenanceRead | AnalyticsRead | MonitorRead => true,
            IncidentManage | MaintenanceManage | MonitorManage => self >= Role::Editor,
            SubscriberManage | SettingsManage | PageManage => self >= Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_role_named_in_a_refusal_has_the_permission_and_the_one_below_does_not() {
        use Permission::*;
        for p in [IncidentManage, SettingsManage, PageManage, IncidentRead] {
            let least = Role::least_with(p);
            assert!(least.allows(p), "{p:?}");
            let below = Role::ALL.into_iter().take_while(|r| *r != least);
            assert!(below.into_iter().all(|r| !r.allows(p)), "{p:?}");
        }
        assert_eq!(Role::least_with(IncidentManage), Role::Editor);
        assert_eq!(Role::least_with(SettingsManage), Role::Admin);
    }

    #[test]
    fn viewers_read_but_do_not_manage() {
        assert!(Role::Viewer.allows(Permission::IncidentRead));
        assert!(!Role::Viewer.allows(Permission::IncidentManage));
        assert!(Role::Editor.allows(Permission::IncidentManage));
        assert!(!Role::Editor.allows(Permission::SettingsManage));
        assert!(Role::Admin.allows(Permission::SettingsManage));
        assert!(Role::Owner.allows(Permission::SubscriberManage));
        assert!(!Role::Editor.allows(Permission::PageManage));
        assert!(Role::Admin.allows(Permission::PageManage));
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
    }
}
