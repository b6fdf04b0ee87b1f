//! Every tool's served schema against its parser: a valid example passes both, an unknown field and (on
//! write tools) a missing `notify` fail both.

use serde_json::{json, Value};

use super::*;
use crate::mcp::catalog;

const PAGE: &str = "pg_0123456789abcdef01234567";

/// The keywords the served schemas use, checked the way a client's validator would.
fn valid(schema: &Value, v: &Value) -> bool {
    let typed = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("a type the check does not know: {other}"),
    };
    let type_ok = match &schema["type"] {
        Value::String(t) => typed(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(typed),
        _ => true,
    };
    let enum_ok = schema["enum"].as_array().is_none_or(|e| e.contains(v));
    let len = |key: &str, n: usize, ok: fn(usize, u64) -> bool| {
        schema[key].as_u64().is_none_or(|bound| ok(n, bound))
    };
    let size_ok = match v {
        Value::String(s) => {
            let n = s.chars().count();
            len("minLength", n, |n, b| n as u64 >= b) && len("maxLength", n, |n, b| n as u64 <= b)
        }
        Value::Array(items) => {
            len("maxItems", items.len(), |n, b| n as u64 <= b)
                && items.iter().all(|i| valid(&schema["items"], i))
        }
        Value::Number(n) => n.as_i64().is_none_or(|n| {
            schema["minimum"].as_i64().is_none_or(|m| n >= m)
                && schema["maximum"].as_i64().is_none_or(|m| n <= m)
        }),
        _ => true,
    };
    let object_ok = v.as_object().is_none_or(|o| {
        let props = &schema["properties"];
        let known = o.iter().all(|(k, item)| match props.get(k) {
            Some(p) => valid(p, item),
            None => schema["additionalProperties"] != json!(false),
        });
        let required = schema["required"].as_array().map_or(&[][..], Vec::as_slice);
        known
            && required
                .iter()
                .filter_map(Value::as_str)
                .all(|r| o.contains_key(r))
    });
    type_ok && enum_ok && size_ok && object_ok
}

/// The catalog serves `T`'s schema for `T::TOOL`, and `example` passes both schema and parser, while an
/// added field and a dropped `notify` pass neither.
fn check<T: ToolArgs>(example: Value) -> &'static str {
    let tool = catalog::tool(T::TOOL).expect("the tool is in the catalog");
    let served = (tool.input)();
    assert_eq!(served, schema::<T>(), "{}", T::TOOL);
    assert_eq!(served["type"], "object");
    assert_eq!(served["additionalProperties"], json!(false), "{}", T::TOOL);
    let args = example.as_object().expect("an object");
    assert!(valid(&served, &example), "{}: {example}", T::TOOL);
    assert!(parse::<T>(args).is_ok(), "{}: {example}", T::TOOL);

    let mut extra = args.clone();
    extra.insert("page".into(), json!(PAGE));
    assert!(
        !valid(&served, &Value::Object(extra.clone())),
        "{}",
        T::TOOL
    );
    let err = parse::<T>(&extra)
        .err()
        .expect("an unknown field is refused");
    assert!(err.0.contains("unknown field `page`"), "{}: {err}", T::TOOL);

    if tool.scope.is_write() {
        let required = served["required"].as_array().expect("required");
        assert!(required.contains(&json!("notify")), "{}", T::TOOL);
        assert!(served["properties"]["notify"].get("default").is_none());
        let mut silent = args.clone();
        silent.remove("notify");
        assert!(
            !valid(&served, &Value::Object(silent.clone())),
            "{}",
            T::TOOL
        );
        let err = parse::<T>(&silent).err().expect("notify is required");
        assert!(err.0.contains("`notify`"), "{}: {err}", T::TOOL);
    }
    T::TOOL
}

#[test]
fn every_served_schema_is_its_parser() {
    let update = json!({ "page_id": PAGE, "message": "Fixed", "notify": false });
    let with = |extra: Value| {
        let mut v = update.clone();
        v.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().expect("an object").clone());
        v
    };
    let checked = [
        check::<ListStatusPages>(json!({})),
        check::<GetPageSummary>(json!({ "page_id": PAGE })),
        check::<ListIncidents>(json!({ "page_id": PAGE, "status": "resolved", "limit": 5 })),
        check::<GetIncident>(json!({ "page_id": PAGE, "incident_id": "inc_0a", "limit": null })),
        check::<ListMaintenances>(json!({ "page_id": PAGE, "filter": "draft" })),
        check::<GetAnalyticsSummary>(json!({ "page_id": PAGE, "window_days": 7 })),
        check::<ListBeats>(json!({ "page_id": PAGE })),
        check::<ListRecentBeatFailures>(json!({ "page_id": PAGE, "limit": 200 })),
        check::<CreateIncident>(with(json!({
            "title": "Slow API", "stage": "identified", "draft": true,
            "affected_components": [{ "component_id": "cmp_1f", "status": "partial_outage" }],
        }))),
        check::<AddIncidentUpdate>(with(
            json!({ "incident_id": "inc_0a", "stage": "resolved" }),
        )),
        check::<ScheduleMaintenance>(with(json!({
            "title": "Upgrade", "starts_at": "2026-11-22T14:00:00Z",
            "ends_at": "2026-11-22T15:00:00+01:00", "component_ids": ["cmp_1f"],
        }))),
        check::<AddMaintenanceUpdate>(with(
            json!({ "maintenance_id": "mnt_2b", "state": "in_progress" }),
        )),
    ];
    for t in catalog::TOOLS {
        assert!(checked.contains(&t.name), "{} has no check", t.name);
    }
}

#[test]
fn wrong_values_are_refused_naming_their_field() {
    let refused = |args: Value, field: &str| {
        let err = parse::<CreateIncident>(args.as_object().expect("an object"))
            .err()
            .expect("refused");
        assert!(err.0.contains(&format!("`{field}`")), "{field}: {err}");
    };
    let ok = json!({ "page_id": PAGE, "title": "t", "stage": "investigating", "message": "m", "notify": false });
    for (field, bad) in [
        ("page_id", json!("pg_NOT-HEX")),
        ("stage", json!("resolved")),
        ("message", json!("")),
        ("notify", json!("yes")),
        ("draft", json!(1)),
        ("affected_components", json!(null)),
        (
            "affected_components",
            json!([{ "component_id": "cmp_1", "status": "fine" }]),
        ),
    ] {
        let mut args = ok.clone();
        args[field] = bad;
        refused(args, field);
    }
    let limit = |v: Value| {
        parse::<ListIncidents>(
            json!({ "page_id": PAGE, "limit": v })
                .as_object()
                .expect("an object"),
        )
        .map(|a| Count::or_default(a.limit))
    };
    assert_eq!(
        limit(json!(100_000)).ok(),
        Some(200),
        "clamped, not refused"
    );
    assert_eq!(limit(json!(0)).ok(), Some(1));
    assert_eq!(limit(json!(null)).ok(), Some(20));
    let err = limit(json!("ten")).expect_err("refused");
    assert_eq!(err.0, "`limit`: must be a whole number from 1 to 200");
    assert!(limit(json!(1.5)).is_err());
}
