//! The public page's machine-readable side: the Statuspage-compatible JSON, the Atom and RSS
//! history and the maintenance calendar, each parsed back and checked field by field.

use serde_json::Value;
use statusgate::domain::{ComponentStatus, IncidentStage, Message, NewIncidentUpdate};
use statusgate::ids::{ComponentId, PageId};
use statusgate::service::page_admin::PageEdit;
use statusgate::service::Principal;

mod fields;
mod maintenance;

use fields::{check_document, SUMMARY};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb, ADMIN_EMAIL};

const V2: &str = "/status/api/api/v2";

/// Every route with the media type it must answer with.
const ROUTES: [(&str, &str); 12] = [
    ("/status/api/api/v2/summary.json", "application/json"),
    ("/status/api/summary.json", "application/json"),
    ("/status/api/api/v2/status.json", "application/json"),
    ("/status/api/api/v2/components.json", "application/json"),
    ("/status/api/api/v2/incidents.json", "application/json"),
    (
        "/status/api/api/v2/incidents/unresolved.json",
        "application/json",
    ),
    (
        "/status/api/api/v2/scheduled-maintenances.json",
        "application/json",
    ),
    (
        "/status/api/api/v2/scheduled-maintenances/upcoming.json",
        "application/json",
    ),
    (
        "/status/api/api/v2/scheduled-maintenances/active.json",
        "application/json",
    ),
    (
        "/status/api/history.atom",
        "application/atom+xml; charset=utf-8",
    ),
    (
        "/status/api/history.rss",
        "application/rss+xml; charset=utf-8",
    ),
    (
        "/status/api/maintenances.ics",
        "text/calendar; charset=utf-8",
    ),
];

async fn fetch(app: &TestApp, path: &str) -> (u16, String, Vec<u8>, bool) {
    let r = app.new_browser().get(path).await;
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let cookie = r.headers().contains_key("set-cookie");
    (status, ct, r.bytes().await.unwrap().to_vec(), cookie)
}

