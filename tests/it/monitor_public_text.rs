//! A monitor's own words stay with the admins: the incident an approved proposal opens (or the update
//! that resolves it) says something neutral in public, never the check's error ("refused: 10.0.0.1 is
//! a loopback or private address") nor the monitor's name, which stay on the proposal.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::domain::monitor::{ActionKind, ActionState, MonitorSpec, PendingAction};
use statusgate::domain::ComponentStatus;
use statusgate::ids::{ComponentId, MonitorId, PageId, PendingActionId};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};
use crate::monitors::{input, owner};

both_backends!(
    an_approved_proposal_tells_the_public_nothing_of_the_checks_error,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.monitors.scheduler_tick_ms = 600_000;
                c.monitors.allow_private_targets = false;
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = &app.services;
        let st = &app.store;
        let me = owner(s).await;
        let (page, auth) = demo_ids(s, "Authentication").await;
        let (page, auth) = (
            PageId::parse(&page).unwrap(),
            ComponentId::parse(&auth).unwrap(),
        );
        // Saved before the guard (or before private targets were turned off): every run is refused.
        let spec = MonitorSpec::parse(
            input("db-probe", "http://10.0.0.1:9/health", Some(auth.clone())),
            1,
        )
        .unwrap();
        let id = MonitorId::generate();
        let mut tx = st.begin().await.unwrap();
        st.insert_monitor(&mut tx, &id, &page, &spec, s.clock.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut proposal = None;
        for _ in 0..5 {
            let e = s.run_monitor_now(&me, &id).await.unwrap();
            assert!(e.error.unwrap_or_default().contains("10.0.0.1"));
            proposal = s
                .pending_actions(&me, &page, Some(ActionState::Pending), None)
                .await
                .unwrap()
                .into_iter()
                .find(|a| a.monitor_id.as_ref() == Some(&id));
            if proposal.is_some() {
                break;
            }
        }
        let proposal = proposal.expect("a proposal after the threshold");
        assert_eq!(proposal.kind, ActionKind::OpenIncident);
        assert!(
            proposal.reason.contains("refused: 10.0.0.1"),
            "admins keep the detail: {}",
            proposal.reason
        );
        s.approve_action(&me, &proposal.id).await.unwrap();

        let incident = s
            .active_incidents(&me, &page)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.title.starts_with("Authentication"))
            .expect("the incident the proposal opened");
        let path = format!("/status/api/incidents/{}", incident.id.as_str());
        let public = app.get(&path).await.text().await.unwrap();
        let status = app.get("/status/api").await.text().await.unwrap();
        for html in [&public, &status] {
            assert!(
                !html.contains("10.0.0.1")
                    && !html.contains("refused")
                    && !html.contains("db-probe"),
                "the check's error reached the public page"
            );
        }
        assert!(public.contains("Our automated checks of Authentication are failing"));

        // The proposal to resolve it, likewise: its reason is not the public update.
        let resolve = PendingAction {
            id: PendingActionId::generate(),
            page_id: page.clone(),
            monitor_id: Some(id.clone()),
            component_id: auth.clone(),
            kind: ActionKind::ResolveIncident,
            status: ComponentStatus::Operational,
            reason: "db-probe passes again; db.internal resolves to 10.9.8.7".into(),
            state: ActionState::Pending,
            decided_by: None,
            decision_note: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        let mut tx = st.begin().await.unwrap();
        st.insert_pending_action(&mut tx, &resolve).await.unwrap();
        tx.commit().await.unwrap();
        s.approve_action(&me, &resolve.id).await.unwrap();
        let public = app.get(&path).await.text().await.unwrap();
        assert!(public.contains("Authentication is passing its checks again"));
        assert!(!public.contains("10.9.8.7") && !public.contains("db.internal"));
    }
);
