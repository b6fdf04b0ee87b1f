//! `statusgate-page-mcp` as a child process driven by the official Rust client over stdio, against a
//! real statusgate: start-up refusals, read-only mode, the allowed-tools filter, every resource,
//! prompt and tool once, and the audit rows the tools leave.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, ReadResourceRequestParams,
};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use statusgate::domain::monitor::{ActionKind, ActionState, PendingAction};
use statusgate::domain::ComponentStatus;
use statusgate::ids::{ComponentId, PageId, PendingActionId};
use statusgate::service::Principal;

use crate::api_support::{acme, json, key_for, owner, owner_key, spawn};
use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_statusgate-page-mcp");

fn command(env: &[(&str, &str)], args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .envs(env.iter().copied())
        .args(args)
        .kill_on_drop(true);
    cmd
}

/// Runs the binary to its end with nothing on stdin: (exit code, stdout, stderr).
async fn run_to_exit(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = command(env, args);
    cmd.stdin(Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("exits in time")
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a refusal at start-up: exit 2, nothing on stdout, one line on stderr containing `says`.
async fn refused(env: &[(&str, &str)], args: &[&str], says: &str) {
    let (code, stdout, stderr) = run_to_exit(env, args).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "stdout carries MCP only: {stdout}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("statusgate-page-mcp: "), "{stderr}");
    assert!(stderr.contains(says), "`{says}` not in: {stderr}");
}

/// Spawns the server and connects the SDK client to its stdin/stdout.
pub(crate) async fn connect(
    env: &[(&str, &str)],
) -> (RunningService<RoleClient, ()>, tokio::process::Child) {
    let mut cmd = command(env, &[]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let stdin = child.stdin.take().expect("stdin");
    let client = ().serve((stdout, stdin)).await.expect("initialises");
    (client, child)
}

pub(crate) async fn call(
    client: &RunningService<RoleClient, ()>,
    name: &str,
    args: Value,
) -> CallToolResult {
    let params: CallToolRequestParams =
        serde_json::from_value(json!({ "name": name, "arguments": args })).unwrap();
    client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A successful call's structured content.
pub(crate) async fn ok(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> Value {
    let r = call(client, name, args).await;
    assert_ne!(r.is_error, Some(true), "{name}: {r:?}");
    r.structured_content
        .unwrap_or_else(|| panic!("{name}: structured output"))
}

async fn read(client: &RunningService<RoleClient, ()>, uri: &str) -> Value {
    let params: ReadResourceRequestParams = serde_json::from_value(json!({ "uri": uri })).unwrap();
    let r = client
        .read_resource(params)
        .await
        .unwrap_or_else(|e| panic!("{uri}: {e}"));
    let text = serde_json::to_value(&r.contents[0]).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    serde_json::from_str(&text).unwrap()
}

fn base(app: &TestApp) -> String {
    app.base.clone()
}

both_backends!(
    page_mcp_start_up_refusals_are_one_line_and_exit_2,
    |db: TestDb| async move {
        let app = spawn(db).await;
        let url = base(&app);
        let org_wide = owner_key(&app, true).await;
        let u = url.as_str();

        refused(&[("STATUSGATE_BASE_URL", u)], &[], "STATUSGATE_API_TOKEN").await;
        refused(
            &[("STATUSGATE_API_TOKEN", "sg_x")],
            &[],
            "STATUSGATE_BASE_URL",
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", "sg_not_a_real_key"),
            ],
            &[],
            &format!("the API token was refused by {u}"),
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", "http://127.0.0.1:1"),
                ("STATUSGATE_API_TOKEN", &org_wide),
            ],
            &[],
            "could not be reached",
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", &org_wide),
                ("STATUSGATE_PAGE_ID", "pg_0000000000000000"),
            ],
            &[],
            "page pg_0000000000000000 was not found",
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", &org_wide),
            ],
            &["--org-slug", "acme", "--public-slug", "nope"],
            "page acme/nope was not found",
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", &org_wide),
            ],
            &[],
            "no page to serve",
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", &org_wide),
                (
                    "STATUSGATE_MCP_ALLOWED_TOOLS",
                    "create_incident,drop_tables",
                ),
            ],
            &[],
            "unknown tool `drop_tables`",
        )
        .await;
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", &org_wide),
                ("STATUSGATE_ORG_ID", "org_other"),
            ],
            &["--public-slug", "api", "--org-slug", "acme"],
            "not STATUSGATE_ORG_ID org_other",
        )
        .await;
        // A flag wins over its variable: the good key in the environment, a bad one on the command line.
        refused(
            &[
                ("STATUSGATE_BASE_URL", u),
                ("STATUSGATE_API_TOKEN", &org_wide),
            ],
            &["--api-token", "sg_wrong"],
            "the API token was refused",
        )
        .await;
        refused(&[], &["--no-such-flag"], "--no-such-flag").await;
        app.stop().await;
    }
);

