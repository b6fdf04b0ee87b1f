//! The OpenAPI 3.1 document, built from the same [`Op`] table as the router: paths and methods from the
//! table, request schemas derived from the handlers' Rust types (JSON Schema 2020-12, which OpenAPI 3.1
//! uses as is), one shared error schema.

use axum::extract::State;
use axum::Json;
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::error::CODES;
use super::{ops, ApiState, Op, BASE};

pub async fn document(State(state): State<ApiState>) -> Json<Value> {
    Json(build(&state.public_url))
}

/// Path parameters named in `{braces}`.
fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect()
}

/// Query parameters: the properties of the derived query type.
fn query_params(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema["properties"].as_object() else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, s)| {
            let mut p = json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": s });
            if let Some(d) = s.get("description") {
                p["description"] = d.clone();
            }
            p
        })
        .collect()
}

fn operation(op: &Op, gen: &mut schemars::SchemaGenerator) -> Value {
    let mut params = path_params(op.path);
    if let Some(q) = op.query {
        params.extend(query_params(&q(gen).to_value()));
    }
    let ok = op.ok.to_string();
    let mut responses = Map::new();
    let success = if op.ok == 204 {
        json!({ "description": "done" })
    } else {
        json!({ "description": "success", "content": { "application/json": { "schema": { "type": "object" } } } })
    };
    responses.insert(ok, success);
    for (status, what) in [
        ("400", "malformed request"),
        ("401", "missing, unknown, expired or revoked key"),
        ("403", "the key or the role does not allow this"),
        ("404", "not found, or not visible to this key"),
        ("409", "conflicts with the current state"),
        ("413", "request body too large"),
        ("422", "well-formed but invalid"),
        ("429", "rate limit reached; see Retry-After"),
    ] {
        responses.insert(
            status.into(),
            json!({ "description": what, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
        );
    }
    let mut v = json!({
        "operationId": op.id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
    });
    if op.write {
        v["description"] = json!("Needs a read & write key.");
    }
    if let Some(b) = op.body {
        v["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": b(gen).to_value() } } });
    }
    v
}

pub fn build(public_url: &str) -> Value {
    let mut gen = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .for_deserialize()
        .into_generator();
    let mut paths = Map::new();
    for op in ops() {
        let item = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        item[op.method.as_str().to_ascii_lowercase()] = operation(&op, &mut gen);
    }
    paths.insert(
        "/openapi.json".into(),
        json!({ "get": { "operationId": "openapi", "summary": "This document", "tags": ["meta"], "security": [],
            "responses": { "200": { "description": "the OpenAPI document" } } } }),
    );
    let mut schemas = gen.take_definitions(true);
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object",
                "required": ["code", "status", "message"],
                "properties": {
                    "code": { "type": "string", "enum": CODES },
                    "status": { "type": "integer" },
                    "message": { "type": "string" },
                },
            }},
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "statusgate API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Status pages, incidents, maintenances and monitors. Authenticate with an API key.",
        },
        "servers": [{ "url": format!("{public_url}{BASE}") }],
        "security": [{ "apiKey": [] }, { "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": { "type": "apiKey", "in": "header", "name": "x-statusgate-key" },
                "bearer": { "type": "http", "scheme": "bearer", "description": "Authorization: Bearer sg_…" },
            },
        },
    })
}
