//! The MCP layer's view of the connector scopes (defined once, in `domain::scope`): the read-only
//! default a 401 advertises and the space-separated form challenges carry.

pub use crate::domain::scope::Scope as McpScope;

impl McpScope {
    /// What a request with no usable scope falls back to, and what a 401 advertises.
    pub const READ: [McpScope; 5] = [
        Self::PagesRead,
        Self::IncidentsRead,
        Self::MaintenancesRead,
        Self::AnalyticsRead,
        Self::BeatsRead,
    ];

    pub fn join(scopes: &[McpScope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::McpScope;
    use crate::mcp::catalog::TOOLS;

    #[test]
    fn the_read_default_is_every_scope_that_only_reads() {
        let reads: Vec<McpScope> = McpScope::ALL
            .into_iter()
            .filter(|s| !s.is_write())
            .collect();
        assert_eq!(reads, McpScope::READ.to_vec());
    }

    #[test]
    fn the_catalog_and_the_consent_page_agree_on_which_scope_unlocks_which_tool() {
        for t in TOOLS {
            assert_eq!(McpScope::of_tool(t.name), Some(t.scope), "{}", t.name);
        }
        for s in McpScope::ALL {
            for name in s.tools() {
                assert!(TOOLS.iter().any(|t| t.name == *name), "{name} has no tool");
            }
        }
    }
}