both_backends!(
    page_mcp_read_only_serves_every_resource_and_prompt_and_no_tools,
    |db: TestDb| async move {
        // Arrange: an org-wide write key, read-only by configuration, page found by its slugs.
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        let (page, _) = demo_ids(&app.services, "Authentication").await;
        let url = base(&app);
        let (client, _child) = connect(&[
            ("STATUSGATE_BASE_URL", &url),
            ("STATUSGATE_API_TOKEN", &key),
            ("STATUSGATE_ORG_SLUG", "acme"),
            ("STATUSGATE_PAGE_PUBLIC_SLUG", "api"),
            ("STATUSGATE_MCP_READ_ONLY", "true"),
        ])
        .await;

        // Act + Assert: no tools, every listed resource reads, every prompt builds.
        assert!(client.list_all_tools().await.unwrap().is_empty());
        let info = client.peer_info().unwrap();
        assert!(info
            .instructions
            .as_deref()
            .unwrap_or("")
            .contains("read-only"));
        let resources = client.list_all_resources().await.unwrap();
        assert_eq!(resources.len(), 12);
        for r in &resources {
            let v = read(&client, &r.uri).await;
            assert!(v.is_object(), "{}: {v}", r.uri);
        }
        let summary = read(&client, "statusgate://page/summary").await;
        assert_eq!(summary["page_id"], page.as_str());
        let templates = client.list_all_resource_templates().await.unwrap();
        assert_eq!(templates.len(), 7);

        // The parameterised forms, with an incident and a maintenance to point at.
        let (_, inc) = json(
            &app,
            &key,
            Method::POST,
            &format!("/pages/{page}/incidents"),
            Some(json!({ "title": "Slow logins", "message": "Looking", "notify": false })),
        )
        .await;
        let inc = inc["incident_id"].as_str().unwrap().to_owned();
        let start = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let (_, m) = json(&app, &key, Method::POST, &format!("/pages/{page}/maintenances"),
            Some(json!({ "title": "DB upgrade", "starts_at": rfc(start), "ends_at": rfc(start + time::Duration::hours(1)), "message": "Upgrading", "notify": false }))).await;
        let m = m["maintenance_id"].as_str().unwrap().to_owned();
        let one = read(&client, &format!("statusgate://page/incidents/{inc}")).await;
        assert_eq!(one["title"], "Slow logins");
        let updates = read(
            &client,
            &format!("statusgate://page/incidents/{inc}/updates?limit=500"),
        )
        .await;
        assert_eq!(updates["updates"].as_array().unwrap().len(), 1);
        assert!(
            read(&client, &format!("statusgate://page/maintenances/{m}")).await["updates"]
                .is_array()
        );
        assert!(read(
            &client,
            &format!("statusgate://page/maintenances/{m}/updates?limit=5")
        )
        .await["updates"]
            .is_array());
        for f in ["active", "upcoming", "past", "scheduled"] {
            let list = read(
                &client,
                &format!("statusgate://page/maintenances?filter={f}"),
            )
            .await;
            assert!(list["items"].is_array(), "{f}: {list}");
        }
        let upcoming = read(&client, "statusgate://page/maintenances?filter=upcoming").await;
        assert!(upcoming.to_string().contains(&m));
        assert!(read(
            &client,
            "statusgate://page/analytics/summary?window_days=365"
        )
        .await
        .is_object());
        let beats = read(&client, "statusgate://page/beats").await;
        let mon = beats["items"][0]["monitor_id"].as_str().unwrap().to_owned();
        let events = read(
            &client,
            &format!("statusgate://page/beats/{mon}/recent-events?limit=3"),
        )
        .await;
        assert!(events["items"].is_array());
        let bad: ReadResourceRequestParams = serde_json::from_value(
            json!({ "uri": "statusgate://page/incidents/inc_0000000000000000" }),
        )
        .unwrap();
        assert!(client.read_resource(bad).await.is_err());

        let prompts = client.list_all_prompts().await.unwrap();
        assert_eq!(prompts.len(), 8);
        for p in &prompts {
            let params: GetPromptRequestParams = serde_json::from_value(json!({
                "name": p.name,
                "arguments": { "incident_id": inc, "maintenance_id": m, "what_happened": "errors",
                    "change": "title", "work": "upgrade", "progress": "half done", "resolution": "fixed" },
            }))
            .unwrap();
            let got = client
                .get_prompt(params)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(!got.messages.is_empty(), "{}", p.name);
        }
        let _ = client.cancel().await;
        app.stop().await;
    }
);

