//! The HTTP client of `/api/v1`: the API key on every request, the calling tool's name in a header
//! (for the audit row), and the API's `{"error": {code, status, message}}` body read back as an error.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The header that names the page MCP tool making a call; the API records it in the audit row.
pub use crate::api::auth::TOOL_HEADER;

/// Why a call did not give an answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    /// statusgate answered with an error status; `message` is its wording.
    #[error("{message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// statusgate could not be reached, or answered something that is not the API.
    #[error("{0}")]
    Transport(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            Self::Transport(_) => None,
        }
    }

    /// The structured form handed to the model.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Refused {
                status,
                code,
                message,
            } => json!({ "error": { "code": code, "status": status, "message": message } }),
            Self::Transport(m) => {
                json!({ "error": { "code": "unavailable", "status": null, "message": m } })
            }
        }
    }
}

/// One line from an error and its causes (reqwest nests the useful part).
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out.replace(['\n', '\r'], " ")
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    /// `{base_url}/api/v1`
    root: String,
    base_url: String,
    token: String,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    pub fn new(base_url: &str, token: &str) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("statusgate-page-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Transport(one_line(&e)))?;
        Ok(Self {
            http,
            root: format!("{}/api/v1", base_url.trim_end_matches('/')),
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        self.send(Method::GET, path, query, None, None).await
    }

    /// One call. A 2xx answer is its JSON body (`{}` when empty); anything else an `ApiError`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        tool: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.root))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(t) = tool {
            req = req.header(TOOL_HEADER, t);
        }
        let resp = req.send().await.map_err(|e| {
            ApiError::Transport(format!(
                "statusgate at {} could not be reached: {}",
                self.base_url,
                one_line(&e)
            ))
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            ApiError::Transport(format!("reading statusgate's answer: {}", one_line(&e)))
        })?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return match parsed {
                Some(v) => Ok(v),
                None if bytes.is_empty() => Ok(json!({})),
                None => Err(ApiError::Transport(format!(
                    "{} answered {path} with something that is not JSON",
                    self.base_url
                ))),
            };
        }
        Err(refusal(status, parsed.as_ref()))
    }
}

fn refusal(status: StatusCode, body: Option<&Value>) -> ApiError {
    let err = body.and_then(|b| b.get("error"));
    let text = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = text("code").unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_lowercase()
            .replace(' ', "_")
    });
    let message = text("message")
        .or_else(|| err.and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("statusgate answered {status}"));
    ApiError::Refused {
        status: status.as_u16(),
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_and_bare_statuses_become_refusals() {
        let body = json!({ "error": { "code": "conflict", "status": 409, "message": "already resolved" } });
        let e = refusal(StatusCode::CONFLICT, Some(&body));
        assert_eq!(e.to_string(), "already resolved");
        assert_eq!(e.to_json()["error"]["code"], "conflict");
        let bare = refusal(StatusCode::NOT_FOUND, None);
        assert_eq!(bare.status(), Some(404));
        assert_eq!(bare.to_json()["error"]["code"], "not_found");
    }
}
