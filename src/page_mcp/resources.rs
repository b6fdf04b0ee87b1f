//! `statusgate://page/...` resources: the served page's state, each read through `/api/v1`. Limits
//! match the hosted server: timelines default to 20 and stop at 200, analytics windows default to
//! 30 days and stop at 90.

use serde_json::{json, Value};

use super::client::{ApiClient, ApiError};

pub const PREFIX: &str = "statusgate://page/";

/// A resource or template as listed.
pub struct Listed {
    pub uri: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

const fn r(uri: &'static str, name: &'static str, description: &'static str) -> Listed {
    Listed {
        uri,
        name,
        description,
    }
}

/// Resources without parameters.
pub static RESOURCES: &[Listed] = &[
    r(
        "statusgate://page/summary",
        "summary",
        "The page: name, overall status, components, active incidents and upcoming maintenance",
    ),
    r(
        "statusgate://page/status-definitions",
        "status-definitions",
        "The component statuses statusgate uses",
    ),
    r(
        "statusgate://page/lifecycle/stages",
        "incident-stages",
        "Incident lifecycle stages",
    ),
    r(
        "statusgate://page/maintenance-lifecycle/stages",
        "maintenance-stages",
        "Maintenance lifecycle states",
    ),
    r(
        "statusgate://page/incidents/active",
        "active-incidents",
        "Open incidents",
    ),
    r(
        "statusgate://page/maintenances/active",
        "active-maintenances",
        "Maintenance in progress",
    ),
    r(
        "statusgate://page/hierarchy/tree",
        "hierarchy",
        "Component groups and components, with ids",
    ),
    r(
        "statusgate://page/subscribers/summary",
        "subscribers",
        "How many subscribers the page has, by channel",
    ),
    r(
        "statusgate://page/analytics/summary?window_days=30",
        "analytics",
        "Uptime, incidents, maintenance and page views over the last 30 days",
    ),
    r(
        "statusgate://page/embeds",
        "embeds",
        "Status badge and widget snippets for the page",
    ),
    r(
        "statusgate://page/beats",
        "beats",
        "The page's synthetic HTTP monitors (beats) and their last results",
    ),
    r(
        "statusgate://page/beats/pending-actions",
        "pending-actions",
        "Actions monitors proposed, waiting for a person",
    ),
];

/// Resources with parameters.
pub static TEMPLATES: &[Listed] = &[
    r(
        "statusgate://page/incidents/{incident_id}",
        "incident",
        "One incident with its latest updates",
    ),
    r(
        "statusgate://page/incidents/{incident_id}/updates?limit={limit}",
        "incident-updates",
        "An incident's updates, newest first",
    ),
    r(
        "statusgate://page/maintenances/{maintenance_id}",
        "maintenance",
        "One maintenance with its latest updates",
    ),
    r(
        "statusgate://page/maintenances/{maintenance_id}/updates?limit={limit}",
        "maintenance-updates",
        "A maintenance's updates, newest first",
    ),
    r(
        "statusgate://page/maintenances?filter={filter}",
        "maintenances",
        "Maintenances by filter: active, upcoming, past or scheduled",
    ),
    r(
        "statusgate://page/analytics/summary?window_days={window_days}",
        "analytics-window",
        "Analytics over 1 to 90 days",
    ),
    r(
        "statusgate://page/beats/{monitor_id}/recent-events?limit={limit}",
        "monitor-events",
        "One monitor's latest runs",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("resource not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// A whole-number query parameter, clamped to `1..=max`, `default` when absent.
pub fn query_number(
    query: Option<&str>,
    name: &str,
    default: i64,
    max: i64,
) -> Result<i64, ReadError> {
    let prefix = format!("{name}=");
    let Some(v) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|p| p.strip_prefix(prefix.as_str()))
    else {
        return Ok(default);
    };
    v.parse::<i64>().map(|n| n.clamp(1, max)).map_err(|_| {
        ReadError::Invalid(format!(
            "{name} `{v}` must be a whole number from 1 to {max}"
        ))
    })
}

fn query_text<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    query?
        .split('&')
        .find_map(|p| p.strip_prefix(prefix.as_str()))
}

/// Ids go into API paths: refuse anything that could change the path.
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Fails as not found when the object answered belongs to another page.
fn on_page(v: Value, page_id: &str, uri: &str) -> Result<Value, ReadError> {
    let owner = super::startup::field(&v, &["page_id"]).and_then(Value::as_str);
    match owner {
        Some(p) if p != page_id => Err(ReadError::NotFound(uri.to_owned())),
        _ => Ok(v),
    }
}

fn updates_only(v: Value) -> Value {
    let updates = super::startup::field(&v, &["updates"])
        .cloned()
        .unwrap_or_else(|| json!([]));
    json!({ "updates": updates })
}

fn wrap(key: &str, v: Value) -> Value {
    if v.is_object() {
        v
    } else {
        json!({ key: v })
    }
}

pub async fn read(api: &ApiClient, page_id: &str, uri: &str) -> Result<Value, ReadError> {
    let not_found = || ReadError::NotFound(uri.to_owned());
    let rest = uri.strip_prefix(PREFIX).ok_or_else(not_found)?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let parts: Vec<&str> = path.split('/').collect();
    let page = format!("/pages/{page_id}");
    let limit = || query_number(query, "limit", 20, 200).map(|n| vec![("limit", n.to_string())]);
    let got = match parts.as_slice() {
        ["summary"] => api.get(&page, &[]).await?,
        ["status-definitions"] => api.get(&format!("{page}/status-definitions"), &[]).await?,
        ["lifecycle", "stages"] => {
            let all = api.get(&format!("{page}/lifecycle-stages"), &[]).await?;
            json!({ "stages": all.get("incident_stages").cloned().unwrap_or_default() })
        }
        ["maintenance-lifecycle", "stages"] => {
            let all = api.get(&format!("{page}/lifecycle-stages"), &[]).await?;
            json!({ "stages": all.get("maintenance_states").cloned().unwrap_or_default() })
        }
        ["incidents", "active"] => {
            let q = [("state", "active".to_owned()), ("limit", "200".to_owned())];
            wrap(
                "incidents",
                api.get(&format!("{page}/incidents"), &q).await?,
            )
        }
        ["incidents", id, tail @ ..] if safe_id(id) && (tail.is_empty() || tail == ["updates"]) => {
            let v = api.get(&format!("/incidents/{id}"), &limit()?).await?;
            let v = on_page(v, page_id, uri)?;
            if tail.is_empty() {
                v
            } else {
                updates_only(v)
            }
        }
        ["maintenances"] => {
            let filter = query_text(query, "filter").unwrap_or("upcoming");
            if !matches!(filter, "active" | "upcoming" | "past" | "scheduled") {
                return Err(ReadError::Invalid(format!(
                    "filter `{filter}` must be active, upcoming, past or scheduled"
                )));
            }
            let mut q = limit()?;
            q.push(("filter", filter.to_owned()));
            wrap(
                "maintenances",
                api.get(&format!("{page}/maintenances"), &q).await?,
            )
        }
        ["maintenances", "active"] => {
            let q = [("filter", "active".to_owned()), ("limit", "200".to_owned())];
            wrap(
                "maintenances",
                api.get(&format!("{page}/maintenances"), &q).await?,
            )
        }
        ["maintenances", id, tail @ ..]
            if safe_id(id) && (tail.is_empty() || tail == ["updates"]) =>
        {
            let v = api.get(&format!("/maintenances/{id}"), &limit()?).await?;
            let v = on_page(v, page_id, uri)?;
            if tail.is_empty() {
                v
            } else {
                updates_only(v)
            }
        }
        ["hierarchy", "tree"] => wrap("tree", api.get(&format!("{page}/hierarchy"), &[]).await?),
        ["subscribers", "summary"] => api.get(&format!("{page}/subscribers/summary"), &[]).await?,
        ["analytics", "summary"] => {
            let days = query_number(query, "window_days", 30, 90)?;
            api.get(
                &format!("{page}/analytics"),
                &[("window_days", days.to_string())],
            )
            .await?
        }
        ["embeds"] => wrap("embeds", api.get(&format!("{page}/embeds"), &[]).await?),
        ["beats"] => wrap("beats", api.get(&format!("{page}/monitors"), &[]).await?),
        ["beats", "pending-actions"] => wrap(
            "pending_actions",
            api.get(&format!("{page}/pending-actions"), &[]).await?,
        ),
        ["beats", id, "recent-events"] if safe_id(id) => {
            super::tools::on_page(api, page_id, "monitor_id", id)
                .await
                .map_err(|e| match e.status() {
                    Some(404) => not_found(),
                    _ => ReadError::Api(e),
                })?;
            let v = api
                .get(&format!("/monitors/{id}/events"), &limit()?)
                .await?;
            wrap("events", v)
        }
        _ => return Err(not_found()),
    };
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_clamp_and_refuse() {
        assert_eq!(query_number(None, "limit", 20, 200).ok(), Some(20));
        assert_eq!(
            query_number(Some("limit=5"), "limit", 20, 200).ok(),
            Some(5)
        );
        assert_eq!(
            query_number(Some("limit=100000"), "limit", 20, 200).ok(),
            Some(200)
        );
        assert_eq!(
            query_number(Some("x=1&window_days=365"), "window_days", 30, 90).ok(),
            Some(90)
        );
        assert!(query_number(Some("limit=abc"), "limit", 20, 200).is_err());
    }

    #[test]
    fn ids_cannot_reach_other_paths() {
        assert!(safe_id("inc_1a2b"));
        assert!(!safe_id(".."));
        assert!(!safe_id("a%2Fb"));
        assert!(!safe_id(""));
    }

    #[test]
    fn listed_uris_are_single_page_form() {
        assert!(RESOURCES
            .iter()
            .chain(TEMPLATES)
            .all(|r| r.uri.starts_with(PREFIX)));
    }
}