both_backends!(
    page_mcp_publishes_only_allowed_tools_and_none_for_a_read_only_key,
    |db: TestDb| async move {
        let app = spawn(db).await;
        let (page, _) = demo_ids(&app.services, "Authentication").await;
        let url = base(&app);
        let write = owner_key(&app, true).await;
        let (client, _child) = connect(&[
            ("STATUSGATE_BASE_URL", &url),
            ("STATUSGATE_API_TOKEN", &write),
            ("STATUSGATE_PAGE_ID", &page),
            (
                "STATUSGATE_MCP_ALLOWED_TOOLS",
                "create_incident,add_incident_update",
            ),
        ])
        .await;
        let mut names: Vec<String> = client
            .list_all_tools()
            .await
            .unwrap()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["add_incident_update", "create_incident"]);
        let params: CallToolRequestParams = serde_json::from_value(
            json!({ "name": "delete_incident", "arguments": { "incident_id": "inc_1" } }),
        )
        .unwrap();
        assert!(
            client.call_tool(params).await.is_err(),
            "a hidden tool is unknown"
        );
        // An organisation-wide key reaches other pages; this server still acts on its own only.
        let other = app
            .services
            .create_page(
                &Principal::user(owner(&app).await),
                &acme(&app).await,
                "web",
                "web",
                "Website",
                &[],
            )
            .await
            .unwrap();
        let (_, elsewhere) = json(
            &app,
            &write,
            Method::POST,
            &format!("/pages/{}/incidents", other.id),
            Some(json!({ "title": "Elsewhere", "message": "m", "notify": false })),
        )
        .await;
        let elsewhere = elsewhere["incident_id"].as_str().unwrap().to_owned();
        let r = call(
            &client,
            "add_incident_update",
            json!({ "incident_id": elsewhere, "stage": "resolved",
            "message": "done", "notify": false }),
        )
        .await;
        assert_eq!(r.is_error, Some(true), "{r:?}");
        assert!(r.structured_content.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not on this page"));
        let (_, got) = get(&app, &write, &format!("/incidents/{elsewhere}")).await;
        assert_eq!(got["stage"], "investigating", "{got}");
        let _ = client.cancel().await;

        let read_key = owner_key(&app, false).await;
        let (client, _child) = connect(&[
            ("STATUSGATE_BASE_URL", &url),
            ("STATUSGATE_API_TOKEN", &read_key),
            ("STATUSGATE_PAGE_ID", &page),
        ])
        .await;
        assert!(
            client.list_all_tools().await.unwrap().is_empty(),
            "a read key gets no write tools"
        );
        assert_eq!(client.list_all_prompts().await.unwrap().len(), 8);
        let _ = client.cancel().await;
        app.stop().await;
    }
);

