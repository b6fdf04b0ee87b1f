//! Cursor pagination for listings: `limit` (default 20, at most 200) and an opaque `cursor` that the
//! previous page's `next_cursor` gave. Answers are `{items, next_cursor}`; `next_cursor` is null on the
//! last page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use crate::service::incidents::clamp_limit;

/// Where a listing starts and how much it returns.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

/// Reads `limit` and `cursor`; a cursor we did not make is 400.
pub fn window(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<Window> {
    let offset = match cursor {
        None | Some("") => 0,
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o:")?.parse::<i64>().ok())
            .filter(|n| (0..=crate::service::audit::MAX_OFFSET).contains(n))
            .ok_or_else(|| ApiError::malformed("cursor: not a cursor from this API"))?,
    };
    Ok(Window {
        offset,
        limit: clamp_limit(limit),
    })
}

/// One page from `rest`, the items from the window's start on (at least `limit + 1` if more follow).
pub fn page<T>(w: Window, rest: impl IntoIterator<Item = T>, view: impl Fn(&T) -> Value) -> Value {
    let mut items: Vec<Value> = Vec::new();
    let mut more = false;
    for item in rest {
        if items.len() as i64 == w.limit {
            more = true;
            break;
        }
        items.push(view(&item));
    }
    let next = more.then(|| URL_SAFE_NO_PAD.encode(format!("o:{}", w.offset + w.limit)));
    json!({ "items": items, "next_cursor": next })
}

/// One of a fixed set of query values, `default` when absent; anything else is 400 naming the set.
pub fn choice<T: Copy>(raw: Option<&str>, field: &str, options: &[(&str, T)]) -> ApiResult<T> {
    let Some((_, first)) = options.first() else {
        return Err(ApiError::malformed(format!("{field}: no values")));
    };
    let Some(raw) = raw else {
        return Ok(*first);
    };
    options
        .iter()
        .find(|(name, _)| *name == raw)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            ApiError::malformed(format!("{field}: must be one of {}", names.join(", ")))
        })
}
