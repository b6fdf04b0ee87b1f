//! Dynamic client registration (RFC 7591) fed generated metadata: 201 with only acceptable redirect
//! URIs, or a JSON refusal (`invalid_redirect_uri`, `invalid_client_metadata`; 429
//! `temporarily_unavailable` when throttled), never 5xx.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{
    content_type, header_value, json_value, nasty_text, raw_bytes, text_without_nul, Harness,
};
use crate::http_property;
use crate::oauth::plain;

const REGISTER_ERRORS: [&str; 2] = ["invalid_redirect_uri", "invalid_client_metadata"];

/// Client metadata: the fields registration reads, each with a right, wrong or hostile value.
fn metadata(text: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    let uri = prop_oneof![
        3 => prop::sample::select(vec![
            "https://client.example/cb", "http://127.0.0.1/callback", "http://localhost:1/cb",
            "http://evil.example/cb", "https://x.example/cb#f", "cursor://x/y", "javascript:alert(1)",
        ])
        .prop_map(Value::from),
        1 => text.clone().prop_map(Value::from),
        1 => json_value(text.clone()),
    ];
    let uris = prop_oneof![
        4 => prop::collection::vec(uri, 0..5).prop_map(Value::Array),
        1 => json_value(text.clone()),
    ];
    let name = prop_oneof![text.clone().prop_map(Value::from), json_value(text.clone())];
    let method = prop_oneof![
        6 => prop::sample::select(vec!["none", "client_secret_basic", "client_secret_post", "private_key_jwt", "", "NONE"])
            .prop_map(Value::from),
        1 => json_value(text.clone()),
    ];
    let list = prop_oneof![
        2 => prop::collection::vec(
            prop::sample::select(vec!["code", "token", "authorization_code", "refresh_token", "implicit", ""]).prop_map(Value::from),
            0..4,
        )
        .prop_map(Value::Array),
        1 => json_value(text.clone()),
    ];
    let fields = (
        prop::option::weighted(0.9, uris),
        prop::option::of(name),
        prop::option::of(method),
        prop::option::weighted(0.3, list.clone()),
        prop::option::weighted(0.3, list),
        prop::option::of(json_value(text.clone())),
        prop::collection::btree_map("[a-z_]{1,20}", json_value(text), 0..3),
    );
    fields
        .prop_map(
            |(uris, name, method, grants, responses, uri_field, extra)| {
                let mut m: Map<String, Value> = extra.into_iter().collect();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.to_owned(), v);
                    }
                };
                put("redirect_uris", uris);
                put("client_name", name);
                put("token_endpoint_auth_method", method);
                put("grant_types", grants);
                put("response_types", responses);
                put("client_uri", uri_field.clone());
                put("logo_uri", uri_field);
                Value::Object(m)
            },
        )
        .boxed()
}

/// A registration body: metadata, any JSON at all, or bytes that are not JSON.
fn body(text: BoxedStrategy<String>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => metadata(text.clone()).prop_map(|v| v.to_string().into_bytes()),
        1 => json_value(text).prop_map(|v| v.to_string().into_bytes()),
        1 => raw_bytes(),
    ]
    .boxed()
}

async fn register(h: &Harness, body: Vec<u8>, ct: Option<String>) -> (u16, Value) {
    let mut req = plain().post(h.app().url("/mcp/oauth/register")).body(body);
    if let Some(ct) = ct.as_deref().and_then(header_value) {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

/// 201 with acceptable redirect URIs only, or an RFC 7591 §3.2.2 refusal; never anything else.
fn registered_or_refused(status: u16, v: &Value) -> Result<(), TestCaseError> {
    match status {
        201 => {
            prop_assert!(v["client_id"].is_string(), "{v}");
            let uris = v["redirect_uris"].as_array().cloned().unwrap_or_default();
            prop_assert!(!uris.is_empty(), "{v}");
            for u in uris {
                let u = u.as_str().unwrap_or_default();
                prop_assert!(
                    statusgate::oauth::redirect::check(u, &[]).is_ok(),
                    "{u} registered"
                );
            }
        }
        400 => {
            let code = v["error"].as_str().unwrap_or_default();
            prop_assert!(REGISTER_ERRORS.contains(&code), "{v}");
        }
        429 => prop_assert_eq!(
            v["error"].as_str(),
            Some("temporarily_unavailable"),
            "{}",
            v
        ),
        other => prop_assert!(false, "status {other}: {v}"),
    }
    Ok(())
}

http_property!(
    registrations_succeed_with_acceptable_uris_or_are_refused_in_rfc_7591_shape,
    |h: &Harness| {
        crate::properties::check(
            96,
            (body(text_without_nul()), content_type("application/json")),
            |(b, ct)| {
                let (status, v) = h.run(register(h, b, ct));
                registered_or_refused(status, &v)
            },
        );
    }
);

/// Valid metadata with one text field carrying a NUL character.
fn metadata_with_nul() -> BoxedStrategy<Value> {
    let field = prop::sample::select(vec![
        "client_name",
        "software_id",
        "software_version",
        "application_type",
        "client_uri",
        "logo_uri",
        "redirect_uris",
    ]);
    (field, nasty_text()).prop_map(|(field, text)| {
        let mut m = json!({ "client_name": "NUL probe", "redirect_uris": ["https://client.example/cb"] });
        let bad = format!("{text}\0");
        m[field] = match field {
            "redirect_uris" => json!(["https://client.example/cb", format!("https://client.example/{bad}")]),
            "client_uri" | "logo_uri" => json!(format!("https://client.example/{bad}")),
            _ => json!(bad),
        };
        m
    })
    .boxed()
}

http_property!(
    #[ignore = "registration accepts NUL characters: echoed back as sent, and on PostgreSQL the insert fails with 500"]
    registration_text_with_nul_is_refused_not_a_server_error,
    |h: &Harness| {
        crate::properties::check(32, metadata_with_nul(), |m| {
            let (status, v) = h.run(register(
                h,
                m.to_string().into_bytes(),
                Some("application/json".into()),
            ));
            registered_or_refused(status, &v)?;
            // A NUL is not part of any URI or name a person should see echoed back.
            prop_assert!(!v.to_string().contains("\\u0000"), "{} echoed {}", m, v);
            Ok(())
        });
    }
);
