//! Drafts end to end: an assistant saves through the official Rust MCP client over OAuth, the draft
//! stays off the public page and out of the outbox, and a person publishes (once) or discards it in
//! the admin pages.

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::{json, Value};
use statusgate::domain::{ComponentStatus, IncidentStage, Message, NewIncidentUpdate};
use statusgate::ids::{ComponentId, PageId};
use statusgate::service::Services;

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};
use crate::mcp_http::write_token_with;
use crate::monitors::owner;

type Client = RunningService<RoleClient, ()>;

/// Webhook subscribers on loopback are allowed; the delivery worker and scheduler stay idle, so
/// everything queued can be counted.
async fn spawn(db: TestDb) -> TestApp {
    TestApp::spawn_with(
        db,
        |c| {
            c.delivery.allow_private_targets = true;
            c.delivery.tick_ms = 600_000;
            c.monitors.scheduler_tick_ms = 600_000;
        },
        std::sync::Arc::new(statusgate::clock::SystemClock),
    )
    .await
}

/// A server whose demo page has two confirmed webhook subscribers; the page and its "Dashboard" component.
async fn arrange(db: TestDb) -> (TestApp, PageId, String) {
    let app = spawn(db).await;
    let (page_id, component) = demo_ids(&app.services, "Dashboard").await;
    two_subscribers(&app.services).await;
    (app, PageId::parse(&page_id).unwrap(), component)
}

/// Two confirmed webhook subscribers on the demo page.
async fn two_subscribers(s: &Services) {
    let r = crate::loopback::receiver(0, false).await;
    for n in 0..2 {
        let url = format!("{}?n={n}", r.url);
        s.subscribe(
            &crate::notifications::visitor(),
            "api",
            statusgate::domain::subscriber::SubscriberKind::Webhook,
            &url,
        )
        .await
        .unwrap();
    }
}

/// Notifications queued for updates (not subscription confirmations).
async fn queued(s: &Services, page: &PageId) -> usize {
    let me = owner(s).await;
    s.deliveries(&me, page, Some(200))
        .await
        .unwrap()
        .iter()
        .filter(|n| n.source_id != "confirm")
        .count()
}

async fn status_of(app: &TestApp, page: &PageId, component: &str) -> ComponentStatus {
    let st = &app.store;
    let all = st.components(page).await.unwrap();
    all.iter()
        .find(|c| c.id.as_str() == component)
        .unwrap()
        .status
}

async fn client(app: &TestApp) -> Client {
    let token = write_token_with(app, &["mcp.incidents.write", "mcp.maintenances.write"]).await;
    let config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp")).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .unwrap()
}

async fn tool(c: &Client, name: &str, args: Value) -> CallToolResult {
    let params: CallToolRequestParams =
        serde_json::from_value(json!({ "name": name, "arguments": args })).unwrap();
    c.call_tool(params).await.unwrap()
}

fn is_error(r: &CallToolResult) -> bool {
    r.is_error == Some(true)
}

fn text_of(r: &CallToolResult) -> String {
    serde_json::to_string(&r.content).unwrap()
}

/// The draft shows in the `filter: "draft"` listing of `list` and not in its default one.
async fn only_among_drafts(c: &Client, list: &str, filter: &str, page_id: &str, id: &str) {
    let default = tool(c, list, json!({ "page_id": page_id })).await;
    assert!(!text_of(&default).contains(id), "{list}");
    let drafts = tool(c, list, json!({ "page_id": page_id, filter: "draft" })).await;
    assert!(text_of(&drafts).contains(id), "{list} draft");
}

/// The call is a tool error (`isError`) whose text mentions `needle`.
async fn refused(c: &Client, name: &str, args: Value, needle: &str) {
    let r = tool(c, name, args).await;
    assert!(
        is_error(&r) && text_of(&r).contains(needle),
        "{name}: {}",
        text_of(&r)
    );
}

async fn public_html(app: &TestApp) -> String {
    app.get("/status/api").await.text().await.unwrap()
}

async fn publish(app: &TestApp, path: &str, notify: Option<&str>) -> reqwest::Response {
    let csrf = app.csrf_on("/admin").await;
    let mut form = vec![("csrf", csrf.as_str())];
    if let Some(n) = notify {
        form.push(("notify", n));
    }
    app.post_form(path, &form).await
}

async fn audit_detail(app: &TestApp, action: &str) -> Value {
    let st = &app.store;
    let s = &app.services;
    let org = s.org_by_slug("acme").await.unwrap();
    let all = st.audit_entries(&org.id, None, 50).await.unwrap();
    let row = all
        .iter()
        .find(|a| a.action == action)
        .unwrap_or_else(|| panic!("no {action} in the audit log"));
    serde_json::from_str(&row.detail).unwrap()
}

