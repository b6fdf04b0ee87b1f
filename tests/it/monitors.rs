//! Monitors against a real loopback target: pass, fail, time out; validation; the scheduler; pruning;
//! pending actions after repeated failures and on recovery, approved or rejected by a person.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::domain::monitor::{ActionKind, ActionState, MonitorEvent, MonitorInput, Trigger};
use statusgate::domain::{ComponentStatus, Role};
use statusgate::ids::{ComponentId, MonitorEventId, PageId};
use statusgate::service::{Principal, ServiceError, Services};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb, ADMIN_EMAIL};
use crate::loopback::{eventually, target};

pub async fn owner(services: &Services) -> Principal {
    let user = services.user_by_email(ADMIN_EMAIL).await.unwrap();
    Principal::user(user.id)
}

pub fn input<'a>(name: &'a str, url: &'a str, component: Option<ComponentId>) -> MonitorInput<'a> {
    MonitorInput {
        name,
        method: "GET",
        url,
        expect_min: 200,
        expect_max: 299,
        body_contains: None,
        timeout_ms: 2_000,
        interval_secs: 3_600,
        enabled: true,
        component_id: component,
        group_id: None,
    }
}

/// A server whose checks only run when asked (long ticks), with a 1-second interval floor.
pub async fn quiet_app(db: TestDb) -> TestApp {
    TestApp::spawn_with(
        db,
        |c| {
            c.monitors.min_interval_secs = 1;
            c.monitors.scheduler_tick_ms = 600_000;
        },
        Arc::new(SystemClock),
    )
    .await
}

both_backends!(
    checks_pass_fail_and_time_out_against_a_real_server,
    |db: TestDb| async move {
        let app = quiet_app(db).await;
        let t = target().await;
        let me = owner(&app.services).await;
        let (page, _) = demo_ids(&app.services, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let s = &app.services;

        let ok_url = format!("{}/ok", t.base);
        let ok = s
            .create_monitor(&me, &page, input("ok", &ok_url, None))
            .await
            .unwrap();
        let e = s.run_monitor_now(&me, &ok.id).await.unwrap();
        assert!(
            e.ok && e.status_code == Some(200) && e.error.is_none(),
            "{e:?}"
        );
        assert_eq!(e.trigger, Trigger::Manual);

        let fail_url = format!("{}/fail", t.base);
        let fail = s
            .create_monitor(&me, &page, input("fail", &fail_url, None))
            .await
            .unwrap();
        let e = s.run_monitor_now(&me, &fail.id).await.unwrap();
        assert!(!e.ok && e.status_code == Some(500));
        assert!(e.error.unwrap().contains("expected 200-299"));

        let hang_url = format!("{}/hang", t.base);
        let mut hang = input("hang", &hang_url, None);
        hang.timeout_ms = 300;
        let hang = s.create_monitor(&me, &page, hang).await.unwrap();
        let started = std::time::Instant::now();
        let e = s.run_monitor_now(&me, &hang.id).await.unwrap();
        assert!(started.elapsed().as_secs() < 5);
        assert!(!e.ok && e.error.unwrap().contains("timed out"));

        let mut body = input("body", &ok_url, None);
        body.body_contains = Some("not there");
        let body = s.create_monitor(&me, &page, body).await.unwrap();
        let e = s.run_monitor_now(&me, &body.id).await.unwrap();
        assert!(!e.ok && e.error.unwrap().contains("body"));

        let refused = s
            .create_monitor(&me, &page, input("closed", "http://127.0.0.1:9/", None))
            .await
            .unwrap();
        let e = s.run_monitor_now(&me, &refused.id).await.unwrap();
        assert!(!e.ok && e.error.unwrap().contains("connect"));

        let (_, events) = s.monitor(&me, &fail.id, None).await.unwrap();
        assert_eq!(events.len(), 1, "each run is one event");
    }
);

both_backends!(
    bad_monitor_input_gets_a_clear_error,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let me = owner(&app.services).await;
        let (page, _) = demo_ids(&app.services, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let s = &app.services;
        let mut fast = input("fast", "https://example.com/", None);
        fast.interval_secs = 5;
        let e = s.create_monitor(&me, &page, fast).await.unwrap_err();
        assert!(
            matches!(e, ServiceError::Invalid(_)) && e.to_string().contains("interval_secs"),
            "{e}"
        );
        let e = s
            .create_monitor(&me, &page, input("x", "gopher://example.com", None))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("url"), "{e}");
        let mut range = input("x", "https://example.com", None);
        range.expect_min = 500;
        range.expect_max = 200;
        assert!(s.create_monitor(&me, &page, range).await.is_err());
    }
);

