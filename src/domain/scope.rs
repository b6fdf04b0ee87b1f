//! The Hosted MCP connector's scopes and the tools each unlocks, shared by the authorization server
//! and the MCP layer. Parsing is tolerant on purpose: real clients send `offline_access`, `claudeai`,
//! `read write` or stray spaces, and none of that may fail a flow.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    PagesRead,
    IncidentsRead,
    IncidentsWrite,
    MaintenancesRead,
    MaintenancesWrite,
    AnalyticsRead,
    BeatsRead,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::PagesRead,
        Scope::IncidentsRead,
        Scope::IncidentsWrite,
        Scope::MaintenancesRead,
        Scope::MaintenancesWrite,
        Scope::AnalyticsRead,
        Scope::BeatsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PagesRead => "mcp.pages.read",
            Self::IncidentsRead => "mcp.incidents.read",
            Self::IncidentsWrite => "mcp.incidents.write",
            Self::MaintenancesRead => "mcp.maintenances.read",
            Self::MaintenancesWrite => "mcp.maintenances.write",
            Self::AnalyticsRead => "mcp.analytics.read",
            Self::BeatsRead => "mcp.beats.read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn is_write(self) -> bool {
        matches!(self, Self::IncidentsWrite | Self::MaintenancesWrite)
    }

    /// What the consent page says the scope allows.
    pub fn label(self) -> &'static str {
        match self {
            Self::PagesRead => "See your status pages and their components",
            Self::IncidentsRead => "Read incidents and their updates",
            Self::IncidentsWrite => "Open incidents and post incident updates",
            Self::MaintenancesRead => "Read scheduled maintenances",
            Self::MaintenancesWrite => "Schedule maintenances and post maintenance updates",
            Self::AnalyticsRead => "Read uptime and incident analytics",
            Self::BeatsRead => "Read synthetic checks (beats) and their failures",
        }
    }

    /// The hosted MCP tools this scope unlocks.
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            Self::PagesRead => &["list_status_pages", "get_page_summary"],
            Self::IncidentsRead => &["list_incidents", "get_incident"],
            Self::IncidentsWrite => &["create_incident", "add_incident_update"],
            Self::MaintenancesRead => &["list_maintenances"],
            Self::MaintenancesWrite => &["schedule_maintenance", "add_maintenance_update"],
            Self::AnalyticsRead => &["get_analytics_summary"],
            Self::BeatsRead => &["list_beats", "list_recent_beat_failures"],
        }
    }

    /// The scope that unlocks `tool`, if any.
    pub fn of_tool(tool: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.tools().contains(&tool))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of known scopes, kept sorted and without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    pub fn read_defaults() -> Self {
        Self(Scope::ALL.into_iter().filter(|s| !s.is_write()).collect())
    }

    pub fn all() -> Self {
        Self(Scope::ALL.to_vec())
    }

    pub fn of(it: impl IntoIterator<Item = Scope>) -> Self {
        let mut v: Vec<Scope> = it.into_iter().collect();
        v.sort();
        v.dedup();
        Self(v)
    }

    /// Known tokens only; nothing known left means the read scopes (checklist D5).
    pub fn parse_tolerant(raw: Option<&str>) -> Self {
        let known = Self::parse_known(raw.unwrap_or_default());
        if known.is_empty() {
            Self::read_defaults()
        } else {
            known
        }
    }

    /// Known tokens only, possibly none (used where an empty set means "as before").
    pub fn parse_known(raw: &str) -> Self {
        Self::of(raw.split_whitespace().filter_map(Scope::parse))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(*s))
    }

    pub fn intersect(&self, other: &ScopeSet) -> Self {
        Self(
            self.0
                .iter()
                .copied()
                .filter(|s| other.contains(*s))
                .collect(),
        )
    }

    pub fn has_write(&self) -> bool {
        self.0.iter().any(|s| s.is_write())
    }

    /// Every tool the scopes unlock.
    pub fn tools(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .flat_map(|s| s.tools().iter().copied())
            .collect()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messy_requests_fall_back_to_read_scopes() {
        for raw in [
            None,
            Some(""),
            Some(" offline_access"),
            Some("claudeai"),
            Some("read write"),
        ] {
            assert_eq!(
                ScopeSet::parse_tolerant(raw),
                ScopeSet::read_defaults(),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn unknown_tokens_are_ignored_and_known_ones_kept() {
        let s = ScopeSet::parse_tolerant(Some(
            "offline_access  mcp.incidents.write openid mcp.pages.read",
        ));
        assert_eq!(s.to_string(), "mcp.pages.read mcp.incidents.write");
        assert!(s.has_write());
    }

    #[test]
    fn every_tool_belongs_to_one_scope() {
        let all = ScopeSet::all().tools();
        assert_eq!(all.len(), 12);
        for t in all {
            assert!(Scope::of_tool(t).is_some());
        }
    }
}
