//! What the public side says about incidents and maintenance: each incident names the components it
//! affected with the status each had, on the page, its own page, the feeds and the Statuspage JSON; a
//! maintenance shows its message and components; the banner says the JSON's status sentence.

use std::sync::Arc;

use serde_json::Value;
use statusgate::domain::{
    ComponentStatus, IncidentStage, MaintenanceWindow, Message, NewIncidentUpdate,
};
use statusgate::ids::{ComponentId, PageId};
use statusgate::service::maintenances::NewMaintenance;
use statusgate::service::page_admin::ComponentEdit;
use statusgate::service::{Principal, Services};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb, ADMIN_EMAIL};

/// An app whose monitors stay still, so only the test changes a status.
pub async fn still_app(db: TestDb) -> TestApp {
    TestApp::spawn_with(
        db,
        |c| c.monitors.scheduler_tick_ms = 600_000,
        Arc::new(statusgate::clock::SystemClock),
    )
    .await
}

pub async fn owner(s: &Services) -> Principal {
    Principal::user(s.user_by_email(ADMIN_EMAIL).await.unwrap().id)
}

fn msg(text: &str) -> Message {
    Message::parse("message", text).unwrap()
}

pub async fn text(app: &TestApp, path: &str) -> String {
    let r = app.new_browser().get(path).await;
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}

