//! A `/mcp` request body read once: the JSON-RPC envelope and, for a tool call, the catalog's entry
//! and whether the caller may use it. The guard refuses on what this finds and the direct path answers
//! from it, so neither parses the body or asks the catalog again.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::catalog::{self, ToolSpec};
use super::resources::scope_for;
use super::{prompts, McpCaller, McpScope};

/// The body, read and judged.
pub struct Incoming<'a> {
    /// `None` when the body is not one JSON-RPC object; rmcp judges it.
    pub envelope: Option<Envelope<'a>>,
    /// For `tools/call`, the catalog's entry for the name asked for.
    pub tool: Option<&'static ToolSpec>,
    /// The scopes the call needs that the caller lacks, if any.
    pub lacking: Option<Vec<McpScope>>,
}

impl<'a> Incoming<'a> {
    pub fn read(body: &'a [u8], caller: &McpCaller) -> Self {
        match serde_json::from_slice::<Envelope<'a>>(body) {
            Ok(envelope) => {
                let (tool, lacking) = judge(caller, envelope.method(), &envelope.params);
                Self {
                    envelope: Some(envelope),
                    tool,
                    lacking,
                }
            }
            // An odd message (duplicate keys, say) is still checked, then left to rmcp to judge.
            Err(_) => {
                let v = serde_json::from_slice::<Value>(body).unwrap_or_default();
                Self {
                    envelope: None,
                    tool: None,
                    lacking: judge(caller, v["method"].as_str(), &v["params"]).1,
                }
            }
        }
    }

    /// The tool the call names, when the caller may use it.
    pub fn permitted(&self) -> Option<&'static ToolSpec> {
        self.tool.filter(|_| self.lacking.is_none())
    }
}

/// The tool a `tools/call` names, found in the catalog and allowed to the caller when the body was
/// judged: rides in the request extensions to rmcp's dispatch, so the fallback does not look again.
#[derive(Clone, Copy)]
pub struct Permitted(pub &'static ToolSpec);

/// The tool a call names, and what the call needs beyond what the caller has.
fn judge(
    caller: &McpCaller,
    method: Option<&str>,
    params: &Value,
) -> (Option<&'static ToolSpec>, Option<Vec<McpScope>>) {
    match method {
        Some("tools/call") => {
            let tool = params["name"].as_str().and_then(catalog::tool);
            let lacking = tool.filter(|t| !caller.may_use(t)).map(|t| vec![t.scope]);
            (tool, lacking)
        }
        Some("resources/read") => {
            let scope = params["uri"].as_str().and_then(scope_for);
            (None, scope.filter(|s| !caller.has(*s)).map(|s| vec![s]))
        }
        Some("prompts/get") => {
            let spec = prompts::PROMPTS
                .iter()
                .find(|p| Some(p.name) == params["name"].as_str());
            let lacking = spec.map(|p| {
                p.needs
                    .iter()
                    .copied()
                    .filter(|s| !caller.has(*s))
                    .collect::<Vec<_>>()
            });
            (None, lacking.filter(|l| !l.is_empty()))
        }
        _ => (None, None),
    }
}

/// One JSON-RPC message: the guard checks its scope from this, and the direct path answers it.
#[derive(Deserialize)]
#[serde(remote = "Self")]
pub struct Envelope<'a> {
    #[serde(borrow, default)]
    pub jsonrpc: Option<Cow<'a, str>>,
    /// Checked for a number or string only on the direct path; rmcp has its own rules.
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    #[serde(default)]
    pub params: Value,
}

/// Only an object is a JSON-RPC message. The derived reader alone would also take an array field by
/// field (`["2.0", 1, "tools/list"]`), which rmcp refuses: the direct path must not answer it either.
impl<'de: 'a, 'a> Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<'a>(std::marker::PhantomData<Envelope<'a>>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Object<'a> {
            type Value = Envelope<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON-RPC message object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Envelope::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Object(std::marker::PhantomData))
    }
}

impl Envelope<'_> {
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_is_an_envelope() {
        let msg = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
        let env = serde_json::from_slice::<Envelope<'_>>(msg).expect("an object reads");
        assert_eq!(env.method(), Some("tools/list"));
        for not_one in [
            &br#"["2.0",1,"tools/list"]"#[..],
            b"[]",
            b"\"tools/list\"",
            br#"{"method":"tools/list","method":"tools/call"}"#,
        ] {
            assert!(serde_json::from_slice::<Envelope<'_>>(not_one).is_err());
        }
    }
}
