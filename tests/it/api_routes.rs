//! `/api/v1` happy paths: pages, incidents, maintenances, monitors and their actions, subscribers,
//! analytics, embeds.

use reqwest::Method;
use serde_json::{json, Value};
use statusgate::domain::monitor::{ActionKind, ActionState, PendingAction};
use statusgate::domain::ComponentStatus;
use statusgate::ids::{ComponentId, PageId, PendingActionId};

use crate::api_support::{error_code, get_as, json, owner_key, post_as, spawn};
use crate::both_backends;
use crate::helpers::demo_ids;

both_backends!(page_routes_describe_the_page, |db| async move {
    // Arrange
    let app = spawn(db).await;
    let key = owner_key(&app, false).await;
    let (page, component) = demo_ids(&app.services, "REST API").await;

    // Act + Assert
    let (status, orgs) = json(&app, &key, Method::GET, "/orgs", None).await;
    assert_eq!(
        (status, orgs["items"][0]["slug"].clone()),
        (200, json!("acme"))
    );
    let (_, pages) = json(&app, &key, Method::GET, "/pages?org=acme", None).await;
    assert_eq!(pages["items"][0]["page_id"], page);
    let (_, none) = json(&app, &key, Method::GET, "/pages?org=globex", None).await;
    assert_eq!(none["items"], json!([]));

    let (status, summary) = json(&app, &key, Method::GET, &format!("/pages/{page}"), None).await;
    assert_eq!(status, 200, "{summary}");
    assert!(summary["overall_status"].is_string());
    assert!(summary["components"].as_array().unwrap().len() >= 2);
    assert!(summary["active_incidents"].is_array() && summary["maintenances"].is_array());
    let (_, by_slug) = json(&app, &key, Method::GET, "/pages/by-slug/acme/api", None).await;
    assert_eq!(by_slug["page_id"], page);
    let (status, _) = json(&app, &key, Method::GET, "/pages/by-slug/acme/nope", None).await;
    assert_eq!(status, 404);

    let (_, defs) = json(
        &app,
        &key,
        Method::GET,
        &format!("/pages/{page}/status-definitions"),
        None,
    )
    .await;
    assert_eq!(defs["items"].as_array().unwrap().len(), 5);
    assert_eq!(defs["items"][0]["status"], "operational");
    let (_, stages) = json(
        &app,
        &key,
        Method::GET,
        &format!("/pages/{page}/lifecycle-stages"),
        None,
    )
    .await;
    assert_eq!(stages["incident_stages"].as_array().unwrap().len(), 4);
    assert_eq!(stages["maintenance_states"].as_array().unwrap().len(), 4);
    let (_, tree) = json(
        &app,
        &key,
        Method::GET,
        &format!("/pages/{page}/hierarchy"),
        None,
    )
    .await;
    let group = tree["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "API")
        .unwrap();
    assert!(group["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["component_id"] == component));
    let (_, comps) = json(
        &app,
        &key,
        Method::GET,
        &format!("/pages/{page}/components"),
        None,
    )
    .await;
    let rest = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component_id"] == component)
        .unwrap();
    assert_eq!(rest["parent_id"], group["component_id"]);

    let (status, body) = json(
        &app,
        &key,
        Method::GET,
        "/pages/pg_0123456789abcdef01234567",
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (404, "not_found")
    );
    app.stop().await;
});

both_backends!(an_incident_runs_its_whole_life_over_rest, |db| async move {
    // Arrange
    let app = spawn(db).await;
    let key = owner_key(&app, true).await;
    let (page, component) = demo_ids(&app.services, "Webhooks").await;
    let incidents = format!("/pages/{page}/incidents");

    // Act + Assert: open.
    let body = json!({ "title": "Webhook delays", "message": "Investigating", "notify": true,
        "affected_components": [{ "component_id": component, "status": "degraded_performance" }] });
    let (status, created) = json(&app, &key, Method::POST, &incidents, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["stage"], "investigating");
    assert_eq!(created["update"]["notify"], true);
    let id = created["incident_id"].as_str().unwrap().to_owned();
    let one = format!("/incidents/{id}");

    let (_, active) = json(&app, &key, Method::GET, &incidents, None).await;
    assert!(active["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["incident_id"] == id.as_str()));

    let (status, renamed) = json(
        &app,
        &key,
        Method::PATCH,
        &one,
        Some(json!({ "title": "Webhook delivery delays",
            "affected_components": [{ "component_id": component, "status": "major_outage" }] })),
    )
    .await;
    assert_eq!(
        (status, renamed["title"].clone()),
        (200, json!("Webhook delivery delays"))
    );
    let (_, comps) = json(
        &app,
        &key,
        Method::GET,
        &format!("/pages/{page}/components"),
        None,
    )
    .await;
    let hooks = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component_id"] == component.as_str())
        .unwrap();
    assert_eq!(hooks["status"], "major_outage");
    let (status, _) = json(
        &app,
        &key,
        Method::PATCH,
        &one,
        Some(json!({ "title": "" })),
    )
    .await;
    assert_eq!(status, 422);

    let (status, _) = json(
        &app,
        &key,
        Method::POST,
        &format!("{one}/acknowledge"),
        Some(json!({ "notify": false })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = json(
        &app,
        &key,
        Method::POST,
        &format!("{one}/acknowledge"),
        Some(json!({ "notify": false })),
    )
    .await;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (409, "conflict")
    );

    let update = json!({ "stage": "monitoring", "message": "A fix is out", "notify": false });
    let (status, posted) = json(
        &app,
        &key,
        Method::POST,
        &format!("{one}/updates"),
        Some(update),
    )
    .await;
    assert_eq!(
        (status, posted["stage"].clone()),
        (201, json!("monitoring"))
    );

    let (status, resolved) = json(
        &app,
        &key,
        Method::POST,
        &format!("{one}/resolve"),
        Some(json!({ "message": "Fixed", "notify": true })),
    )
    .await;
    assert_eq!(
        (status, resolved["stage"].clone()),
        (200, json!("resolved"))
    );
    let (status, body) = json(
        &app,
        &key,
        Method::POST,
        &format!("{one}/resolve"),
        Some(json!({ "notify": false })),
    )
    .await;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (409, "conflict")
    );

    let (_, gone) = json(&app, &key, Method::GET, &incidents, None).await;
    assert!(!gone["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["incident_id"] == id.as_str()));
    let (_, done) = json(
        &app,
        &key,
        Method::GET,
        &format!("{incidents}?state=resolved"),
        None,
    )
    .await;
    assert!(done["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["incident_id"] == id.as_str()));

    let (status, reopened) = json(
        &app,
        &key,
        Method::POST,
        &format!("{one}/reopen"),
        Some(json!({ "notify": false })),
    )
    .await;
    assert_eq!(
        (status, reopened["stage"].clone()),
        (200, json!("investigating"))
    );

    let (_, full) = json(&app, &key, Method::GET, &one, None).await;
    assert_eq!(full["updates"].as_array().unwrap().len(), 6);

    // Pages of one, following the cursor, see every incident once.
    let (_, all) = json(
        &app,
        &key,
        Method::GET,
        &format!("{incidents}?state=all&limit=200"),
        None,
    )
    .await;
    let total = all["items"].as_array().unwrap().len();
    let mut seen = Vec::new();
    let mut next = format!("{incidents}?state=all&limit=1");
    loop {
        let (status, pg) = json(&app, &key, Method::GET, &next, None).await;
        assert_eq!(status, 200, "{pg}");
        seen.extend(
            pg["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["incident_id"].clone()),
        );
        match pg["next_cursor"].as_str() {
            Some(c) => next = format!("{incidents}?state=all&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);

    let (status, _) = json(&app, &key, Method::DELETE, &one, None).await;
    assert_eq!(status, 204);
    let (status, _) = json(&app, &key, Method::GET, &one, None).await;
    assert_eq!(status, 404);
    app.stop().await;
});

both_backends!(
    a_maintenance_runs_its_whole_life_over_rest,
    |db| async move {
        // Arrange
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        let (page, component) = demo_ids(&app.services, "Dashboard").await;
        let list = format!("/pages/{page}/maintenances");
        let now = time::OffsetDateTime::now_utc();
        let at = |h: i64| {
            (now + time::Duration::hours(h))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let schedule = |title: &str| {
            json!({ "title": title, "starts_at": at(2), "ends_at": at(4), "component_ids": [component],
            "message": "Planned work", "notify": false })
        };

        // Act + Assert
        let (status, m) = json(
            &app,
            &key,
            Method::POST,
            &list,
            Some(schedule("Database upgrade")),
        )
        .await;
        assert_eq!(status, 201, "{m}");
        let id = m["maintenance_id"].as_str().unwrap().to_owned();
        let one = format!("/maintenances/{id}");
        let (_, upcoming) = json(
            &app,
            &key,
            Method::GET,
            &format!("{list}?filter=upcoming"),
            None,
        )
        .await;
        assert!(upcoming["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["maintenance_id"] == id.as_str()));
        let (_, scheduled) = json(
            &app,
            &key,
            Method::GET,
            &format!("{list}?filter=scheduled"),
            None,
        )
        .await;
        assert!(!scheduled["items"].as_array().unwrap().is_empty());

        let (status, moved) = json(
            &app,
            &key,
            Method::PATCH,
            &one,
            Some(json!({ "title": "DB upgrade", "ends_at": at(5) })),
        )
        .await;
        assert_eq!((status, moved["title"].clone()), (200, json!("DB upgrade")));
        assert_eq!(moved["ends_at"].as_str().unwrap()[..19], at(5)[..19]);
        let (status, body) = json(
            &app,
            &key,
            Method::PATCH,
            &one,
            Some(json!({ "ends_at": at(1) })),
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (422, "unprocessable")
        );

        let start = json!({ "state": "in_progress", "message": "Started", "notify": false });
        let (status, started) = json(
            &app,
            &key,
            Method::POST,
            &format!("{one}/updates"),
            Some(start),
        )
        .await;
        assert_eq!(
            (status, started["state"].clone()),
            (201, json!("in_progress"))
        );
        let (_, active) = json(
            &app,
            &key,
            Method::GET,
            &format!("{list}?filter=active"),
            None,
        )
        .await;
        assert!(active["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["maintenance_id"] == id.as_str()));

        let (status, done) = json(
            &app,
            &key,
            Method::POST,
            &format!("{one}/complete"),
            Some(json!({ "notify": true })),
        )
        .await;
        assert_eq!((status, done["state"].clone()), (200, json!("completed")));
        let (_, past) = json(
            &app,
            &key,
            Method::GET,
            &format!("{list}?filter=past"),
            None,
        )
        .await;
        assert!(past["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["maintenance_id"] == id.as_str()));
        let (_, full) = json(&app, &key, Method::GET, &one, None).await;
        assert_eq!(full["updates"].as_array().unwrap().len(), 3);

        let (_, other) = json(
            &app,
            &key,
            Method::POST,
            &list,
            Some(schedule("Network work")),
        )
        .await;
        let other = format!(
            "/maintenances/{}",
            other["maintenance_id"].as_str().unwrap()
        );
        let (status, cancelled) = json(
            &app,
            &key,
            Method::POST,
            &format!("{other}/cancel"),
            Some(json!({ "notify": false })),
        )
        .await;
        assert_eq!(
            (status, cancelled["state"].clone()),
            (200, json!("cancelled"))
        );

        let (status, _) = json(&app, &key, Method::DELETE, &one, None).await;
        assert_eq!(status, 204);
        let (status, _) = json(&app, &key, Method::GET, &one, None).await;
        assert_eq!(status, 404);
        let (status, body) = json(
            &app,
            &key,
            Method::GET,
            &format!("{list}?filter=soon"),
            None,
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "malformed")
        );
        app.stop().await;
    }
);

both_backends!(
    monitors_actions_subscribers_analytics_and_embeds_answer,
    |db| async move {
        // Arrange: a proposed action to decide.
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        let (page, component) = demo_ids(&app.services, "Authentication").await;
        let propose = |kind| PendingAction {
            id: PendingActionId::generate(),
            page_id: PageId::parse(&page).unwrap(),
            monitor_id: None,
            component_id: ComponentId::parse(&component).unwrap(),
            kind,
            status: ComponentStatus::PartialOutage,
            reason: "three failures".into(),
            state: ActionState::Pending,
            decided_by: None,
            decision_note: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        let (approve, reject) = (
            propose(ActionKind::SetStatus),
            propose(ActionKind::SetStatus),
        );
        let mut tx = app.store.begin().await.unwrap();
        app.store
            .insert_pending_action(&mut tx, &approve)
            .await
            .unwrap();
        app.store
            .insert_pending_action(&mut tx, &reject)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Act + Assert: monitors.
        let (status, monitors) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/monitors"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{monitors}");
        let mon = monitors["items"][0]["monitor_id"]
            .as_str()
            .expect("a demo monitor")
            .to_owned();
        let (status, ran) = json(
            &app,
            &key,
            Method::POST,
            &format!("/monitors/{mon}/run"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{ran}");
        assert_eq!(ran["trigger"], "manual");
        let (_, events) = json(
            &app,
            &key,
            Method::GET,
            &format!("/monitors/{mon}/events?limit=5"),
            None,
        )
        .await;
        assert!(events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event_id"] == ran["event_id"]));

        // Actions.
        let (_, pending) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/pending-actions?state=pending"),
            None,
        )
        .await;
        let ids: Vec<&str> = pending["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action_id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&approve.id.as_str()) && ids.contains(&reject.id.as_str()),
            "{ids:?}"
        );
        let (status, approved) = json(
            &app,
            &key,
            Method::POST,
            &format!("/pending-actions/{}/approve", approve.id),
            None,
        )
        .await;
        assert_eq!(
            (status, approved["state"].clone()),
            (200, json!("approved")),
            "{approved}"
        );
        let (status, body) = json(
            &app,
            &key,
            Method::POST,
            &format!("/pending-actions/{}/approve", approve.id),
            None,
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (409, "conflict")
        );
        let (status, rejected) = json(
            &app,
            &key,
            Method::POST,
            &format!("/pending-actions/{}/reject", reject.id),
            Some(json!({ "note": "flaky" })),
        )
        .await;
        assert_eq!(
            (status, rejected["state"].clone()),
            (200, json!("rejected"))
        );

        // Subscribers, analytics, embeds.
        let (status, subs) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/subscribers/summary"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert!(subs["confirmed"].is_i64() && subs["pending"].is_i64());
        let (status, stats) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/analytics?window_days=7"),
            None,
        )
        .await;
        assert_eq!(
            (status, stats["window_days"].clone()),
            (200, json!(7)),
            "{stats}"
        );
        let (status, body) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/analytics?window_days=91"),
            None,
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (422, "unprocessable")
        );
        let (status, embeds) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/embeds"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let badge_url = embeds["badge_url"].as_str().unwrap();
        assert!(embeds["badge_html"].as_str().unwrap().contains(badge_url));
        assert!(embeds["widget_html"].as_str().unwrap().contains("<img"));
        let badge = reqwest::get(badge_url).await.unwrap();
        assert_eq!(badge.status(), 200);
        assert_eq!(badge.headers()["content-type"], "image/svg+xml");
        assert!(badge.text().await.unwrap().starts_with("<svg"));
        app.stop().await;
    }
);

/// The JSON of an error-free body, for the completeness test.
pub fn paths(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out
}

both_backends!(
    drafts_are_made_listed_published_and_discarded_over_rest,
    |db| async move {
        // Arrange
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        let read = owner_key(&app, false).await;
        let (page, component) = demo_ids(&app.services, "Webhooks").await;
        let incidents = format!("/pages/{page}/incidents");
        let public = || async { app.get("/status/api").await.text().await.unwrap() };
        let draft = |title: &str, notify: bool| {
            json!({ "title": title, "message": "Looking", "notify": notify, "draft": true,
            "affected_components": [{ "component_id": component, "status": "major_outage" }] })
        };

        // A draft must not notify, and a read key cannot draft.
        let (status, e) = post_as(&app, &key, &incidents, Some(draft("Loud", true))).await;
        assert_eq!(status, 422, "{e}");
        let (status, _) = post_as(&app, &read, &incidents, Some(draft("Read", false))).await;
        assert_eq!(status, 403);

        // Made: invisible on the public page and in the active listing, listed among the drafts.
        let (status, made) =
            post_as(&app, &key, &incidents, Some(draft("Queue stuck", false))).await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["draft"], json!(true), "{made}");
        let id = made["incident_id"].as_str().unwrap().to_owned();
        assert!(!public().await.contains("Queue stuck"));
        let (_, active) = get_as(&app, &key, &incidents).await;
        assert!(!active.to_string().contains(&id), "{active}");
        let (status, drafts) = get_as(&app, &read, &format!("/pages/{page}/drafts")).await;
        assert_eq!(status, 200);
        assert_eq!(drafts["incidents"][0]["incident_id"], json!(id), "{drafts}");
        assert_eq!(
            drafts["incidents"][0]["drafted_by"],
            json!(crate::helpers::ADMIN_EMAIL)
        );

        // Publishing needs the choice, a write key, and happens once.
        let publish = format!("/incidents/{id}/publish");
        let (status, _) = post_as(&app, &key, &publish, Some(json!({}))).await;
        assert_eq!(status, 422);
        let (status, _) = post_as(&app, &read, &publish, Some(json!({ "notify": false }))).await;
        assert_eq!(status, 403);
        let (status, done) = post_as(&app, &key, &publish, Some(json!({ "notify": false }))).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            done,
            json!({ "published": true, "notify": false, "subscribers_queued": 0 })
        );
        assert!(public().await.contains("Queue stuck"));
        let (status, again) = post_as(&app, &key, &publish, Some(json!({ "notify": false }))).await;
        assert_eq!(status, 409, "{again}");
        // A published incident is not a draft: discarding it is refused and deletes nothing.
        let (status, _) = post_as(&app, &key, &format!("/incidents/{id}/discard"), None).await;
        assert_eq!(status, 409);
        let (status, _) = get_as(&app, &key, &format!("/incidents/{id}")).await;
        assert_eq!(status, 200);

        // A maintenance draft, discarded.
        let starts = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let ends =
            (time::OffsetDateTime::now_utc() + time::Duration::days(1) + time::Duration::hours(2))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
        let body = json!({ "title": "Quiet upgrade", "starts_at": starts, "ends_at": ends,
        "message": "Planned", "notify": false, "draft": true });
        let (status, m) = post_as(
            &app,
            &key,
            &format!("/pages/{page}/maintenances"),
            Some(body),
        )
        .await;
        assert_eq!(status, 201, "{m}");
        let mid = m["maintenance_id"].as_str().unwrap().to_owned();
        let (_, drafts) = get_as(&app, &key, &format!("/pages/{page}/drafts")).await;
        assert_eq!(
            drafts["maintenances"][0]["maintenance_id"],
            json!(mid),
            "{drafts}"
        );
        let discard = format!("/maintenances/{mid}/discard");
        let (status, _) = post_as(&app, &key, &discard, None).await;
        assert_eq!(status, 204);
        let (status, _) = get_as(&app, &key, &format!("/maintenances/{mid}")).await;
        assert_eq!(status, 404);
        let (status, _) = post_as(&app, &key, &discard, None).await;
        assert_eq!(status, 404);
        let (_, drafts) = get_as(&app, &key, &format!("/pages/{page}/drafts")).await;
        assert_eq!(drafts, json!({ "incidents": [], "maintenances": [] }));
    }
);
