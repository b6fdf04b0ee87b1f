//! The set-up step of `bench/status.sh`: migrates the database, seeds the demo (page `api`), and adds a
//! large published page `big`: 1,000 components (in 50 groups) and 10,000 resolved incidents with an
//! update each, spread over the last three years. Then it exits; the script serves the database with
//! the release binary.
//!
//! `./target/release/examples/status_bench_setup <database url>`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

mod common;

use statusgate::app::App;
use statusgate::domain::{Incident, IncidentStage, IncidentUpdate};
use statusgate::ids::{IncidentId, IncidentUpdateId};
use statusgate::service::page_admin::{NewComponentInput, NewPage};
use statusgate::service::Principal;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url] = args.as_slice() else {
        panic!("usage: status_bench_setup <database url>");
    };
    let app = App::build(common::bench_config(url)).await.unwrap();
    let s = app.state.services.clone();
    let user = s
        .authenticate(common::EMAIL, common::PASSWORD, "127.0.0.1")
        .await
        .unwrap();
    let org = s.memberships(&user.id).await.unwrap()[0].org.id.clone();
    let me = Principal::user(user.id.clone());
    let page = s
        .new_page(
            &me,
            &org,
            NewPage {
                name: "Big platform".into(),
                slug: "big".into(),
                public_slug: None,
                description: String::new(),
                published: true,
            },
        )
        .await
        .unwrap();
    for g in 0..50 {
        let group = s
            .add_component(
                &me,
                &page.id,
                NewComponentInput {
                    name: format!("Region {g:02}"),
                    description: String::new(),
                    parent_id: None,
                    group: true,
                },
            )
            .await
            .unwrap();
        for c in 0..19 {
            s.add_component(
                &me,
                &page.id,
                NewComponentInput {
                    name: format!("Service {g:02}-{c:02}"),
                    description: String::new(),
                    parent_id: Some(group.id.clone()),
                    group: false,
                },
            )
            .await
            .unwrap();
        }
    }
    let now = s.clock.now();
    let store = app.store.clone();
    let mut tx = store.begin().await.unwrap();
    for n in 0..10_000i64 {
        let started = now - time::Duration::hours(2 + n * 2 + n / 3);
        let resolved = started + time::Duration::minutes(45);
        let incident = Incident {
            id: IncidentId::generate(),
            page_id: page.id.clone(),
            title: format!("Elevated errors, episode {n}"),
            stage: IncidentStage::Resolved,
            started_at: started,
            resolved_at: Some(resolved),
            updated_at: resolved,
            draft: None,
        };
        store
            .insert_incident(&mut tx, &incident, Some(&user.id), started)
            .await
            .unwrap();
        let update = IncidentUpdate {
            id: IncidentUpdateId::generate(),
            incident_id: incident.id.clone(),
            stage: IncidentStage::Resolved,
            message: "Error rates are back to normal; we keep watching.".into(),
            notify: false,
            created_at: resolved,
            affected: Vec::new(),
        };
        store
            .insert_incident_update(&mut tx, &update, Some(&user.id))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    println!("big");
}
