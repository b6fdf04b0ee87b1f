//! Tool arguments as Rust types. Each tool's `inputSchema` is generated from the very type its
//! arguments are parsed into, so the schema a client is shown and the parser that judges the call cannot
//! drift apart: unknown fields are refused by both, `notify` is required by both, and every enum lists
//! exactly what the parser takes. A wrong argument becomes a -32602 naming the field.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess};
use serde_json::{Map, Value};

mod tools;
mod values;

#[cfg(test)]
mod tests;

pub use tools::*;
pub use values::*;

/// A refusal of the arguments themselves (JSON-RPC -32602).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidParams(pub String);

/// The arguments of one tool: the tool's name lives with the type, so the catalog entry that serves the
/// schema and the dispatcher arm that parses the call both name the type, never a loose string.
pub trait ToolArgs: DeserializeOwned + JsonSchema {
    const TOOL: &'static str;
}

/// Reads `T` from a call's `arguments`. A value of the wrong shape is reported with its field's name;
/// missing and unknown fields name themselves.
pub fn parse<T: DeserializeOwned>(args: &Map<String, Value>) -> Result<T, InvalidParams> {
    let fields = Fields {
        iter: args.iter(),
        pending: None,
    };
    T::deserialize(de::value::MapAccessDeserializer::new(fields))
        .map_err(|e| InvalidParams(e.to_string()))
}

/// The map of arguments, remembering which key the value being read belongs to.
struct Fields<'a> {
    iter: serde_json::map::Iter<'a>,
    pending: Option<(&'a str, &'a Value)>,
}

impl<'a> MapAccess<'a> for Fields<'a> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("a value without its key"))?;
        seed.deserialize(value.into_deserializer())
            .map_err(|e| de::Error::custom(format_args!("`{key}`: {e}")))
    }
}

/// The JSON schema of `T` as `tools/list` serves it: draft 2020-12, every subschema inline (no `$ref`,
/// which some clients do not follow), and no `$schema` or `title` at the top.
pub fn schema<T: JsonSchema>() -> Value {
    let generator = SchemaGenerator::new(SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    }));
    let mut root = generator.into_root_schema_for::<T>();
    if let Some(top) = root.as_object_mut() {
        top.remove("title");
        top.remove("description");
        // A tool without arguments still names its (empty) properties: some clients insist on them.
        top.entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    root.to_value()
}