both_backends!(
    viewers_may_read_monitors_but_not_run_or_decide,
    |db: TestDb| async move {
        let app = quiet_app(db).await;
        let s = &app.services;
        let org = s.org_by_slug("acme").await.unwrap();
        let viewer = s
            .create_user("viewer@acme.test", "viewer password", &org, Role::Viewer)
            .await
            .unwrap();
        let viewer = Principal::user(viewer.id);
        let (page, _) = demo_ids(s, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let monitors = s.monitors(&viewer, &page).await.unwrap();
        assert_eq!(monitors.len(), 3, "the demo's monitors");
        let e = s
            .run_monitor_now(&viewer, &monitors[0].id)
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden(_)));
        let pending = s
            .pending_actions(&viewer, &page, Some(ActionState::Pending), None)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1, "the demo's pending action");
        let e = s.approve_action(&viewer, &pending[0].id).await.unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden(_)));
        let e = s
            .reject_action(&viewer, &pending[0].id, "no")
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::Forbidden(_)));
    }
);

both_backends!(
    repeated_failures_propose_an_incident_that_waits_for_approval,
    |db: TestDb| async move {
        let app = quiet_app(db).await;
        let t = target().await;
        let s = &app.services;
        let st = &app.store;
        let me = owner(s).await;
        let (page, auth) = demo_ids(s, "Authentication").await;
        let (page, auth) = (
            PageId::parse(&page).unwrap(),
            ComponentId::parse(&auth).unwrap(),
        );
        let fail_url = format!("{}/fail", t.base);
        let m = s
            .create_monitor(&me, &page, input("auth", &fail_url, Some(auth.clone())))
            .await
            .unwrap();
        for _ in 0..2 {
            s.run_monitor_now(&me, &m.id).await.unwrap();
        }
        assert!(
            proposals(s, &page, &me).await.is_empty(),
            "two failures: nothing yet"
        );
        s.run_monitor_now(&me, &m.id).await.unwrap();
        s.run_monitor_now(&me, &m.id).await.unwrap();
        let open = proposals(s, &page, &me).await;
        assert_eq!(
            open.len(),
            1,
            "one proposal at the threshold, not one per failure"
        );
        assert_eq!(open[0].kind, ActionKind::OpenIncident);
        let before = s.active_incidents(&me, &page).await.unwrap().len();
        assert_eq!(
            component_status(&app, &page, &auth).await,
            ComponentStatus::Operational,
            "nothing done unapproved"
        );

        let done = s.approve_action(&me, &open[0].id).await.unwrap();
        assert_eq!(done.state, ActionState::Approved);
        assert_eq!(
            s.active_incidents(&me, &page).await.unwrap().len(),
            before + 1
        );
        assert_eq!(
            component_status(&app, &page, &auth).await,
            ComponentStatus::MajorOutage
        );
        let again = s.approve_action(&me, &open[0].id).await.unwrap_err();
        assert!(matches!(again, ServiceError::Conflict(_)));

        // Recovery, with the incident still open, proposes resolving it; rejecting records who and why
        // and changes nothing.
        let ok_url = format!("{}/ok", t.base);
        point_and_run(s, &me, &m, &ok_url, &auth, 1).await;
        let back = proposals(s, &page, &me).await;
        assert_eq!(back.len(), 1);
        assert_eq!(
            (back[0].kind, back[0].status),
            (ActionKind::ResolveIncident, ComponentStatus::Operational)
        );
        let rejected = s
            .reject_action(&me, &back[0].id, "still investigating")
            .await
            .unwrap();
        assert_eq!(rejected.state, ActionState::Rejected);
        assert_eq!(
            rejected.decision_note.as_deref(),
            Some("still investigating")
        );
        assert_eq!(
            component_status(&app, &page, &auth).await,
            ComponentStatus::MajorOutage
        );

        // Down and back up again: approving the recovery resolves the open incident, quietly.
        point_and_run(s, &me, &m, &fail_url, &auth, 3).await;
        assert!(
            proposals(s, &page, &me).await.is_empty(),
            "already in a major outage: no second incident proposed"
        );
        point_and_run(s, &me, &m, &ok_url, &auth, 1).await;
        let back = proposals(s, &page, &me).await;
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].kind, ActionKind::ResolveIncident);
        let opened = s.active_incidents(&me, &page).await.unwrap();
        assert_eq!(opened.len(), before + 1);
        let queued_before = notifications(&app).await;
        s.approve_action(&me, &back[0].id).await.unwrap();
        assert_eq!(
            s.active_incidents(&me, &page).await.unwrap().len(),
            before,
            "the incident the monitor opened is resolved"
        );
        assert_eq!(
            component_status(&app, &page, &auth).await,
            ComponentStatus::Operational
        );
        assert_eq!(
            notifications(&app).await,
            queued_before,
            "approving a proposal notifies nobody"
        );

        let org = s.org_by_slug("acme").await.unwrap();
        let audit = st.audit_entries(&org.id, None, 1000).await.unwrap();
        for action in [
            "monitor_action.proposed",
            "monitor_action.approved",
            "monitor_action.rejected",
            "incident.created",
        ] {
            assert!(
                audit.iter().any(|a| a.action == action),
                "audit has {action}"
            );
        }
    }
);

