//! Maintenance states as the Statuspage JSON, the calendar and the feeds show them.

use serde_json::Value;
use statusgate::domain::{IncidentStage, Message, NewIncidentUpdate};
use statusgate::ids::{ComponentId, PageId};

use super::fields::{check_document, SUMMARY};
use super::{fetch, json, owner, titles, V2};
use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};

both_backends!(
    maintenance_states_map_onto_statuspage_and_the_calendar,
    |db: TestDb| async move {
        use statusgate::domain::{MaintenanceState, MaintenanceWindow};
        use statusgate::service::maintenances::NewMaintenance;
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let (page, rest) = demo_ids(s, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let me = owner(s).await;
        let msg = |m: &str| Message::parse("message", m).unwrap();
        // Resolve the demo's open incident, so only maintenance is left on the page.
        let open = s.active_incidents(&me, &page).await.unwrap();
        for i in open {
            let done = NewIncidentUpdate {
                stage: IncidentStage::Resolved,
                message: msg("Fixed."),
                affected: Vec::new(),
                notify: false,
            };
            s.add_incident_update(&me, &i.id, done).await.unwrap();
        }
        let now = s.clock.now();
        let window = MaintenanceWindow::new(
            now + time::Duration::hours(1),
            now + time::Duration::hours(3),
            now,
        )
        .unwrap();
        let mut ids = Vec::new();
        for title in ["Cache resize", "Cancelled move"] {
            let new = NewMaintenance {
                title,
                window,
                components: vec![ComponentId::parse(&rest).unwrap()],
                message: msg("Planned."),
                notify: false,
            };
            ids.push(s.schedule_maintenance(&me, &page, new).await.unwrap().0.id);
        }
        s.add_maintenance_update(
            &me,
            &ids[0],
            MaintenanceState::InProgress,
            msg("Started early."),
            false,
        )
        .await
        .unwrap();
        s.add_maintenance_update(
            &me,
            &ids[1],
            MaintenanceState::Cancelled,
            msg("Not needed."),
            false,
        )
        .await
        .unwrap();

        let summary = json(&app, &format!("{V2}/summary.json")).await;
        check_document(&summary, SUMMARY);
        assert_eq!(summary["incidents"], Value::Array(Vec::new()));
        assert_eq!(summary["status"]["indicator"], "none");
        assert_eq!(
            summary["status"]["description"],
            "Service Under Maintenance"
        );
        let rest_api = summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "REST API")
            .unwrap();
        assert_eq!(rest_api["status"], "under_maintenance");

        let active = json(&app, &format!("{V2}/scheduled-maintenances/active.json")).await;
        check_document(&active, &["scheduled_maintenances"]);
        assert_eq!(titles(&active["scheduled_maintenances"]), ["Cache resize"]);
        let m = &active["scheduled_maintenances"][0];
        assert_eq!(m["status"], "in_progress");
        assert_eq!(m["incident_updates"][0]["status"], "in_progress");
        assert_eq!(m["components"][0]["name"], "REST API");
        let upcoming = json(&app, &format!("{V2}/scheduled-maintenances/upcoming.json")).await;
        assert_eq!(
            titles(&upcoming["scheduled_maintenances"]),
            ["Database upgrade"]
        );
        let all = json(&app, &format!("{V2}/scheduled-maintenances.json")).await;
        let listed = titles(&all["scheduled_maintenances"]);
        assert!(!listed.contains(&"Cancelled move".to_owned()), "{listed:?}");

        let (_, _, body, _) = fetch(&app, "/status/api/maintenances.ics").await;
        let calendar: icalendar::Calendar = String::from_utf8(body).unwrap().parse().unwrap();
        use icalendar::Component;
        let mut summaries: Vec<&str> = calendar
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .filter_map(|e| e.get_summary())
            .collect();
        summaries.sort_unstable();
        assert_eq!(summaries, ["Cache resize", "Database upgrade"]);

        let (_, _, body, _) = fetch(&app, "/status/api/history.atom").await;
        let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
        let cancelled = feed
            .entries()
            .iter()
            .find(|e| e.title().as_str() == "Maintenance: Cancelled move")
            .unwrap();
        assert!(cancelled
            .content()
            .unwrap()
            .value()
            .unwrap()
            .contains("Cancelled"));

        // Browser widgets on other sites may read the JSON, as they read Statuspage's.
        let r = app
            .new_browser()
            .client
            .get(app.url(&format!("{V2}/summary.json")))
            .header("origin", "https://widgets.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
    }
);