async fn json(app: &TestApp, path: &str) -> Value {
    let (status, _, body, _) = fetch(app, path).await;
    assert_eq!(status, 200, "{path}");
    serde_json::from_slice(&body).unwrap()
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The demo's owner, acting through the services as the admin pages would.
async fn owner(s: &statusgate::service::Services) -> Principal {
    Principal::user(s.user_by_email(ADMIN_EMAIL).await.unwrap().id)
}

/// A major outage on "Dashboard" that moves to monitoring, on top of the demo's page.
async fn add_major_outage(app: &TestApp) -> String {
    let s = &app.services;
    let (page, dashboard) = demo_ids(s, "Dashboard").await;
    let page = PageId::parse(&page).unwrap();
    let dashboard = ComponentId::parse(&dashboard).unwrap();
    let me = owner(s).await;
    let update = |stage, message: &str, status| NewIncidentUpdate {
        stage,
        message: Message::parse("message", message).unwrap(),
        affected: vec![(dashboard.clone(), status)],
        notify: false,
    };
    let first = update(
        IncidentStage::Investigating,
        "The dashboard <b>does not load</b>.",
        ComponentStatus::PartialOutage,
    );
    let (incident, _) = s
        .create_incident(&me, &page, "Dashboard down", first)
        .await
        .unwrap();
    let worse = update(
        IncidentStage::Monitoring,
        "Fully down; a fix is deployed and we are watching.",
        ComponentStatus::MajorOutage,
    );
    s.add_incident_update(&me, &incident.id, worse)
        .await
        .unwrap();
    let draft = update(
        IncidentStage::Investigating,
        "Not yet public.",
        ComponentStatus::MajorOutage,
    );
    s.draft_incident(&me, &page, "Draft only", draft)
        .await
        .unwrap();
    incident.id.to_string()
}

both_backends!(
    statuspage_json_has_their_fields_and_our_data,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let incident_id = add_major_outage(&app).await;

        let summary = json(&app, &format!("{V2}/summary.json")).await;
        check_document(&summary, SUMMARY);
        assert_eq!(
            summary,
            json(&app, "/status/api/summary.json").await,
            "alias"
        );
        // A major_outage component maps to indicator critical (README: machine-readable status).
        assert_eq!(summary["status"]["indicator"], "critical");
        assert_eq!(summary["status"]["description"], "Major System Outage");
        assert_eq!(summary["page"]["url"], format!("{}/status/api", app.base));

        let open = titles(&summary["incidents"]);
        assert!(open.contains(&"Dashboard down".to_owned()), "{open:?}");
        assert!(open.contains(&"Delayed webhook deliveries".to_owned()));
        assert!(!open
            .iter()
            .any(|t| t == "Draft only" || t.starts_with("Sign-in")));
        let down = summary["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == incident_id.as_str())
            .unwrap();
        assert_eq!(down["impact"], "critical");
        assert_eq!(down["status"], "monitoring");
        assert!(down["monitoring_at"].is_string());
        assert_eq!(
            down["shortlink"],
            format!("{}/status/api/incidents/{incident_id}", app.base)
        );
        let updates = down["incident_updates"].as_array().unwrap();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0]["status"], "monitoring", "newest update first");
        let change = &updates[0]["affected_components"][0];
        assert_eq!(change["name"], "Dashboard");
        assert_eq!(change["old_status"], "partial_outage");
        assert_eq!(change["new_status"], "major_outage");
        assert_eq!(down["components"][0]["name"], "Dashboard");

        let components = summary["components"].as_array().unwrap();
        let group = components.iter().find(|c| c["name"] == "API").unwrap();
        assert_eq!(group["group"], true);
        let children = group["components"].as_array().unwrap();
        assert_eq!(children.len(), 2);
        for child in children {
            let c = components.iter().find(|c| &c["id"] == child).unwrap();
            assert_eq!(c["group_id"], group["id"]);
        }
        assert_eq!(group["status"], "degraded_performance", "worst child");

        let planned = titles(&summary["scheduled_maintenances"]);
        assert_eq!(planned, ["Database upgrade"]);
        assert_eq!(summary["scheduled_maintenances"][0]["status"], "scheduled");

        let status = json(&app, &format!("{V2}/status.json")).await;
        check_document(&status, &["status"]);
        assert_eq!(status["status"], summary["status"]);
        let comps = json(&app, &format!("{V2}/components.json")).await;
        check_document(&comps, &["components"]);
        assert_eq!(comps["components"], summary["components"]);

        let all = json(&app, &format!("{V2}/incidents.json")).await;
        check_document(&all, &["incidents"]);
        let resolved = all["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["status"] == "resolved")
            .unwrap();
        assert!(resolved["resolved_at"].is_string());
        assert_eq!(resolved["impact"], "major", "the demo's partial outage");
        let unresolved = json(&app, &format!("{V2}/incidents/unresolved.json")).await;
        check_document(&unresolved, &["incidents"]);
        assert_eq!(unresolved["incidents"], summary["incidents"]);

        for (path, want) in [
            ("scheduled-maintenances.json", vec!["Database upgrade"]),
            (
                "scheduled-maintenances/upcoming.json",
                vec!["Database upgrade"],
            ),
            ("scheduled-maintenances/active.json", vec![]),
        ] {
            let doc = json(&app, &format!("{V2}/{path}")).await;
            check_document(&doc, &["scheduled_maintenances"]);
            assert_eq!(titles(&doc["scheduled_maintenances"]), want, "{path}");
        }
    }
);

