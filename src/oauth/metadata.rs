//! RFC 8414 authorization-server metadata and RFC 9728 protected-resource metadata. Built as JSON values
//! with only present fields: several client SDKs reject `null` anywhere.

use serde_json::{json, Value};

use super::scope::Scope;
use super::AuthServer;
use crate::domain::connector::AuthMethod;

impl AuthServer {
    fn scopes_supported(&self) -> Vec<&'static str> {
        Scope::ALL.iter().map(|s| s.as_str()).collect()
    }

    pub fn as_metadata(&self) -> Value {
        let mut doc = json!({
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("/mcp/oauth/authorize"),
            "token_endpoint": self.endpoint("/mcp/oauth/token"),
            "revocation_endpoint": self.endpoint("/mcp/oauth/revoke"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", super::token::JWT_BEARER],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": AuthMethod::SUPPORTED,
            "revocation_endpoint_auth_methods_supported": AuthMethod::SUPPORTED,
            "scopes_supported": self.scopes_supported(),
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": self.config.cimd_enabled,
            "service_documentation": self.endpoint("/"),
        });
        if self.config.dcr_enabled {
            if let Some(obj) = doc.as_object_mut() {
                obj.insert(
                    "registration_endpoint".into(),
                    self.endpoint("/mcp/oauth/register").into(),
                );
            }
        }
        doc
    }

    /// The same document at the root and at the `/mcp` path-inserted URL: there is one resource.
    pub fn resource_metadata(&self) -> Value {
        json!({
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "scopes_supported": self.scopes_supported(),
            "bearer_methods_supported": ["header"],
            "resource_name": "statusgate Hosted MCP",
        })
    }
}
