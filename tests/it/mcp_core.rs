//! The hosted tools, resources and prompts through the real services and database, below the transport.

use serde_json::{json, Value};
use statusgate::domain::{ActorType, Role};
use statusgate::mcp::resources::{self, ResourceError};
use statusgate::mcp::tools::{self, ToolError};
use statusgate::mcp::{prompts, McpCaller, McpScope};
use statusgate::service::{Principal, ServiceError, Services};

use crate::both_backends;
use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL};

async fn caller(services: &Services, email: &str, scopes: &[McpScope]) -> McpCaller {
    let user = services.user_by_email(email).await.unwrap();
    let actor = crate::helpers::mcp_actor(services, &user.id, None).await;
    McpCaller {
        principal: Principal {
            user_id: user.id,
            actor,
        },
        scopes: scopes.to_vec(),
        allowed_tools: None,
    }
}

async fn call(s: &Services, c: &McpCaller, name: &str, args: Value) -> Result<Value, ToolError> {
    tools::call(
        s,
        c,
        "http://127.0.0.1:8080",
        name,
        args.as_object().unwrap(),
    )
    .await
}

both_backends!(
    read_tools_find_pages_incidents_and_maintenances,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let c = caller(s, ADMIN_EMAIL, &McpScope::READ).await;
        let pages = call(s, &c, "list_status_pages", json!({})).await.unwrap();
        let page_id = pages["pages"][0]["page_id"].as_str().unwrap().to_owned();
        assert_eq!(pages["pages"][0]["overall_status"], "degraded_performance");
        assert_eq!(
            pages["pages"][0]["public_url"],
            "http://127.0.0.1:8080/status/api"
        );

        let summary = call(s, &c, "get_page_summary", json!({ "page_id": page_id }))
            .await
            .unwrap();
        assert_eq!(summary["active_incidents"].as_array().unwrap().len(), 1);
        assert_eq!(
            summary["upcoming_maintenances"][0]["title"],
            "Database upgrade"
        );

        let resolved = call(
            s,
            &c,
            "list_incidents",
            json!({ "page_id": page_id, "status": "resolved", "limit": 100000 }),
        )
        .await
        .unwrap();
        let id = resolved["incidents"][0]["incident_id"].as_str().unwrap();
        let one = call(
            s,
            &c,
            "get_incident",
            json!({ "page_id": page_id, "incident_id": id }),
        )
        .await
        .unwrap();
        assert_eq!(one["stage"], "resolved");
        assert_eq!(one["updates"].as_array().unwrap().len(), 2);

        let bad = call(
            s,
            &c,
            "list_incidents",
            json!({ "page_id": page_id, "limit": "ten" }),
        )
        .await
        .unwrap_err();
        assert!(matches!(bad, ToolError::InvalidParams(_)), "{bad:?}");
        // An argument the tool's schema does not name is refused, naming it.
        let bad = call(
            s,
            &c,
            "get_page_summary",
            json!({ "page_id": page_id, "pageId": page_id }),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&bad, ToolError::InvalidParams(p) if p.0.contains("`pageId`")),
            "{bad:?}"
        );
        let bad = call(
            s,
            &c,
            "get_page_summary",
            json!({ "page_id": "pg_ffffffffffffffffffffffff" }),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(bad, ToolError::Service(ServiceError::NotFound(_))),
            "{bad:?}"
        );
    }
);

