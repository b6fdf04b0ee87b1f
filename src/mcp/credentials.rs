//! The two credentials `/mcp` accepts: statusgate API keys (`sg_…`, in `x-statusgate-key` or as a
//! bearer token) and the OAuth access tokens of the Hosted MCP connector. Keys go to the key check,
//! everything else to the authorization server. A read-only key gets the read scopes, so it sees only
//! read tools; a read & write key gets every scope. The role check still happens in the services.

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
            match self.services.verify_api_key(token).await {
                Ok((principal, key)) => Ok(McpCaller {
                    principal,
                    scopes: if key.can_write {
                        McpScope::ALL.to_vec()
                    } else {
                        McpScope::READ.to_vec()
                    },
                    allowed_tools: None,
                }),
                Err(KeyRefusal::Unavailable) => Err(AuthFailure::Unavailable),
                Err(e) => Err(AuthFailure::InvalidToken(e.to_string())),
            }
        })
    }
}
