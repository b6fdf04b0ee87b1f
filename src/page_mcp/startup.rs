//! Start-up checks, all before the first MCP byte: the key is accepted (`GET /api/v1/me`), the page
//! resolves, and what the key may do is known. Any failure is one line and exit status 2, never a
//! half-working server.

use serde_json::Value;

use super::client::{ApiClient, ApiError};
use super::config::{PageSelector, Settings};

/// The page being served and what the key allows on it.
#[derive(Clone, Debug)]
pub struct Target {
    pub page_id: String,
    pub page_name: String,
    pub org_id: Option<String>,
    /// The key may write (from `/me`); read-only keys get no write tools.
    pub key_writes: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    #[error("the API token was refused by {base}: {message}")]
    TokenRefused { base: String, message: String },
    #[error("{0}")]
    Unreachable(String),
    #[error("{base} does not serve the statusgate API (/api/v1/me answered {status})")]
    NotStatusgate { base: String, status: u16 },
    #[error("page {0} was not found, or this API token cannot reach it")]
    PageNotFound(String),
    #[error("no page to serve: set STATUSGATE_PAGE_ID, or STATUSGATE_ORG_SLUG and STATUSGATE_PAGE_PUBLIC_SLUG, or use an API token limited to one page")]
    NoPage,
    #[error("the API token belongs to organisation {actual}, not STATUSGATE_ORG_ID {wanted}")]
    WrongOrg { actual: String, wanted: String },
    #[error("{0}")]
    Api(String),
}

/// The first string found under one of `keys`, at the top of `v` or one object down.
pub fn field<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let here = keys.iter().find_map(|k| v.get(*k).filter(|x| !x.is_null()));
    here.or_else(|| {
        v.as_object()?
            .values()
            .filter(|x| x.is_object())
            .find_map(|inner| {
                keys.iter()
                    .find_map(|k| inner.get(*k).filter(|x| !x.is_null()))
            })
    })
}

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    field(v, keys).and_then(Value::as_str).map(str::to_owned)
}

/// Checks the key, then resolves the page.
pub async fn connect(settings: &Settings) -> Result<(ApiClient, Target), StartError> {
    let api = ApiClient::new(&settings.base_url, &settings.token)
        .map_err(|e| StartError::Unreachable(e.to_string()))?;
    let me = api.get("/me", &[]).await.map_err(|e| match e {
        ApiError::Refused {
            status: 401 | 403,
            message,
            ..
        } => StartError::TokenRefused {
            base: settings.base_url.clone(),
            message,
        },
        ApiError::Refused { status, .. } => StartError::NotStatusgate {
            base: settings.base_url.clone(),
            status,
        },
        ApiError::Transport(m) => StartError::Unreachable(m),
    })?;
    // `scope` is `read` or `write`; anything else is left to the API to refuse call by call.
    let key_writes = me.get("scope").and_then(Value::as_str) != Some("read");
    let key_org = me
        .get("org")
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str);
    if let (Some(wanted), Some(actual)) = (&settings.org_id, key_org) {
        if wanted != actual {
            return Err(StartError::WrongOrg {
                actual: actual.to_owned(),
                wanted: wanted.clone(),
            });
        }
    }
    let (path, label) = match &settings.page {
        PageSelector::Id(id) => (format!("/pages/{id}"), id.clone()),
        PageSelector::Slugs { org, public } => (
            format!("/pages/by-slug/{org}/{public}"),
            format!("{org}/{public}"),
        ),
        PageSelector::FromKey => {
            let id = text(&me, &["page_id"]).ok_or(StartError::NoPage)?;
            (format!("/pages/{id}"), id)
        }
    };
    let page = api.get(&path, &[]).await.map_err(|e| match e {
        ApiError::Refused {
            status: 404 | 403, ..
        } => StartError::PageNotFound(label.clone()),
        ApiError::Refused { message, .. } => StartError::Api(message),
        ApiError::Transport(m) => StartError::Unreachable(m),
    })?;
    let page_id = text(&page, &["page_id", "id"]).ok_or_else(|| {
        StartError::Api(format!(
            "{} answered {path} without a page id",
            settings.base_url
        ))
    })?;
    Ok((
        api,
        Target {
            page_name: text(&page, &["name"]).unwrap_or_else(|| page_id.clone()),
            page_id,
            org_id: key_org.map(str::to_owned),
            key_writes,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_at_the_top_or_one_level_down() {
        let me =
            json!({ "user": { "user_id": "u_1" }, "key": { "write": false, "page_id": "pg_1" } });
        assert_eq!(field(&me, &["write", "can_write"]), Some(&json!(false)));
        assert_eq!(text(&me, &["page_id"]).as_deref(), Some("pg_1"));
        assert_eq!(text(&json!({ "page_id": null }), &["page_id"]), None);
    }
}