both_backends!(
    write_tools_need_notify_and_the_users_role_and_are_audited_as_mcp,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let owner = caller(s, ADMIN_EMAIL, &McpScope::ALL).await;
        let page = st.page_by_public_slug("api").await.unwrap();
        let args = json!({ "page_id": page.id, "title": "API errors", "stage": "investigating", "message": "Looking" });

        let err = call(s, &owner, "create_incident", args.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("notify"), "{err}");
        let mut with_notify = args.clone();
        with_notify["notify"] = json!("yes");
        assert!(matches!(
            call(s, &owner, "create_incident", with_notify).await,
            Err(ToolError::InvalidParams(_))
        ));

        let mut ok = args.clone();
        ok["notify"] = json!(false);
        let created = call(s, &owner, "create_incident", ok.clone())
            .await
            .unwrap();
        assert_eq!(created["update"]["notify"], false);
        let org = s.org_by_slug("acme").await.unwrap();
        let audit = st
            .audit_entries(&org.id, Some(ActorType::Mcp), 10)
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].action, "incident.created");
        assert_eq!(audit[0].actor_id, "key_test");
        let detail: Value = serde_json::from_str(&audit[0].detail).unwrap();
        assert_eq!(detail["tool"], "create_incident");
        assert_eq!(detail["client"], "Test client");
        assert_eq!(detail["notify"], false);

        // A viewer who approved write scopes still cannot write.
        s.create_user("viewer@acme.test", "viewer password", &org, Role::Viewer)
            .await
            .unwrap();
        let viewer = caller(s, "viewer@acme.test", &McpScope::ALL).await;
        let err = call(s, &viewer, "create_incident", ok).await.unwrap_err();
        assert!(
            matches!(err, ToolError::Service(ServiceError::Forbidden(_))),
            "{err:?}"
        );

        // An incident id from another page is not found through this page.
        let incident_id = created["incident_id"].as_str().unwrap();
        let err = call(s, &owner, "add_incident_update", json!({
        "page_id": "pg_ffffffffffffffffffffffff", "incident_id": incident_id, "stage": "monitoring", "message": "m", "notify": false
    })).await.unwrap_err();
        assert!(
            matches!(err, ToolError::Service(ServiceError::NotFound(_))),
            "{err:?}"
        );
    }
);

both_backends!(
    resources_are_scope_gated_and_limits_clamped,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let pages_only = caller(s, ADMIN_EMAIL, &[McpScope::PagesRead]).await;
        let page = st.page_by_public_slug("api").await.unwrap();
        let base = "http://127.0.0.1:8080";

        let listed = resources::list(s, &pages_only).await.unwrap();
        assert!(listed
            .iter()
            .any(|r| r.uri == format!("statusgate://pages/{}/summary", page.id)));
        assert!(!listed.iter().any(|r| r.uri.contains("/incidents/")));
        assert!(resources::templates(&pages_only)
            .iter()
            .all(|t| !t.uri.contains("incidents")));

        let tree = resources::read(
            s,
            &pages_only,
            base,
            &format!("statusgate://pages/{}/hierarchy/tree", page.id),
        )
        .await
        .unwrap();
        assert_eq!(tree["tree"][0]["name"], "API");
        let denied = resources::read(
            s,
            &pages_only,
            base,
            &format!("statusgate://pages/{}/incidents/active", page.id),
        )
        .await;
        assert!(matches!(
            denied,
            Err(ResourceError::Scope(McpScope::IncidentsRead))
        ));

        let all = caller(s, ADMIN_EMAIL, &McpScope::READ).await;
        let resolved = resources::read(
            s,
            &all,
            base,
            &format!("statusgate://pages/{}/incidents/resolved?limit=0", page.id),
        )
        .await
        .unwrap();
        assert_eq!(
            resolved["incidents"].as_array().unwrap().len(),
            1,
            "limit 0 is clamped to 1"
        );
        let bad = resources::read(
            s,
            &all,
            base,
            &format!("statusgate://pages/{}/incidents/resolved?limit=x", page.id),
        )
        .await;
        assert!(matches!(
            bad,
            Err(ResourceError::Tool(ToolError::InvalidParams(_)))
        ));
        for uri in [
            "statusgate://nope",
            "https://x/pages",
            "statusgate://pages/pg_ffffffffffffffffffffffff/summary",
            "statusgate://pages/garbage/summary",
        ] {
            assert!(
                matches!(
                    resources::read(s, &all, base, uri).await,
                    Err(ResourceError::NotFound(_))
                ),
                "{uri}"
            );
        }
        let me = resources::read(s, &pages_only, base, "statusgate://me")
            .await
            .unwrap();
        assert_eq!(me["actor"], "mcp");
        assert_eq!(me["scopes"], json!(["mcp.pages.read"]));
    }
);