/// Points monitor `m` (on `component`) at `url`, then runs it `runs` times.
async fn point_and_run(
    s: &Services,
    me: &Principal,
    m: &statusgate::domain::monitor::Monitor,
    url: &str,
    component: &ComponentId,
    runs: usize,
) {
    s.update_monitor(me, &m.id, input("auth", url, Some(component.clone())))
        .await
        .unwrap();
    for _ in 0..runs {
        s.run_monitor_now(me, &m.id).await.unwrap();
    }
}

async fn notifications(app: &TestApp) -> i64 {
    let st = &app.store;
    let row = sqlx::query("select count(*) as n from notifications")
        .fetch_one(st.pool())
        .await
        .unwrap();
    sqlx::Row::get::<i64, _>(&row, "n")
}

async fn component_status(app: &TestApp, page: &PageId, id: &ComponentId) -> ComponentStatus {
    let st = &app.store;
    st.components(page)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == *id)
        .unwrap()
        .status
}

both_backends!(
    the_scheduler_runs_due_checks_and_old_events_are_pruned,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.monitors.min_interval_secs = 1;
                c.monitors.scheduler_tick_ms = 50;
            },
            Arc::new(SystemClock),
        )
        .await;
        let t = target().await;
        let s = &app.services;
        let st = &app.store;
        let me = owner(s).await;
        let (page, _) = demo_ids(s, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let ok_url = format!("{}/ok", t.base);
        let mut every_second = input("tick", &ok_url, None);
        every_second.interval_secs = 1;
        let m = s.create_monitor(&me, &page, every_second).await.unwrap();
        let hits = t.hits.clone();
        assert!(
            eventually(10, || *hits.lock().unwrap() >= 3).await,
            "scheduled runs happen"
        );
        let (_, events) = s.monitor(&me, &m.id, None).await.unwrap();
        assert!(events.len() >= 2 && events.iter().all(|e| e.trigger == Trigger::Schedule));

        let old = MonitorEvent {
            id: MonitorEventId::generate(),
            monitor_id: m.id.clone(),
            checked_at: s.clock.now() - time::Duration::days(91),
            ok: true,
            latency_ms: 1,
            status_code: Some(200),
            error: None,
            trigger: Trigger::Schedule,
        };
        let mut tx = st.begin().await.unwrap();
        st.record_monitor_event(&mut tx, &old).await.unwrap();
        tx.commit().await.unwrap();
        assert!(s.prune_monitor_events().await.unwrap() >= 1);
        let (_, events) = s.monitor(&me, &m.id, Some(200)).await.unwrap();
        assert!(
            events.iter().all(|e| e.id != old.id),
            "the 91-day-old event is gone"
        );
    }
);

/// Pending proposals made by the test's monitor (named "auth"), not the demo's.
async fn proposals(
    s: &Services,
    page: &PageId,
    me: &Principal,
) -> Vec<statusgate::domain::monitor::PendingAction> {
    s.pending_actions(me, page, Some(ActionState::Pending), None)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.reason.starts_with("auth"))
        .collect()
}