both_backends!(
    history_feeds_and_calendar_parse_back,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let incident_id = add_major_outage(&app).await;

        let (_, _, body, _) = fetch(&app, "/status/api/history.atom").await;
        let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
        assert_eq!(feed.title().as_str(), "Acme API status history");
        let first = &feed.entries()[0];
        assert_eq!(first.title().as_str(), "Dashboard down", "newest first");
        assert_eq!(
            first.id(),
            format!("{}/status/api/incidents/{incident_id}", app.base)
        );
        let html = first.content().unwrap().value().unwrap();
        assert!(html.contains("&lt;b&gt;does not load&lt;/b&gt;"), "{html}");
        assert!(
            html.find("Monitoring") < html.find("Investigating"),
            "{html}"
        );
        let names: Vec<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
        assert!(
            names.contains(&"Maintenance: Database upgrade"),
            "{names:?}"
        );
        assert!(names.contains(&"Sign-in failures for some users"));
        assert!(!names.contains(&"Draft only"));
        assert_eq!(feed.updated(), first.updated(), "newest data time");

        let (_, _, body, _) = fetch(&app, "/status/api/history.rss").await;
        let channel = rss::Channel::read_from(&body[..]).unwrap();
        assert_eq!(channel.link(), format!("{}/status/api", app.base));
        let items = channel.items();
        assert_eq!(items.len(), feed.entries().len());
        assert_eq!(items[0].title(), Some("Dashboard down"));
        assert_eq!(items[0].guid().unwrap().value(), first.id());
        assert!(items.iter().all(|i| i.pub_date().is_some()));

        let (_, _, body, _) = fetch(&app, "/status/api/maintenances.ics").await;
        let text = String::from_utf8(body).unwrap();
        let calendar: icalendar::Calendar = text.parse().unwrap();
        let events: Vec<&icalendar::Event> = calendar
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .collect();
        assert_eq!(events.len(), 1, "{text}");
        let e = events[0];
        use icalendar::Component;
        assert_eq!(e.get_summary(), Some("Database upgrade"));
        let json = json(&app, &format!("{V2}/scheduled-maintenances/upcoming.json")).await;
        let m = &json["scheduled_maintenances"][0];
        let host = app.addr.ip().to_string();
        assert_eq!(
            e.get_uid(),
            Some(format!("{}@{host}", m["id"].as_str().unwrap()).as_str())
        );
        let utc = |v: &Value| {
            let t = time::OffsetDateTime::parse(
                v.as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
            t.format(&f).unwrap()
        };
        assert!(
            text.contains(&format!("DTSTART:{}", utc(&m["scheduled_for"]))),
            "{text}"
        );
        assert!(
            text.contains(&format!("DTEND:{}", utc(&m["scheduled_until"]))),
            "{text}"
        );
        assert!(matches!(
            e.get_start(),
            Some(icalendar::DatePerhapsTime::DateTime(
                icalendar::CalendarDateTime::Utc(_)
            ))
        ));
        assert!(matches!(
            e.get_end(),
            Some(icalendar::DatePerhapsTime::DateTime(
                icalendar::CalendarDateTime::Utc(_)
            ))
        ));

        let html = app.get("/status/api").await.text().await.unwrap();
        assert!(html.contains(r#"<link rel="alternate" type="application/atom+xml""#));
        assert!(html.contains(r#"href="/status/api/maintenances.ics""#));
    }
);

both_backends!(
    every_route_is_stable_anonymous_and_hidden_when_unpublished,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        add_major_outage(&app).await;
        for (path, content_type) in ROUTES {
            let (status, ct, first, cookie) = fetch(&app, path).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(ct, content_type, "{path}");
            assert!(!cookie, "{path} starts no session");
            let (_, _, again, _) = fetch(&app, path).await;
            assert_eq!(
                first, again,
                "{path} gives the same bytes for the same data"
            );
            let unknown = path.replacen("/status/api/", "/status/nope/", 1);
            assert_eq!(fetch(&app, &unknown).await.0, 404, "{unknown}");
        }

        let s = &app.services;
        let (page, _) = demo_ids(s, "Dashboard").await;
        let me = owner(s).await;
        let hide = PageEdit {
            published: Some(false),
            ..Default::default()
        };
        s.edit_page(&me, &PageId::parse(&page).unwrap(), hide)
            .await
            .unwrap();
        for (path, _) in ROUTES {
            assert_eq!(
                fetch(&app, path).await.0,
                404,
                "{path} of an unpublished page"
            );
        }
    }
);
