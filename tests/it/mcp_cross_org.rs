//! One person in two organisations: a connector approved for one of them reaches nothing of the other,
//! through any tool, resource, template or prompt, and only its own organisation's switches apply.

use serde_json::{json, Value};
use statusgate::domain::connector::OrgSettings;
use statusgate::domain::Role;
use statusgate::ids::{OrgId, PageId};
use statusgate::mcp::{tools, McpCaller, McpScope};
use statusgate::service::pages::NewComponent;
use statusgate::service::Principal;

use crate::both_backends;
use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL};
use crate::oauth::{access_from, authorize_path, consent, pkce, register_public, CALLBACK};

const ACCEPT: &str = "application/json, text/event-stream";

/// What organisation B holds, by id, for the connector of organisation A to be pointed at.
struct Other {
    org: OrgId,
    page: String,
    component: String,
    incident: String,
    maintenance: String,
}

async fn settings(app: &TestApp, org: &OrgId, f: impl FnOnce(&mut OrgSettings)) {
    let st = &app.store;
    let mut v = st.org_settings(org).await.unwrap();
    f(&mut v);
    let mut tx = st.begin().await.unwrap();
    st.put_org_settings(&mut tx, org, &v, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The demo owner also owns organisation "zeta", with a page, an open incident and a maintenance.
async fn second_org(app: &TestApp) -> Other {
    let s = &app.services;
    let st = &app.store;
    let user = st.user_credentials(ADMIN_EMAIL).await.unwrap().0;
    let org = s.create_org("zeta", "Zeta Ltd").await.unwrap();
    let mut tx = st.begin().await.unwrap();
    st.upsert_membership(
        &mut tx,
        &org.id,
        &user.id,
        Role::Owner,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let person = Principal::user(user.id.clone());
    let page = s
        .create_page(
            &person,
            &org.id,
            "zeta",
            "zeta",
            "Zeta Secret Page",
            &[NewComponent {
                name: "Zeta Core",
                group: None,
            }],
        )
        .await
        .unwrap();
    // The person acting in their own browser session sets up B's data through the same tools.
    let as_person = McpCaller {
        principal: person,
        scopes: McpScope::ALL.to_vec(),
        allowed_tools: None,
    };
    let run = |name: &'static str, args: Value| {
        let caller = as_person.clone();
        async move {
            tools::call(s, &caller, &app.base, name, args.as_object().unwrap())
                .await
                .unwrap()
        }
    };
    let summary = run("get_page_summary", json!({ "page_id": page.id })).await;
    let component = summary["components"][0]["component_id"]
        .as_str()
        .or_else(|| summary["components"][0]["id"].as_str())
        .unwrap()
        .to_owned();
    let incident = run(
        "create_incident",
        json!({ "page_id": page.id, "title": "Zeta outage", "stage": "investigating",
                "message": "Zeta is down", "notify": false }),
    )
    .await;
    let start = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let fmt = &time::format_description::well_known::Rfc3339;
    let maintenance = run(
        "schedule_maintenance",
        json!({ "page_id": page.id, "title": "Zeta upgrade", "message": "Zeta work",
                "starts_at": start.format(fmt).unwrap(),
                "ends_at": (start + time::Duration::hours(1)).format(fmt).unwrap(), "notify": false }),
    )
    .await;
    let id_of = |v: &Value, k: &str| {
        v[k].as_str()
            .or_else(|| v["id"].as_str())
            .unwrap_or_else(|| panic!("no {k} in {v}"))
            .to_owned()
    };
    Other {
        org: org.id,
        page: page.id.to_string(),
        component,
        incident: id_of(&incident, "incident_id"),
        maintenance: id_of(&maintenance, "maintenance_id"),
    }
}

/// An access token for a connector the owner approves for the demo organisation, with every scope.
async fn grant_for_demo_org(app: &TestApp, demo: &OrgId) -> String {
    app.sign_in_as_owner().await;
    let client = register_public(app, CALLBACK).await;
    let p = pkce();
    let all: Vec<&str> = McpScope::ALL.iter().map(|s| s.as_str()).collect();
    let path = authorize_path(
        &client,
        CALLBACK,
        &p.challenge,
        &[("scope", &all.join(" "))],
    );
    let to = consent(app, &path, "approve", |f| {
        f.retain(|(k, _)| k != "org");
        f.push(("org".into(), demo.to_string()));
        f.extend(
            McpScope::ALL
                .iter()
                .filter(|s| s.is_write())
                .map(|s| ("grant_scope".into(), s.as_str().into())),
        );
    })
    .await;
    access_from(app, &client, &to, &p.verifier).await
}

async fn rpc(app: &TestApp, access: &str, method: &str, params: Value) -> Value {
    let r = crate::oauth::plain()
        .post(app.url("/mcp"))
        .header("accept", ACCEPT)
        .bearer_auth(access)
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    // A JSON answer or one SSE event carrying it.
    let json_text = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or(&text)
        .to_owned();
    let v: Value = serde_json::from_str(&json_text)
        .unwrap_or_else(|_| panic!("{method}: HTTP {status}: {text}"));
    assert!(
        !text.contains("Zeta"),
        "{method} {params} showed the other organisation's data: {text}"
    );
    v
}

fn refused(v: &Value) -> bool {
    v.get("error").is_some() || v["result"]["isError"] == json!(true)
}

both_backends!(
    a_connector_grant_reaches_nothing_of_the_persons_other_organisation,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let demo = s.org_by_slug("acme").await.unwrap().id;
        let b = second_org(&app).await;
        // A allows writes; B refuses writes and self-registered applications.
        settings(&app, &demo, |v| v.allow_write = true).await;
        settings(&app, &b.org, |v| {
            v.allow_write = false;
            v.allow_dynamic = false;
        })
        .await;
        let access = grant_for_demo_org(&app, &demo).await;

        let pages = rpc(
            &app,
            &access,
            "tools/call",
            json!({ "name": "list_status_pages", "arguments": {} }),
        )
        .await;
        let listed = pages["result"]["structuredContent"]["pages"]
            .as_array()
            .unwrap()
            .clone();
        assert!(!listed.is_empty(), "{pages}");
        assert!(listed.iter().all(|p| p["page_id"] != json!(b.page)));

        let start = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let end =
            (time::OffsetDateTime::now_utc() + time::Duration::days(2) + time::Duration::hours(1))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
        let (p, i, m) = (&b.page, &b.incident, &b.maintenance);
        let calls = [
            ("get_page_summary", json!({ "page_id": p })),
            ("list_incidents", json!({ "page_id": p })),
            ("get_incident", json!({ "page_id": p, "incident_id": i })),
            ("list_maintenances", json!({ "page_id": p })),
            ("get_analytics_summary", json!({ "page_id": p })),
            ("list_beats", json!({ "page_id": p })),
            ("list_recent_beat_failures", json!({ "page_id": p })),
            (
                "create_incident",
                json!({ "page_id": p, "title": "Planted", "stage": "investigating",
                "message": "planted", "notify": false, "affected_components": [] }),
            ),
            (
                "add_incident_update",
                json!({ "page_id": p, "incident_id": i, "stage": "resolved",
                "message": "planted", "notify": false }),
            ),
            (
                "schedule_maintenance",
                json!({ "page_id": p, "title": "Planted", "message": "planted",
                "starts_at": start, "ends_at": end, "notify": false }),
            ),
            (
                "add_maintenance_update",
                json!({ "page_id": p, "maintenance_id": m, "state": "cancelled",
                "message": "planted", "notify": false }),
            ),
        ];
        for (name, args) in calls {
            let v = rpc(
                &app,
                &access,
                "tools/call",
                json!({ "name": name, "arguments": args }),
            )
            .await;
            assert!(refused(&v), "{name} reached organisation B: {v}");
            assert!(v.to_string().contains("not found"), "{name}: {v}");
        }

        let c = &b.component;
        for uri in [
            format!("statusgate://pages/{p}/summary"),
            format!("statusgate://pages/{p}/hierarchy/tree"),
            format!("statusgate://pages/{p}/status-definitions"),
            format!("statusgate://pages/{p}/incidents/active"),
            format!("statusgate://pages/{p}/incidents/{i}"),
            format!("statusgate://pages/{p}/incidents/{i}/updates"),
            format!("statusgate://pages/{p}/maintenances/upcoming"),
            format!("statusgate://pages/{p}/maintenances/{m}"),
            format!("statusgate://pages/{p}/analytics/summary"),
            format!("statusgate://pages/{p}/beats"),
            format!("statusgate://pages/{p}/beats/pending-actions"),
            format!("statusgate://pages/{p}/beats/{c}/recent-events"),
        ] {
            let v = rpc(&app, &access, "resources/read", json!({ "uri": uri })).await;
            assert!(refused(&v), "{uri} was read: {v}");
        }
        let listed = rpc(&app, &access, "resources/list", json!({})).await;
        assert!(!listed.to_string().contains(p.as_str()), "{listed}");

        for (name, args) in [
            (
                "draft_customer_incident",
                json!({ "page_id": p, "what_happened": "x" }),
            ),
            (
                "review_existing_incident_state",
                json!({ "page_id": p, "incident_id": i }),
            ),
            (
                "plan_maintenance_window",
                json!({ "page_id": p, "work": "x" }),
            ),
            ("summarize_current_beat_health", json!({ "page_id": p })),
        ] {
            let v = rpc(
                &app,
                &access,
                "prompts/get",
                json!({ "name": name, "arguments": args }),
            )
            .await;
            assert!(refused(&v), "prompt {name} read organisation B: {v}");
        }

        // Nothing was written in B, and B's log names no connector.
        let person = Principal::user(st.user_credentials(ADMIN_EMAIL).await.unwrap().0.id);
        let b_page = PageId::parse(&b.page).unwrap();
        assert_eq!(s.active_incidents(&person, &b_page).await.unwrap().len(), 1);
        let log = s.audit_log(&person, &b.org, None, 0, 100).await.unwrap();
        assert!(
            log.iter()
                .all(|e| e.actor_type != statusgate::domain::ActorType::Mcp),
            "an MCP action was logged in B"
        );

        // B's switches neither stop A's grant nor widen it.
        settings(&app, &b.org, |v| {
            v.enabled = false;
        })
        .await;
        let tools = rpc(&app, &access, "tools/list", json!({})).await;
        assert!(tools.to_string().contains("create_incident"), "{tools}");
        settings(&app, &b.org, |v| {
            v.enabled = true;
            v.allow_write = true;
        })
        .await;
        settings(&app, &demo, |v| v.allow_write = false).await;
        let tools = rpc(&app, &access, "tools/list", json!({})).await;
        assert!(tools.to_string().contains("list_incidents"), "{tools}");
        assert!(!tools.to_string().contains("create_incident"), "{tools}");
        let r = crate::oauth::plain()
            .get(app.url("/mcp/tools"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        let listed = r.text().await.unwrap();
        assert!(!listed.contains("create_incident"), "{listed}");
    }
);

both_backends!(
    unticked_tools_close_the_prompts_and_resources_that_show_the_same,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let demo = app.services.org_by_slug("acme").await.unwrap().id;
        app.sign_in_as_owner().await;
        let client = register_public(&app, CALLBACK).await;
        let p = pkce();
        let path = authorize_path(
            &client,
            CALLBACK,
            &p.challenge,
            &[("scope", "mcp.pages.read mcp.incidents.read mcp.beats.read")],
        );
        // The person unticks list_beats and get_incident.
        let to = consent(&app, &path, "approve", |f| {
            f.retain(|(k, v)| !(k == "grant_tool" && (v == "list_beats" || v == "get_incident")));
            f.retain(|(k, _)| k != "org");
            f.push(("org".into(), demo.to_string()));
        })
        .await;
        let access = access_from(&app, &client, &to, &p.verifier).await;
        let pages = rpc(
            &app,
            &access,
            "tools/call",
            json!({ "name": "list_status_pages", "arguments": {} }),
        )
        .await;
        let page = pages["result"]["structuredContent"]["pages"][0]["page_id"]
            .as_str()
            .unwrap()
            .to_owned();

        let tools = rpc(&app, &access, "tools/list", json!({}))
            .await
            .to_string();
        assert!(!tools.contains("\"list_beats\""), "{tools}");
        assert!(tools.contains("list_recent_beat_failures"), "{tools}");
        // Calling the unticked tool anyway: the refusal names it and says to reconnect and tick it.
        let call = rpc(
            &app,
            &access,
            "tools/call",
            json!({ "name": "list_beats", "arguments": { "page_id": page } }),
        )
        .await;
        assert_eq!(
            call["error"]["data"]["step"],
            json!("reconnect_and_tick_tool"),
            "{call}"
        );
        assert!(
            call["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`list_beats` was left unticked"),
            "{call}"
        );

        let prompts = rpc(&app, &access, "prompts/list", json!({}))
            .await
            .to_string();
        assert!(prompts.contains("draft_customer_incident"), "{prompts}");
        for gone in [
            "summarize_current_beat_health",
            "review_pending_beat_action",
            "draft_incident_update",
        ] {
            assert!(!prompts.contains(gone), "{gone} offered: {prompts}");
        }
        let v = rpc(
            &app,
            &access,
            "prompts/get",
            json!({ "name": "review_pending_beat_action", "arguments": { "page_id": page } }),
        )
        .await;
        assert!(refused(&v), "{v}");

        let beats = rpc(
            &app,
            &access,
            "resources/read",
            json!({ "uri": format!("statusgate://pages/{page}/beats") }),
        )
        .await;
        assert!(refused(&beats), "{beats}");
        assert!(beats.to_string().contains("list_beats"), "{beats}");
        let failures = rpc(
            &app,
            &access,
            "resources/read",
            json!({ "uri": format!("statusgate://pages/{page}/beats/recent-failures") }),
        )
        .await;
        assert!(!refused(&failures), "{failures}");
        let templates = rpc(&app, &access, "resources/templates/list", json!({}))
            .await
            .to_string();
        assert!(!templates.contains("/beats\""), "{templates}");
        assert!(!templates.contains("{incident_id}\""), "{templates}");
        assert!(templates.contains("recent-failures"), "{templates}");
    }
);
