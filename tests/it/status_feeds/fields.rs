//! Statuspage v2 field lists and the checks that hold a JSON document to them.

use serde_json::Value;
use statusgate::domain::ComponentStatus;

// Field names and JSON types of Statuspage's public API v2, as its public documentation lists them
// (the "Summary", "Status", "Components", "Incidents" and "Scheduled Maintenances" sections of
// `https://<page>.statuspage.io/api/v2`, e.g. the API page of confluence.status.atlassian.com), plus
// the fields live Statuspage pages also send (`time_zone`, `showcase`, `start_date`, `group`,
// `group_id`, `only_show_if_degraded`, `started_at`, `components`). "s" string, "s?" string or
// null, "n" number, "b" boolean, "a" array, "o" object.
const PAGE: &[(&str, &str)] = &[
    ("id", "s"),
    ("name", "s"),
    ("url", "s"),
    ("time_zone", "s"),
    ("updated_at", "s"),
];
const STATUS: &[(&str, &str)] = &[("indicator", "s"), ("description", "s")];
const COMPONENT: &[(&str, &str)] = &[
    ("id", "s"),
    ("name", "s"),
    ("status", "s"),
    ("created_at", "s"),
    ("updated_at", "s"),
    ("position", "n"),
    ("description", "s?"),
    ("showcase", "b"),
    ("start_date", "s?"),
    ("group_id", "s?"),
    ("page_id", "s"),
    ("group", "b"),
    ("only_show_if_degraded", "b"),
];
const INCIDENT: &[(&str, &str)] = &[
    ("id", "s"),
    ("name", "s"),
    ("status", "s"),
    ("created_at", "s"),
    ("updated_at", "s"),
    ("monitoring_at", "s?"),
    ("resolved_at", "s?"),
    ("impact", "s"),
    ("shortlink", "s"),
    ("started_at", "s"),
    ("page_id", "s"),
    ("incident_updates", "a"),
    ("components", "a"),
];
const MAINTENANCE_EXTRA: &[(&str, &str)] = &[("scheduled_for", "s"), ("scheduled_until", "s")];
const UPDATE: &[(&str, &str)] = &[
    ("id", "s"),
    ("status", "s"),
    ("body", "s"),
    ("incident_id", "s"),
    ("created_at", "s"),
    ("updated_at", "s"),
    ("display_at", "s"),
];
/// Present on an update that changed components.
const AFFECTED: &[(&str, &str)] = &[
    ("code", "s"),
    ("name", "s"),
    ("old_status", "s"),
    ("new_status", "s"),
];

fn type_ok(v: &Value, t: &str) -> bool {
    match t {
        "s" => v.is_string(),
        "s?" => v.is_string() || v.is_null(),
        "n" => v.is_i64(),
        "b" => v.is_boolean(),
        "a" => v.is_array(),
        "o" => v.is_object(),
        _ => false,
    }
}

/// `v` has exactly the `required` fields (plus any of `optional`), each of its listed type.
fn check(what: &str, v: &Value, required: &[(&str, &str)], optional: &[(&str, &str)]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is an object"));
    for (name, t) in required {
        let field = obj
            .get(*name)
            .unwrap_or_else(|| panic!("{what} has {name}"));
        assert!(type_ok(field, t), "{what}.{name} is {t}: {field}");
    }
    for (name, field) in obj {
        let known = required.iter().chain(optional).find(|(n, _)| n == name);
        let (_, t) = known.unwrap_or_else(|| panic!("{what} has no field {name} in the list"));
        assert!(type_ok(field, t), "{what}.{name} is {t}: {field}");
    }
}

fn check_component(c: &Value) {
    check("component", c, COMPONENT, &[("components", "a")]);
    let group = c["group"].as_bool().unwrap();
    assert_eq!(
        group,
        c.get("components").is_some(),
        "only groups list children"
    );
    let status = c["status"].as_str().unwrap();
    assert!(ComponentStatus::parse(status).is_ok(), "{status}");
}

fn check_incident(i: &Value, maintenance: bool) {
    if maintenance {
        let all: Vec<(&str, &str)> = INCIDENT.iter().chain(MAINTENANCE_EXTRA).copied().collect();
        check("maintenance", i, &all, &[]);
        let s = i["status"].as_str().unwrap();
        assert!(["scheduled", "in_progress", "verifying", "completed"].contains(&s));
        assert_eq!(i["impact"], "maintenance");
    } else {
        check("incident", i, INCIDENT, &[]);
        let s = i["status"].as_str().unwrap();
        assert!([
            "investigating",
            "identified",
            "monitoring",
            "resolved",
            "postmortem"
        ]
        .contains(&s));
        let impact = i["impact"].as_str().unwrap();
        assert!(["none", "minor", "major", "critical"].contains(&impact));
    }
    for u in i["incident_updates"].as_array().unwrap() {
        check(
            "incident update",
            u,
            UPDATE,
            &[("affected_components", "a")],
        );
        assert_eq!(u["incident_id"], i["id"]);
        for a in u
            .get("affected_components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            check("affected component", a, AFFECTED, &[]);
        }
    }
    for c in i["components"].as_array().unwrap() {
        check_component(c);
    }
}

/// The parts of `summary.json` besides `page`.
pub(super) const SUMMARY: &[&str] = &[
    "components",
    "incidents",
    "scheduled_maintenances",
    "status",
];

/// Checks one JSON document: `page` always, and the listed parts, nothing else.
pub(super) fn check_document(doc: &Value, parts: &[&str]) {
    check("page", &doc["page"], PAGE, &[]);
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec!["page"];
    want.extend_from_slice(parts);
    let mut got = keys.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "document parts");
    if let Some(s) = doc.get("status") {
        check("status", s, STATUS, &[]);
    }
    for c in doc
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_component(c);
    }
    for i in doc
        .get("incidents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_incident(i, false);
    }
    for m in doc
        .get("scheduled_maintenances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check_incident(m, true);
    }
}
