//! Running a page tool: the arguments are checked against its schema, the id argument goes into the
//! route's path, the rest is the JSON body, and the tool's name travels in a header for the audit row.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::catalog::{self, ToolSpec, Verb};
use super::client::{ApiClient, ApiError};

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not fit the schema: a protocol error (-32602).
    #[error("{0}")]
    InvalidParams(String),
    /// statusgate refused or could not be reached: a tool result with `isError`.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Refuses an id that belongs to another page: an organisation-wide key reaches every page of the
/// organisation, but this server acts on one. Not found looks the same as elsewhere in the API.
pub async fn on_page(
    api: &ApiClient,
    page_id: &str,
    id_arg: &str,
    id: &str,
) -> Result<(), ApiError> {
    let page = format!("/pages/{page_id}");
    let limit = [("limit", "200".to_owned())];
    let here = match id_arg {
        "incident_id" | "maintenance_id" => {
            let kind = id_arg.trim_end_matches("_id");
            let v = api
                .get(&format!("/{kind}s/{id}"), &[("limit", "1".to_owned())])
                .await?;
            v.get("page_id").and_then(Value::as_str) == Some(page_id)
        }
        "monitor_id" => listed(
            &api.get(&format!("{page}/monitors"), &[]).await?,
            id_arg,
            id,
        ),
        "action_id" => listed(
            &api.get(&format!("{page}/pending-actions"), &limit).await?,
            id_arg,
            id,
        ),
        _ => true,
    };
    if here {
        Ok(())
    } else {
        Err(ApiError::Refused {
            status: 404,
            code: "not_found".into(),
            message: format!("{id} is not on this page"),
        })
    }
}

fn listed(list: &Value, key: &str, id: &str) -> bool {
    list.get("items")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items
                .iter()
                .any(|i| i.get(key).and_then(Value::as_str) == Some(id))
        })
}

pub async fn call(
    api: &ApiClient,
    page_id: &str,
    spec: &ToolSpec,
    args: &Map<String, Value>,
) -> Result<Value, ToolError> {
    catalog::check(spec, args).map_err(ToolError::InvalidParams)?;
    let mut body = args.clone();
    let mut path = spec.path.replace("{page}", page_id);
    let mut id_value = None;
    if let Some(id_arg) = spec.id {
        let id = body
            .remove(id_arg)
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|s| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
            .ok_or_else(|| ToolError::InvalidParams(format!("`{id_arg}` is not a valid id")))?;
        on_page(api, page_id, id_arg, &id).await?;
        path = path.replace("{id}", &id);
        id_value = Some((id_arg, id));
    }
    let method = match spec.verb {
        Verb::Post => Method::POST,
        Verb::Patch => Method::PATCH,
        Verb::Delete => Method::DELETE,
    };
    let body = Value::Object(body);
    let sent = (spec.verb != Verb::Delete).then_some(&body);
    let answer = api.send(method, &path, &[], sent, Some(spec.name)).await?;
    Ok(match answer {
        Value::Object(mut o) => {
            if spec.verb == Verb::Delete {
                o.insert("deleted".into(), json!(true));
                if let Some((k, v)) = id_value {
                    o.entry(k).or_insert(json!(v));
                }
            }
            Value::Object(o)
        }
        other => json!({ "result": other }),
    })
}
