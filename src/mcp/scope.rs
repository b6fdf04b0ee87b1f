//! The Hosted MCP scopes, and who may use what: a caller's effective permission is the granted scopes,
//! intersected with the grant's allowed tool set, intersected with the user's current role (checked by
//! the services at call time).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum McpScope {
    PagesRead,
    IncidentsRead,
    IncidentsWrite,
    MaintenancesRead,
    MaintenancesWrite,
    AnalyticsRead,
    BeatsRead,
}

impl McpScope {
    pub const ALL: [McpScope; 7] = [
        Self::PagesRead,
        Self::IncidentsRead,
        Self::IncidentsWrite,
        Self::MaintenancesRead,
        Self::MaintenancesWrite,
        Self::AnalyticsRead,
        Self::BeatsRead,
    ];

    /// What a scope-less request falls back to: everything that only reads.
    pub const READ: [McpScope; 5] = [
        Self::PagesRead,
        Self::IncidentsRead,
        Self::MaintenancesRead,
        Self::AnalyticsRead,
        Self::BeatsRead,
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
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_write(self) -> bool {
        matches!(self, Self::IncidentsWrite | Self::MaintenancesWrite)
    }

    /// A line for people: what the scope lets an assistant do.
    pub fn description(self) -> &'static str {
        match self {
            Self::PagesRead => "See your status pages, their components and status definitions",
            Self::IncidentsRead => "Read active and past incidents and their updates",
            Self::IncidentsWrite => "Open incidents and post incident updates",
            Self::MaintenancesRead => "Read scheduled and active maintenance",
            Self::MaintenancesWrite => "Schedule maintenance and post maintenance updates",
            Self::AnalyticsRead => "Read uptime and incident analytics",
            Self::BeatsRead => "Read monitors, their recent results and pending actions",
        }
    }

    /// Splits a space-separated scope string, ignoring unknown tokens, empties and duplicates.
    pub fn parse_list(raw: &str) -> Vec<McpScope> {
        let mut out: Vec<McpScope> = raw.split_whitespace().filter_map(Self::parse).collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn join(scopes: &[McpScope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for McpScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messy_scope_strings_keep_only_known_tokens() {
        let got = McpScope::parse_list(
            " offline_access  mcp.pages.read claudeai mcp.pages.read\tmcp.incidents.write ",
        );
        assert_eq!(got, vec![McpScope::PagesRead, McpScope::IncidentsWrite]);
        assert!(McpScope::parse_list("read write").is_empty());
    }

    #[test]
    fn scope_strings_round_trip() {
        for s in McpScope::ALL {
            assert_eq!(McpScope::parse(s.as_str()), Some(s));
        }
    }
}