both_backends!(
    page_mcp_runs_each_tool_once_and_the_audit_names_it,
    |db: TestDb| async move {
        // Arrange: a write key limited to the demo page (no page given: the key's page is served),
        // two proposed actions, and an org-wide key to check effects through the API.
        let app = spawn(db).await;
        let (page, component) = demo_ids(&app.services, "Authentication").await;
        let page_id = PageId::parse(&page).unwrap();
        let key = key_for(
            &app,
            &owner(&app).await,
            &acme(&app).await,
            true,
            Some(page_id.clone()),
        )
        .await;
        let admin = owner_key(&app, true).await;
        let propose = || PendingAction {
            id: PendingActionId::generate(),
            page_id: page_id.clone(),
            monitor_id: None,
            component_id: ComponentId::parse(&component).unwrap(),
            kind: ActionKind::SetStatus,
            status: ComponentStatus::PartialOutage,
            reason: "three failures".into(),
            state: ActionState::Pending,
            decided_by: None,
            decision_note: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        let (approve, reject) = (propose(), propose());
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
        let url = base(&app);
        let (c, _child) = connect(&[
            ("STATUSGATE_BASE_URL", &url),
            ("STATUSGATE_API_TOKEN", &key),
        ])
        .await;
        let tools = c.list_all_tools().await.unwrap();
        assert_eq!(tools.len(), 16);
        assert!(tools
            .iter()
            .all(|t| t.annotations.is_some() && t.output_schema.is_some()));

        // Incidents.
        let affected = json!([{ "component_id": component, "status": "partial_outage" }]);
        let created = ok(
            &c,
            "create_incident",
            json!({ "title": "Login errors", "stage": "investigating",
            "message": "Looking", "affected_components": affected, "notify": false }),
        )
        .await;
        let inc = created["incident_id"].as_str().unwrap().to_owned();
        let no_notify = call_err(
            &c,
            "add_incident_update",
            json!({ "incident_id": inc, "stage": "identified", "message": "m" }),
        )
        .await;
        assert!(no_notify.contains("notify"), "{no_notify}");
        ok(
            &c,
            "update_incident",
            json!({ "incident_id": inc, "title": "Login failures" }),
        )
        .await;
        let acked = ok(
            &c,
            "acknowledge_incident",
            json!({ "incident_id": inc, "notify": false }),
        )
        .await;
        assert_eq!(acked["stage"], "identified", "{acked}");
        ok(&c, "add_incident_update", json!({ "incident_id": inc, "stage": "monitoring", "message": "Fix out", "notify": false })).await;
        let resolved = ok(
            &c,
            "resolve_incident",
            json!({ "incident_id": inc, "message": "Fixed", "notify": false }),
        )
        .await;
        assert_eq!(resolved["stage"], "resolved", "{resolved}");
        // A refusal by statusgate is a tool result with isError and its message.
        let again = call(
            &c,
            "resolve_incident",
            json!({ "incident_id": inc, "message": "Fixed", "notify": false }),
        )
        .await;
        assert_eq!(again.is_error, Some(true), "{again:?}");
        assert!(again.structured_content.unwrap()["error"]["message"].is_string());
        let reopened = ok(&c, "reopen_incident", json!({ "incident_id": inc, "stage": "investigating", "message": "Back", "notify": false })).await;
        assert_eq!(reopened["stage"], "investigating", "{reopened}");
        let (_, got) = get(&app, &admin, &format!("/incidents/{inc}")).await;
        assert_eq!(got["title"], "Login failures");
        ok(&c, "delete_incident", json!({ "incident_id": inc })).await;
        let (status, _) = get(&app, &admin, &format!("/incidents/{inc}")).await;
        assert_eq!(status, 404);

        // Maintenances.
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        let now = time::OffsetDateTime::now_utc();
        let window = |h: i64| {
            json!({ "title": "DB upgrade", "starts_at": rfc(now + time::Duration::hours(h)),
            "ends_at": rfc(now + time::Duration::hours(h + 1)), "message": "Upgrading", "notify": false })
        };
        let m = ok(&c, "schedule_maintenance", window(2)).await["maintenance_id"]
            .as_str()
            .unwrap()
            .to_owned();
        ok(
            &c,
            "update_maintenance",
            json!({ "maintenance_id": m, "title": "Database upgrade" }),
        )
        .await;
        let started = ok(&c, "add_maintenance_update", json!({ "maintenance_id": m, "state": "in_progress", "message": "Started", "notify": false })).await;
        assert_eq!(started["state"], "in_progress", "{started}");
        let done = ok(
            &c,
            "complete_maintenance",
            json!({ "maintenance_id": m, "notify": false }),
        )
        .await;
        assert_eq!(done["state"], "completed", "{done}");
        let other = ok(&c, "schedule_maintenance", window(5)).await["maintenance_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let cancelled = ok(
            &c,
            "cancel_maintenance",
            json!({ "maintenance_id": other, "notify": false }),
        )
        .await;
        assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
        let (_, got) = get(&app, &admin, &format!("/maintenances/{m}")).await;
        assert_eq!(got["title"], "Database upgrade");
        ok(&c, "delete_maintenance", json!({ "maintenance_id": m })).await;
        let (status, _) = get(&app, &admin, &format!("/maintenances/{m}")).await;
        assert_eq!(status, 404);

        // Beats.
        let beats = read(&c, "statusgate://page/beats").await;
        let mon = beats["items"][0]["monitor_id"].as_str().unwrap().to_owned();
        let ran = ok(&c, "run_beat", json!({ "monitor_id": mon })).await;
        assert_eq!(ran["trigger"], "manual", "{ran}");
        let pending = read(&c, "statusgate://page/beats/pending-actions").await;
        assert!(pending.to_string().contains(approve.id.as_str()));
        let a = ok(
            &c,
            "approve_beat_action",
            json!({ "action_id": approve.id }),
        )
        .await;
        assert_eq!(a["state"], "approved", "{a}");
        let r = ok(
            &c,
            "reject_beat_action",
            json!({ "action_id": reject.id, "note": "flaky" }),
        )
        .await;
        assert_eq!(r["state"], "rejected", "{r}");

        // Audit: api_key rows that name the tool.
        let (_, audit) = get(&app, &admin, "/audit?actor_type=api_key&limit=200").await;
        let tools_audited: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["detail"]["tool"].as_str())
            .collect();
        for t in [
            "create_incident",
            "acknowledge_incident",
            "resolve_incident",
            "delete_incident",
            "schedule_maintenance",
            "cancel_maintenance",
            "approve_beat_action",
        ] {
            assert!(tools_audited.contains(&t), "{t} not audited: {audit}");
        }
        let _ = c.cancel().await;
        app.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_mcp_answers_is_error_when_statusgate_goes_away_mid_session() {
    let app = spawn(TestDb::new(crate::helpers::Backend::Sqlite).await.unwrap()).await;
    let (page, _) = demo_ids(&app.services, "Authentication").await;
    let key = owner_key(&app, true).await;
    let url = base(&app);
    let (c, _child) = connect(&[
        ("STATUSGATE_BASE_URL", &url),
        ("STATUSGATE_API_TOKEN", &key),
        ("STATUSGATE_PAGE_ID", &page),
    ])
    .await;
    app.stop().await;
    let r = call(
        &c,
        "create_incident",
        json!({ "title": "t", "stage": "investigating", "message": "m", "notify": false }),
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{r:?}");
    assert!(
        format!("{:?}", r.content).contains("could not be reached"),
        "{r:?}"
    );
    let _ = c.cancel().await;
}

/// A call refused as invalid parameters: the error's message.
async fn call_err(client: &RunningService<RoleClient, ()>, name: &str, args: Value) -> String {
    let params: CallToolRequestParams =
        serde_json::from_value(json!({ "name": name, "arguments": args })).unwrap();
    match client.call_tool(params).await {
        Err(e) => e.to_string(),
        Ok(r) => panic!("{name} was accepted: {r:?}"),
    }
}

/// A GET through the REST API with `key`: (status, body).
async fn get(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    json(app, key, Method::GET, path, None).await
}
