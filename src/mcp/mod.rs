//! The Hosted MCP surface: tools, resources and prompts over the permission-checked services.
//! Transport-free: the HTTP adapter authenticates the caller and hands an `McpCaller` in.

mod admit;
pub mod caller;
pub mod catalog;
mod confirm;
pub mod credentials;
pub mod direct;
pub mod handler;
pub mod http;
pub mod incoming;
mod page_resources;
pub mod prompts;
mod refusal;
mod resource_templates;
pub mod resources;
pub mod revision;
pub mod scope;
pub mod tool_args;
pub mod tools;
mod write_tools;

pub use caller::McpCaller;
pub use scope::McpScope;
