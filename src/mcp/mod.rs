//! The Hosted MCP surface: tools, resources and prompts over the permission-checked services.
//! Transport-free: the HTTP adapter authenticates the caller and hands an `McpCaller` in.

pub mod args;
pub mod caller;
pub mod catalog;
pub mod credentials;
pub mod direct;
pub mod handler;
pub mod http;
pub mod prompts;
pub mod resources;
pub mod revision;
pub mod scope;
pub mod tools;

pub use caller::McpCaller;
pub use scope::McpScope;