both_backends!(
    an_assistants_draft_incident_stays_private_until_a_person_publishes_it_with_notify,
    |db: TestDb| async move {
        // Arrange
        let (app, page, component) = arrange(db).await;
        let s = &app.services;
        let st = &app.store;
        let page_id = page.to_string();
        let before = status_of(&app, &page, &component).await;
        assert_ne!(before, ComponentStatus::MajorOutage);
        let c = client(&app).await;
        let args = json!({
            "page_id": page_id, "title": "Checkout failing", "stage": "investigating",
            "message": "Payments are failing for some customers.",
            "affected_components": [{ "component_id": component, "status": "major_outage" }],
            "notify": false, "draft": true,
        });

        // Act: the assistant saves a draft.
        let r = tool(&c, "create_incident", args.clone()).await;

        // Assert: it says so, and nothing public or outbound happened.
        assert!(!is_error(&r), "{}", text_of(&r));
        let out = r.structured_content.clone().unwrap();
        assert_eq!(out["draft"], true);
        assert_eq!(out["published"], false);
        assert_eq!(out["subscribers_queued"], 0);
        assert!(out["summary"].as_str().unwrap().contains("draft"), "{out}");
        assert!(text_of(&r).contains("draft"));
        let id = out["incident_id"].as_str().unwrap().to_owned();
        assert!(!public_html(&app).await.contains("Checkout failing"));
        assert_eq!(queued(s, &page).await, 0);
        assert_eq!(status_of(&app, &page, &component).await, before);
        let audit = audit_detail(&app, "incident.created").await;
        assert_eq!(audit["draft"], true);
        assert_eq!(audit["tool"], "create_incident");

        // The assistant sees its draft, marked, but not among the active incidents.
        let one = tool(
            &c,
            "get_incident",
            json!({ "page_id": page_id, "incident_id": id }),
        )
        .await;
        assert_eq!(one.structured_content.unwrap()["draft"], true);
        only_among_drafts(&c, "list_incidents", "status", &page_id, &id).await;

        // A draft takes no updates, and a draft that notifies is refused.
        let update = json!({
            "page_id": page_id, "incident_id": id, "stage": "identified",
            "message": "Found it.", "notify": false,
        });
        refused(&c, "add_incident_update", update, "publish").await;
        let mut loud = args.clone();
        loud["notify"] = json!(true);
        refused(&c, "create_incident", loud, "notify").await;
        assert_eq!(st.draft_incidents(&page).await.unwrap().len(), 1);

        // The admin dashboard lists it with the assistant that drafted it (the owner who approved the
        // connection is still signed in).
        let dash = app.get("/admin").await.text().await.unwrap();
        assert!(
            dash.contains("Drafts") && dash.contains("Checkout failing"),
            "{dash}"
        );
        assert!(dash.contains("via Test client"), "{dash}");

        // Publishing needs an explicit notify choice.
        let path = format!("/admin/incidents/{id}/publish");
        assert_eq!(publish(&app, &path, None).await.status(), 400);
        assert!(!public_html(&app).await.contains("Checkout failing"));

        // Act: publish with notify.
        let r = publish(&app, &path, Some("true")).await;

        // Assert: public, one notification per confirmed subscriber, the component status applied.
        assert_eq!(r.status(), 303);
        assert!(public_html(&app).await.contains("Checkout failing"));
        assert_eq!(queued(s, &page).await, 2);
        assert_eq!(
            status_of(&app, &page, &component).await,
            ComponentStatus::MajorOutage
        );
        let audit = audit_detail(&app, "incident.published").await;
        assert_eq!(audit["notify"], true);
        assert_eq!(audit["subscribers_queued"], 2);
        assert_eq!(audit["drafted_via"], "Test client");
        let one = tool(
            &c,
            "get_incident",
            json!({ "page_id": page_id, "incident_id": id }),
        )
        .await;
        assert_eq!(one.structured_content.unwrap()["draft"], false);

        // A second publish is refused and queues nothing more.
        assert_eq!(publish(&app, &path, Some("true")).await.status(), 409);
        assert_eq!(queued(s, &page).await, 2);
        let _ = c.cancel().await;
    }
);

