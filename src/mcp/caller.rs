//! Who is calling `/mcp`: the acting user's principal, the scopes the credential carries, and for an
//! OAuth grant the tool set the person left ticked on the consent page.

use super::catalog::ToolSpec;
use super::scope::McpScope;
use crate::service::Principal;

#[derive(Clone, Debug)]
pub struct McpCaller {
    pub principal: Principal,
    pub scopes: Vec<McpScope>,
    /// `None`: every tool the scopes unlock. `Some`: only these names (a consent page choice).
    pub allowed_tools: Option<Vec<String>>,
}

impl McpCaller {
    pub fn has(&self, scope: McpScope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Scope and tool-set check; the role check happens in the services when the tool runs.
    pub fn may_use(&self, tool: &ToolSpec) -> bool {
        self.has(tool.scope) && self.ticked(tool.name)
    }

    /// Whether the person left `tool` ticked on the consent page. Prompts and resources that show what
    /// a tool shows ask this too, so unticking a tool is not undone by another way to the same data.
    pub fn ticked(&self, tool: &str) -> bool {
        self.allowed_tools
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|t| t == tool))
    }
}