both_backends!(
    prompts_embed_live_state_and_follow_scopes,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let pages_only = caller(s, ADMIN_EMAIL, &[McpScope::PagesRead]).await;
        assert_eq!(prompts::visible(&pages_only).count(), 0);
        let c = caller(s, ADMIN_EMAIL, &McpScope::READ).await;
        let page = st.page_by_public_slug("api").await.unwrap();
        let incident = &st.active_incidents(&page.id).await.unwrap()[0];
        let args = json!({ "page_id": page.id, "incident_id": incident.id });
        let (_, text) = prompts::get(
            s,
            &c,
            "http://h",
            "draft_incident_update",
            args.as_object().unwrap(),
        )
        .await
        .unwrap();
        assert!(
            text.contains("A queue consumer is falling behind"),
            "{text}"
        );
        let missing = prompts::get(
            s,
            &c,
            "http://h",
            "draft_customer_incident",
            args.as_object().unwrap(),
        )
        .await;
        assert!(matches!(missing, Err(ToolError::InvalidParams(_))));
    }
);

both_backends!(
    beats_and_analytics_are_readable_with_their_scopes,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let page = st.page_by_public_slug("api").await.unwrap();
        let c = caller(s, ADMIN_EMAIL, &McpScope::READ).await;
        let base = "http://127.0.0.1:8080";

        let beats = call(s, &c, "list_beats", json!({ "page_id": page.id }))
            .await
            .unwrap();
        assert!(
            !beats["beats"].as_array().unwrap().is_empty(),
            "the demo has monitors"
        );
        let failures = call(
            s,
            &c,
            "list_recent_beat_failures",
            json!({ "page_id": page.id, "limit": 5 }),
        )
        .await
        .unwrap();
        assert!(failures["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["ok"] == false));
        let summary = call(
            s,
            &c,
            "get_analytics_summary",
            json!({ "page_id": page.id, "window_days": 365 }),
        )
        .await
        .unwrap();
        assert_eq!(summary["window_days"], 90, "window_days is clamped to 90");

        let pending = resources::read(
            s,
            &c,
            base,
            &format!("statusgate://pages/{}/beats/pending-actions", page.id),
        )
        .await
        .unwrap();
        assert!(
            !pending["pending_actions"].as_array().unwrap().is_empty(),
            "the demo has a pending action"
        );
        let analytics = resources::read(
            s,
            &c,
            base,
            &format!(
                "statusgate://pages/{}/analytics/summary?window_days=0",
                page.id
            ),
        )
        .await
        .unwrap();
        assert_eq!(analytics["window_days"], 1);

        // Pending actions also need monitor-manage permission: a viewer is refused.
        let org = s.org_by_slug("acme").await.unwrap();
        s.create_user("viewer@acme.test", "viewer password", &org, Role::Viewer)
            .await
            .unwrap();
        let viewer = caller(s, "viewer@acme.test", &McpScope::READ).await;
        let denied = resources::read(
            s,
            &viewer,
            base,
            &format!("statusgate://pages/{}/beats/pending-actions", page.id),
        )
        .await;
        assert!(
            matches!(
                denied,
                Err(ResourceError::Tool(ToolError::Service(
                    ServiceError::Forbidden(_)
                )))
            ),
            "{denied:?}"
        );

        let no_beats = caller(s, ADMIN_EMAIL, &[McpScope::PagesRead]).await;
        assert!(matches!(
            resources::read(
                s,
                &no_beats,
                base,
                &format!("statusgate://pages/{}/beats", page.id)
            )
            .await,
            Err(ResourceError::Scope(McpScope::BeatsRead))
        ));
        let args = json!({ "page_id": page.id });
        let (_, text) = prompts::get(
            s,
            &c,
            base,
            "summarize_current_beat_health",
            args.as_object().unwrap(),
        )
        .await
        .unwrap();
        assert!(text.contains("Monitors:"));
    }
);