/// The part of `body` from `start` up to the next `end`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"));
    let rest = &body[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The demo page's id and the ids of "REST API" and "Webhooks".
async fn two_components(s: &Services) -> (PageId, ComponentId, ComponentId) {
    let (page, rest) = demo_ids(s, "REST API").await;
    let (_, hooks) = demo_ids(s, "Webhooks").await;
    (
        PageId::parse(&page).unwrap(),
        ComponentId::parse(&rest).unwrap(),
        ComponentId::parse(&hooks).unwrap(),
    )
}

/// How the HTML pages write an affected component: its name and the status name's words.
fn shown(name: &str, class: &str, label: &str) -> String {
    format!("{name}: <span class=\"status {class}\">{label}</span>")
}

both_backends!(
    an_incident_names_both_components_with_their_statuses_everywhere,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let (page, rest, hooks) = two_components(s).await;
        let first = NewIncidentUpdate {
            stage: IncidentStage::Investigating,
            message: msg("Requests fail for some customers."),
            affected: vec![
                (rest.clone(), ComponentStatus::PartialOutage),
                (hooks.clone(), ComponentStatus::DegradedPerformance),
            ],
            notify: false,
        };
        let (incident, _) = s
            .create_incident(&me, &page, "Elevated error rates", first)
            .await
            .unwrap();
        let id = incident.id.to_string();
        let outage = shown("REST API", "partial_outage", "Partial outage");
        let degraded = shown("Webhooks", "degraded_performance", "Degraded performance");

        // The status page: the incident's card, and its update, name both.
        let body = text(&app, "/status/api").await;
        let card = between(&body, "Elevated error rates</a>", "</section>");
        for want in [&outage, &degraded] {
            assert!(card.contains(want.as_str()), "{want} in {card}");
            assert!(
                card.matches(want.as_str()).count() >= 2,
                "per update too: {card}"
            );
        }
        // Its own page.
        let own = text(&app, &format!("/status/api/incidents/{id}")).await;
        for want in [&outage, &degraded] {
            assert!(own.matches(want.as_str()).count() >= 2, "{want} in {own}");
        }
        // Atom and RSS: the entry's HTML (escaped in the XML) names both in the page's words.
        for (feed, end) in [
            ("/status/api/history.atom", "</entry>"),
            ("/status/api/history.rss", "</item>"),
        ] {
            let xml = text(&app, feed).await;
            let entry = between(&xml, "Elevated error rates", end);
            for want in [
                "REST API (Partial outage)",
                "Webhooks (Degraded performance)",
            ] {
                assert!(entry.contains(want), "{want} in {feed}: {entry}");
            }
        }
        // incidents.json: the incident's components and its update's affected components.
        let doc: Value =
            serde_json::from_str(&text(&app, "/status/api/api/v2/incidents.json").await).unwrap();
        let found = doc["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .expect("incident listed")
            .clone();
        let mut names: Vec<&str> = found["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["REST API", "Webhooks"]);
        let mut affected: Vec<(String, String)> = found["incident_updates"][0]
            ["affected_components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_owned(),
                    a["new_status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        affected.sort();
        assert_eq!(
            affected,
            [
                ("REST API".to_owned(), "partial_outage".to_owned()),
                ("Webhooks".to_owned(), "degraded_performance".to_owned())
            ]
        );
    }
);

both_backends!(
    a_maintenance_shows_its_message_and_components,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let (page, rest, hooks) = two_components(s).await;
        let now = s.clock.now();
        let window = MaintenanceWindow::new(
            now + time::Duration::hours(2),
            now + time::Duration::hours(4),
            now,
        )
        .unwrap();
        let new = NewMaintenance {
            title: "Database upgrade",
            window,
            components: vec![rest, hooks],
            message: msg("Writes pause for up to ten minutes."),
            notify: false,
        };
        let (m, _) = s.schedule_maintenance(&me, &page, new).await.unwrap();
        let body = text(&app, "/status/api").await;
        let item = between(&body, &format!("id=\"maintenance-{}\"", m.id), "</li>");
        assert!(
            item.contains("Writes pause for up to ten minutes."),
            "{item}"
        );
        let components = between(item, "Components:", "</p>");
        assert!(components.contains("REST API"), "{item}");
        assert!(components.contains("Webhooks"), "{item}");
        let atom = text(&app, "/status/api/history.atom").await;
        let entry = between(&atom, "Maintenance: Database upgrade", "</entry>");
        assert!(
            entry.contains("Components: REST API, Webhooks")
                || entry.contains("Components: Webhooks, REST API"),
            "{entry}"
        );
        assert!(
            entry.contains("Writes pause for up to ten minutes."),
            "{entry}"
        );
    }
);

/// The banner's sentence, as the page writes it.
fn banner(body: &str) -> String {
    let part = between(body, "<section class=\"banner", "</section>");
    let part = between(part, "<strong>", "</strong>");
    part.trim_start_matches("<strong>").to_owned()
}

both_backends!(
    the_banner_says_the_statuspage_sentence_for_every_status,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let (page, rest, _) = two_components(s).await;
        // No open incident, so the components alone decide.
        for i in s.active_incidents(&me, &page).await.unwrap() {
            let done = NewIncidentUpdate {
                stage: IncidentStage::Resolved,
                message: msg("Fixed."),
                affected: Vec::new(),
                notify: false,
            };
            s.add_incident_update(&me, &i.id, done).await.unwrap();
        }
        let public = s.public_page("api").await.unwrap();
        for c in public.tree.iter().flat_map(|n| &n.children).chain(
            public
                .tree
                .iter()
                .map(|n| &n.component)
                .filter(|c| c.kind == statusgate::domain::ComponentKind::Component),
        ) {
            s.set_component_status_by_hand(&me, &c.id, ComponentStatus::Operational)
                .await
                .unwrap();
        }
        let mut sentences = Vec::new();
        for status in ComponentStatus::ALL {
            s.set_component_status_by_hand(&me, &rest, status)
                .await
                .unwrap();
            let body = text(&app, "/status/api").await;
            let summary: Value =
                serde_json::from_str(&text(&app, "/status/api/api/v2/summary.json").await).unwrap();
            let said = summary["status"]["description"].as_str().unwrap();
            assert_eq!(banner(&body), said, "{status:?}");
            assert!(
                body.contains(&format!("<meta name=\"description\" content=\"{said}")),
                "the preview description is the sentence too"
            );
            sentences.push(said.to_owned());
        }
        assert_eq!(
            sentences,
            [
                "All Systems Operational",
                "Minor Service Outage",
                "Partial System Outage",
                "Major System Outage",
                "Service Under Maintenance"
            ]
        );
        // The component's own words follow the status names.
        s.set_component_status_by_hand(&me, &rest, ComponentStatus::DegradedPerformance)
            .await
            .unwrap();
        let body = text(&app, "/status/api").await;
        assert!(body.contains(">Degraded performance</span>"), "{body}");
    }
);

both_backends!(
    descriptions_show_on_the_page_as_a_disclosure,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let (page, rest, _) = two_components(s).await;
        let edit = statusgate::service::page_admin::PageEdit {
            description: Some("Status of Acme's public API.".into()),
            ..Default::default()
        };
        s.edit_page(&me, &page, edit).await.unwrap();
        let edit = ComponentEdit {
            description: Some("The JSON API under /v1.".into()),
            ..Default::default()
        };
        s.edit_component(&me, &rest, edit).await.unwrap();
        let body = text(&app, "/status/api").await;
        assert!(
            body.contains("<p class=\"page-description\">Status of Acme&#39;s public API.</p>"),
            "{body}"
        );
        assert!(
            body.contains("<details class=\"about\"><summary>About REST API</summary><p>The JSON API under /v1.</p></details>"),
            "{body}"
        );
        assert!(!body.contains("title=\"The JSON API"), "no tooltip");
    }
);