both_backends!(
    an_assistants_draft_maintenance_is_private_until_published_quietly,
    |db: TestDb| async move {
        let (app, page, _) = arrange(db).await;
        let s = &app.services;
        let page_id = page.to_string();
        let c = client(&app).await;
        let start = time::OffsetDateTime::now_utc() + time::Duration::days(2);
        let rfc = |t: time::OffsetDateTime| statusgate::clock::rfc3339(t);
        let r = tool(
            &c,
            "schedule_maintenance",
            json!({
                "page_id": page_id, "title": "Cache cluster swap",
                "starts_at": rfc(start), "ends_at": rfc(start + time::Duration::hours(2)),
                "message": "Swapping the cache cluster.", "notify": false, "draft": true,
            }),
        )
        .await;
        assert!(!is_error(&r), "{}", text_of(&r));
        let out = r.structured_content.unwrap();
        assert_eq!(
            (out["draft"].clone(), out["published"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(out["subscribers_queued"], 0);
        let id = out["maintenance_id"].as_str().unwrap().to_owned();
        assert!(!public_html(&app).await.contains("Cache cluster swap"));
        only_among_drafts(&c, "list_maintenances", "filter", &page_id, &id).await;
        let update = json!({
            "page_id": page_id, "maintenance_id": id, "state": "in_progress",
            "message": "Starting.", "notify": false,
        });
        refused(&c, "add_maintenance_update", update, "publish").await;

        let path = format!("/admin/maintenances/{id}/publish");
        assert_eq!(publish(&app, &path, Some("false")).await.status(), 303);

        assert!(public_html(&app).await.contains("Cache cluster swap"));
        assert_eq!(queued(s, &page).await, 0, "published quietly");
        let audit = audit_detail(&app, "maintenance.published").await;
        assert_eq!(audit["notify"], false);
        assert_eq!(audit["subscribers_queued"], 0);
        assert_eq!(publish(&app, &path, Some("true")).await.status(), 409);
        assert_eq!(queued(s, &page).await, 0);
        let _ = c.cancel().await;
    }
);

/// A draft saved directly through the services, as a signed-in person would through the API.
async fn person_draft(s: &Services, page: &PageId, component: &str) -> String {
    let me = owner(s).await;
    let first = NewIncidentUpdate {
        stage: IncidentStage::Identified,
        message: Message::parse("message", "Queue consumers are stuck.").unwrap(),
        affected: vec![(
            ComponentId::parse(component).unwrap(),
            ComponentStatus::PartialOutage,
        )],
        notify: false,
    };
    let (i, _) = s
        .draft_incident(&me, page, "Stuck queue", first)
        .await
        .unwrap();
    i.id.to_string()
}

both_backends!(
    two_publishes_at_once_publish_one_and_queue_notifications_once,
    |db: TestDb| async move {
        let (app, page, component) = arrange(db).await;
        let s = &app.services;
        let st = &app.store;
        let id = person_draft(s, &page, &component).await;
        // An assistant drafts; it never publishes, even with the owner's role behind it.
        let mut assistant = owner(s).await;
        assistant.actor = crate::helpers::mcp_actor(s, &assistant.user_id, None).await;
        let incident_id = statusgate::ids::IncidentId::parse(&id).unwrap();
        let refused = s.publish_incident(&assistant, &incident_id, false).await;
        assert!(
            matches!(
                refused,
                Err(statusgate::service::ServiceError::Forbidden(_))
            ),
            "{refused:?}"
        );
        app.sign_in_as_owner().await;
        let path = format!("/admin/incidents/{id}/publish");

        let (a, b) = tokio::join!(
            publish(&app, &path, Some("true")),
            publish(&app, &path, Some("true"))
        );

        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 409]);
        assert_eq!(queued(s, &page).await, 2, "one per subscriber, once");
        let org = s.org_by_slug("acme").await.unwrap();
        let published = st
            .audit_entries(&org.id, None, 50)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.action == "incident.published")
            .count();
        assert_eq!(published, 1);
    }
);

both_backends!(
    discarding_a_draft_deletes_it_audited_and_leaves_published_items_alone,
    |db: TestDb| async move {
        let (app, page, component) = arrange(db).await;
        let s = &app.services;
        let st = &app.store;
        let before = status_of(&app, &page, &component).await;
        let id = person_draft(s, &page, &component).await;
        app.sign_in_as_owner().await;
        let draft_page = app.get(&format!("/admin/incidents/{id}")).await;
        assert!(draft_page.text().await.unwrap().contains("Discard"));

        let csrf = app.csrf_on("/admin").await;
        let path = format!("/admin/incidents/{id}/discard");
        let r = app.post_form(&path, &[("csrf", &csrf)]).await;

        assert_eq!(r.status(), 303);
        assert_eq!(
            app.get(&format!("/admin/incidents/{id}")).await.status(),
            404
        );
        assert!(st.draft_incidents(&page).await.unwrap().is_empty());
        assert_eq!(status_of(&app, &page, &component).await, before);
        let audit = audit_detail(&app, "incident.discarded").await;
        assert_eq!(audit["drafted_via"], "web");
        assert_eq!(app.post_form(&path, &[("csrf", &csrf)]).await.status(), 404);
        assert_eq!(queued(s, &page).await, 0);

        // A published incident cannot be discarded; a form without the CSRF token changes nothing.
        let active = st.active_incidents(&page).await.unwrap();
        let live = format!("/admin/incidents/{}/discard", active[0].id);
        assert_eq!(app.post_form(&live, &[("csrf", &csrf)]).await.status(), 409);
        let other = person_draft(s, &page, &component).await;
        let path = format!("/admin/incidents/{other}/discard");
        assert_eq!(
            app.post_form(&path, &[("csrf", "nope")]).await.status(),
            403
        );
        assert_eq!(st.draft_incidents(&page).await.unwrap().len(), 1);
    }
);
