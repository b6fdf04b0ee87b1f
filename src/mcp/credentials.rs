//! The two credentials `/mcp` accepts: statusgate API keys (`sg_…`, in `x-statusgate-key` or as a
//! bearer token) and the OAuth access tokens of the Hosted MCP connector. Keys go to the key check,
//! everything else to the authorization server. `/mcp` is the Hosted MCP surface whatever the
//! credential, so the key's organisation's Hosted MCP settings apply to keys too: with Hosted MCP off a
//! key is refused here, and a read & write key gets the write scopes only while the organisation allows
//! write scopes. A read-only key gets the read scopes, so it sees only read tools. The role check still
//! happens in the services.

use std::sync::Arc;

use super::http::{AuthFailure, AuthFuture, Authenticate};
use super::{McpCaller, McpScope};
use crate::service::api_keys::{KeyRefusal, KEY_PREFIX};
use crate::service::Services;

pub struct Credentials {
    pub oauth: Arc<dyn Authenticate>,
    pub services: Services,
}

impl Authenticate for Credentials {
    fn authenticate<'a>(&'a self, token: &'a str) -> AuthFuture<'a> {
        if !token.starts_with(KEY_PREFIX) {
            return self.oauth.authenticate(token);
        }
        Box::pin(async move {
            let (principal, key) = match self.services.verify_api_key(token).await {
                Ok(found) => found,
                Err(KeyRefusal::Unavailable) => return Err(AuthFailure::Unavailable),
                Err(e) => return Err(AuthFailure::InvalidToken(e.to_string())),
            };
            let Ok(settings) = self.services.hosted_mcp_settings(&key.org_id).await else {
                return Err(AuthFailure::Unavailable);
            };
            if !settings.enabled {
                return Err(AuthFailure::InvalidToken(
                    "Hosted MCP is turned off for this key's organisation".into(),
                ));
            }
            Ok(McpCaller {
                principal,
                scopes: if key.can_write && settings.allow_write {
                    McpScope::ALL.to_vec()
                } else {
                    McpScope::READ.to_vec()
                },
                allowed_tools: None,
            })
        })
    }
}
