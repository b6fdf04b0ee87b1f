//! Reading tool and prompt arguments: a wrong or missing argument is a clear invalid-params error.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::domain::ComponentStatus;
use crate::ids::ComponentId;

/// A refusal of the arguments themselves (JSON-RPC -32602).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidParams(pub String);

pub struct Args<'a>(pub &'a Map<String, Value>);

impl<'a> Args<'a> {
    pub fn str(&self, name: &str) -> Result<&'a str, InvalidParams> {
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(InvalidParams(format!("`{name}` must be a string"))),
            None => Err(InvalidParams(format!("`{name}` is required"))),
        }
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, InvalidParams> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.str(name).map(Some),
        }
    }

    /// A boolean with no default: absent is an error, so `notify` is always a decision.
    pub fn required_bool(&self, name: &str) -> Result<bool, InvalidParams> {
        match self.0.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(InvalidParams(format!("`{name}` must be true or false"))),
            None => Err(InvalidParams(format!(
                "`{name}` is required (true or false)"
            ))),
        }
    }

    /// An optional boolean; absent or null is `default`.
    pub fn opt_bool(&self, name: &str, default: bool) -> Result<bool, InvalidParams> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(_) => self.required_bool(name),
        }
    }

    /// An optional integer clamped into `1..=max`; non-integers are refused.
    pub fn limit(&self, name: &str, default: i64, max: i64) -> Result<i64, InvalidParams> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_i64().map(|n| n.clamp(1, max)).ok_or_else(|| {
                InvalidParams(format!("`{name}` must be a whole number from 1 to {max}"))
            }),
        }
    }

    pub fn id<T>(&self, name: &str, parse: fn(&str) -> Option<T>) -> Result<T, InvalidParams> {
        let raw = self.str(name)?;
        parse(raw).ok_or_else(|| InvalidParams(format!("`{name}` `{raw}` is not a valid id")))
    }

    pub fn instant(&self, name: &str) -> Result<OffsetDateTime, InvalidParams> {
        let raw = self.str(name)?;
        OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).map_err(|_| {
            InvalidParams(format!(
                "`{name}` must be an RFC 3339 time like 2026-11-22T14:00:00Z"
            ))
        })
    }

    /// `[{component_id, status}]`, absent meaning none.
    pub fn affected(
        &self,
        name: &str,
    ) -> Result<Vec<(ComponentId, ComponentStatus)>, InvalidParams> {
        let Some(list) = self.0.get(name) else {
            return Ok(Vec::new());
        };
        let items = list
            .as_array()
            .ok_or_else(|| InvalidParams(format!("`{name}` must be an array")))?;
        items
            .iter()
            .map(|item| {
                let obj = item
                    .as_object()
                    .ok_or_else(|| InvalidParams(format!("`{name}` items are objects")))?;
                let a = Args(obj);
                let id = a.id("component_id", ComponentId::parse)?;
                let status = ComponentStatus::parse(a.str("status")?)
                    .map_err(|e| InvalidParams(e.to_string()))?;
                Ok((id, status))
            })
            .collect()
    }

    pub fn id_list<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, InvalidParams> {
        let Some(list) = self.0.get(name) else {
            return Ok(Vec::new());
        };
        let items = list
            .as_array()
            .ok_or_else(|| InvalidParams(format!("`{name}` must be an array")))?;
        items
            .iter()
            .map(|v| {
                let s = v
                    .as_str()
                    .ok_or_else(|| InvalidParams(format!("`{name}` items are strings")))?;
                parse(s)
                    .ok_or_else(|| InvalidParams(format!("`{s}` in `{name}` is not a valid id")))
            })
            .collect()
    }
}
