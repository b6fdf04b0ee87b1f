//! Correcting what was posted: an incident's title and affected components, a maintenance's title,
//! window and components, the same through the page MCP server, REST and the admin forms. Each
//! refusal changes nothing; nobody is notified unless asked.

use reqwest::Method;
use rmcp::model::GetPromptRequestParams;
use serde_json::{json, Value};
use statusgate::domain::Role;
use statusgate::service::pages::NewComponent;
use statusgate::service::Principal;
use time::{Duration, OffsetDateTime};

use crate::api_support::{acme, json, key_for, owner, owner_key, spawn};
use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};
use crate::page_mcp::{call, connect, ok};

fn rfc(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The status of `component` on `page`, read over REST.
async fn status_of(app: &TestApp, key: &str, page: &str, component: &str) -> String {
    let (_, comps) = json(
        app,
        key,
        Method::GET,
        &format!("/pages/{page}/components"),
        None,
    )
    .await;
    comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component_id"] == component)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_incident(app: &TestApp, key: &str, page: &str) -> String {
    let (s, inc) = json(
        app,
        key,
        Method::POST,
        &format!("/pages/{page}/incidents"),
        Some(json!({ "title": "Slow logins", "stage": "identified", "message": "Looking", "notify": false })),
    )
    .await;
    assert_eq!(s, 201, "{inc}");
    inc["incident_id"].as_str().unwrap().to_owned()
}

async fn schedule(app: &TestApp, key: &str, page: &str, components: Value) -> String {
    let start = OffsetDateTime::now_utc() + Duration::hours(2);
    let (s, m) = json(app, key, Method::POST, &format!("/pages/{page}/maintenances"),
        Some(json!({ "title": "DB upgrade", "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(1)),
            "component_ids": components, "message": "Upgrading", "notify": false }))).await;
    assert_eq!(s, 201, "{m}");
    m["maintenance_id"].as_str().unwrap().to_owned()
}

/// Audit rows for `action` on `id`.
async fn audited(app: &TestApp, key: &str, action: &str, id: &str) -> Vec<Value> {
    let (_, audit) = json(app, key, Method::GET, "/audit?limit=200", None).await;
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action && e.to_string().contains(id))
        .cloned()
        .collect()
}

both_backends!(
    page_mcp_update_incident_and_update_maintenance_do_what_the_prompts_promise,
    |db: TestDb| async move {
        // Arrange: the demo page served over stdio, an open incident and a scheduled maintenance.
        let app = spawn(db).await;
        let (page, auth) = demo_ids(&app.services, "Authentication").await;
        let (_, rest_api) = demo_ids(&app.services, "REST API").await;
        let key = owner_key(&app, true).await;
        let inc = open_incident(&app, &key, &page).await;
        let m = schedule(&app, &key, &page, json!([auth])).await;
        let (c, _child) = connect(&[
            ("STATUSGATE_BASE_URL", &app.base),
            ("STATUSGATE_API_TOKEN", &key),
            ("STATUSGATE_PAGE_ID", &page),
        ])
        .await;

        // The prompt promises: update_incident corrects the title and the affected components with
        // their statuses, and nobody is notified unless notify is true.
        let params: GetPromptRequestParams = serde_json::from_value(json!({
            "name": "edit_incident",
            "arguments": { "incident_id": inc, "change": "it is the API, and it is down" },
        }))
        .unwrap();
        let prompt = serde_json::to_string(&c.get_prompt(params).await.unwrap()).unwrap();
        for promise in [
            "update_incident",
            "title",
            "affected components",
            "notify: true",
        ] {
            assert!(prompt.contains(promise), "`{promise}` not in {prompt}");
        }
        assert!(
            prompt.contains(&rest_api),
            "the prompt lists the component ids: {prompt}"
        );

        // Act: the correction the prompt describes.
        let edited = ok(
            &c,
            "update_incident",
            json!({ "incident_id": inc, "title": "API unavailable",
            "affected_components": [{ "component_id": rest_api, "status": "major_outage" }] }),
        )
        .await;

        // Assert, over REST: the title, the component's status, an update at the same stage telling nobody.
        assert_eq!(edited["title"], "API unavailable", "{edited}");
        let (_, got) = json(&app, &key, Method::GET, &format!("/incidents/{inc}"), None).await;
        assert_eq!(got["title"], "API unavailable");
        assert_eq!(got["stage"], "identified");
        let latest = &got["updates"][0];
        assert_eq!(latest["stage"], "identified", "{got}");
        assert_eq!(latest["notify"], false, "{got}");
        assert_eq!(latest["message"], "Impact updated.", "{got}");
        assert_eq!(
            status_of(&app, &key, &page, &rest_api).await,
            "major_outage"
        );
        let rows = audited(&app, &key, "incident.edited", &inc).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["detail"]["tool"], "update_incident", "{rows:?}");
        assert_eq!(rows[0]["detail"]["notify"], false);

        // A bad status is a tool error naming the field, and changes nothing.
        let bad = call(
            &c,
            "update_incident",
            json!({ "incident_id": inc, "title": "Other",
            "affected_components": [{ "component_id": rest_api, "status": "on_fire" }] }),
        )
        .await;
        assert_eq!(bad.is_error, Some(true), "{bad:?}");
        assert!(bad
            .structured_content
            .unwrap()
            .to_string()
            .contains("affected_components"));
        let (_, got) = json(&app, &key, Method::GET, &format!("/incidents/{inc}"), None).await;
        assert_eq!(got["title"], "API unavailable");

        // The maintenance: title, window and components, read back over REST.
        let start = OffsetDateTime::now_utc() + Duration::days(1);
        let (starts, ends) = (rfc(start), rfc(start + Duration::hours(3)));
        ok(
            &c,
            "update_maintenance",
            json!({ "maintenance_id": m, "title": "Database upgrade",
            "starts_at": starts, "ends_at": ends, "component_ids": [rest_api] }),
        )
        .await;
        let (_, got) = json(&app, &key, Method::GET, &format!("/maintenances/{m}"), None).await;
        assert_eq!(got["title"], "Database upgrade", "{got}");
        assert_eq!(got["starts_at"].as_str().unwrap()[..19], starts[..19]);
        assert_eq!(got["ends_at"].as_str().unwrap()[..19], ends[..19]);
        assert_eq!(got["component_ids"], json!([rest_api]), "{got}");
        assert_eq!(
            got["updates"].as_array().unwrap().len(),
            1,
            "no update posted: {got}"
        );
        let rows = audited(&app, &key, "maintenance.edited", &m).await;
        assert_eq!(rows[0]["detail"]["tool"], "update_maintenance", "{rows:?}");
        let bad = call(
            &c,
            "update_maintenance",
            json!({ "maintenance_id": m, "ends_at": starts }),
        )
        .await;
        assert_eq!(
            bad.is_error,
            Some(true),
            "a window ending before it starts: {bad:?}"
        );
        let _ = c.cancel().await;
        app.stop().await;
    }
);

both_backends!(
    rest_patch_corrects_and_refuses_bad_values_other_pages_viewers_read_keys_and_other_orgs,
    |db: TestDb| async move {
        // Arrange: keys of every kind, a second page of acme, another organisation.
        let app = spawn(db).await;
        let (page, auth) = demo_ids(&app.services, "Authentication").await;
        let key = owner_key(&app, true).await;
        let read = owner_key(&app, false).await;
        let org = app.services.org_by_slug("acme").await.unwrap();
        let viewer = app
            .services
            .create_user(
                "viewer@example.com",
                "correct horse battery staple",
                &org,
                Role::Viewer,
            )
            .await
            .unwrap();
        let viewer = key_for(&app, &viewer.id, &org.id, false, None).await;
        let other_page = app
            .services
            .create_page(
                &Principal::user(owner(&app).await),
                &acme(&app).await,
                "web",
                "web",
                "Website",
                &[NewComponent {
                    name: "Site",
                    group: None,
                }],
            )
            .await
            .unwrap();
        let site = app.store.components(&other_page.id).await.unwrap()[0]
            .id
            .to_string();
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let boss = app
            .services
            .create_user("boss@globex.test", "long enough pw", &globex, Role::Owner)
            .await
            .unwrap();
        let foreign = key_for(&app, &boss.id, &globex.id, true, None).await;
        let inc = open_incident(&app, &key, &page).await;
        let m = schedule(&app, &key, &page, json!([])).await;
        let (incident, maintenance) = (format!("/incidents/{inc}"), format!("/maintenances/{m}"));
        let patch = |k: &str, path: &str, body: Value| {
            let (app, k, path) = (&app, k.to_owned(), path.to_owned());
            async move { json(app, &k, Method::PATCH, &path, Some(body)).await }
        };

        // Refusals: each changes nothing.
        let cases = [
            (
                &key,
                &incident,
                json!({ "title": "X", "affected_components": [{ "component_id": auth, "status": "fine" }] }),
                422,
            ),
            (
                &key,
                &incident,
                json!({ "title": "X", "affected_components": [{ "component_id": site, "status": "major_outage" }] }),
                422,
            ),
            (&key, &incident, json!({}), 422),
            (&viewer, &incident, json!({ "title": "X" }), 403),
            (&read, &incident, json!({ "title": "X" }), 403),
            (&foreign, &incident, json!({ "title": "X" }), 404),
            (
                &key,
                &maintenance,
                json!({ "title": "X", "component_ids": [site] }),
                422,
            ),
            (
                &key,
                &maintenance,
                json!({ "title": "X", "component_ids": ["nope"] }),
                422,
            ),
            (
                &key,
                &maintenance,
                json!({ "title": "X", "starts_at": "tomorrow" }),
                422,
            ),
            (&viewer, &maintenance, json!({ "title": "X" }), 403),
            (&read, &maintenance, json!({ "title": "X" }), 403),
            (&foreign, &maintenance, json!({ "title": "X" }), 404),
        ];
        for (k, path, body, want) in cases {
            let (s, answer) = patch(k, path, body.clone()).await;
            assert_eq!(s, want, "{path} {body}: {answer}");
        }
        let (_, got) = json(&app, &key, Method::GET, &incident, None).await;
        assert_eq!(
            (
                got["title"].clone(),
                got["updates"].as_array().unwrap().len()
            ),
            (json!("Slow logins"), 1)
        );
        assert_eq!(status_of(&app, &key, &page, &auth).await, "operational");
        let (_, got) = json(&app, &key, Method::GET, &maintenance, None).await;
        assert_eq!(
            (got["title"].clone(), got["component_ids"].clone()),
            (json!("DB upgrade"), json!([]))
        );

        // Good edits: components and their statuses; a message and notify go on the update.
        let (s, edited) = patch(
            &key,
            &incident,
            json!({ "affected_components": [{ "component_id": auth, "status": "partial_outage" }],
            "message": "Sign-in is affected too.", "notify": true }),
        )
        .await;
        assert_eq!(s, 200, "{edited}");
        assert_eq!(edited["update"]["notify"], true, "{edited}");
        assert_eq!(edited["update"]["stage"], "identified", "{edited}");
        assert_eq!(status_of(&app, &key, &page, &auth).await, "partial_outage");
        let (s, moved) = patch(
            &key,
            &maintenance,
            json!({ "title": "Database upgrade", "component_ids": [auth] }),
        )
        .await;
        assert_eq!(s, 200, "{moved}");
        assert_eq!(moved["component_ids"], json!([auth]));
        let (_, got) = json(&app, &key, Method::GET, &maintenance, None).await;
        assert_eq!(
            got["updates"].as_array().unwrap().len(),
            1,
            "nobody told: {got}"
        );
        assert_eq!(audited(&app, &key, "maintenance.edited", &m).await.len(), 1);
        let (s, _) = patch(
            &key,
            &maintenance,
            json!({ "title": "Database upgrade", "notify": true }),
        )
        .await;
        assert_eq!(s, 200);
        let (_, got) = json(&app, &key, Method::GET, &maintenance, None).await;
        assert_eq!(
            got["updates"].as_array().unwrap().len(),
            1,
            "an edit changing nothing tells nobody"
        );

        // A resolved incident keeps its components; its title may still be corrected.
        let (s, _) = json(
            &app,
            &key,
            Method::POST,
            &format!("{incident}/resolve"),
            Some(json!({ "notify": false })),
        )
        .await;
        assert_eq!(s, 200);
        let (s, body) = patch(
            &key,
            &incident,
            json!({ "affected_components": [{ "component_id": auth, "status": "major_outage" }] }),
        )
        .await;
        assert_eq!(s, 409, "{body}");
        let (s, _) = patch(
            &key,
            &incident,
            json!({ "title": "Sign-in and API errors" }),
        )
        .await;
        assert_eq!(s, 200);
        app.stop().await;
    }
);

/// Posts a correction form from `from`: the status and body.
async fn submit(app: &TestApp, from: &str, to: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut all = vec![("edit", "1")];
    all.extend_from_slice(fields);
    let (status, _, body) = app.submit(from, to, &all).await;
    (status, body)
}

async fn public_page(app: &TestApp) -> String {
    reqwest::get(app.url("/status/api"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

both_backends!(
    admin_correction_forms_keep_the_input_on_refusal_and_show_on_the_public_page,
    |db: TestDb| async move {
        let app = spawn(db).await;
        let (page, auth) = demo_ids(&app.services, "Authentication").await;
        let key = owner_key(&app, true).await;
        let inc = open_incident(&app, &key, &page).await;
        let m = schedule(&app, &key, &page, json!([])).await;
        app.sign_in_as_owner().await;
        let (inc_page, inc_edit) = (
            format!("/admin/incidents/{inc}"),
            format!("/admin/incidents/{inc}/edit"),
        );
        let component = format!("component_{auth}");

        // Incident: an empty title comes back 422 with the typed status kept and the reason beside the title.
        let html = app.get(&inc_page).await.text().await.unwrap();
        assert!(
            html.contains(&inc_edit),
            "the page offers the correction form"
        );
        let (s, html) = submit(
            &app,
            &inc_page,
            &inc_edit,
            &[
                ("title", " "),
                (&component, "major_outage"),
                ("message", "Kept text"),
            ],
        )
        .await;
        assert_eq!(s, 422, "{html}");
        assert!(html.contains("id=\"title-error\""), "{html}");
        assert!(
            html.contains("<option value=\"major_outage\" selected>"),
            "{html}"
        );
        assert!(html.contains("Kept text"), "{html}");
        let (s, html) = submit(
            &app,
            &inc_page,
            &inc_edit,
            &[("title", "Slow logins"), (&component, "on_fire")],
        )
        .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"affected_components-error\""), "{html}");
        assert_eq!(status_of(&app, &key, &page, &auth).await, "operational");

        // A good correction shows on the public page; no subscriber was told.
        let (s, _) = submit(
            &app,
            &inc_page,
            &inc_edit,
            &[("title", "Sign-in failures"), (&component, "major_outage")],
        )
        .await;
        assert_eq!(s, 303);
        let public = public_page(&app).await;
        assert!(public.contains("Sign-in failures"), "{public}");
        assert!(public.contains("Major outage"), "{public}");
        let (_, got) = json(&app, &key, Method::GET, &format!("/incidents/{inc}"), None).await;
        assert_eq!(got["updates"][0]["notify"], false, "{got}");

        // Maintenance: a window ending before it starts keeps the typed values; a good one shows publicly.
        let (m_page, m_edit) = (
            format!("/admin/maintenances/{m}"),
            format!("/admin/maintenances/{m}/edit"),
        );
        let start = OffsetDateTime::now_utc() + Duration::days(2);
        let local = |t: OffsetDateTime| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]"
            ))
            .unwrap()
        };
        let (starts, ends) = (local(start), local(start + Duration::hours(2)));
        let (s, html) = submit(
            &app,
            &m_page,
            &m_edit,
            &[
                ("title", "Login upgrade"),
                ("starts_at", &ends),
                ("ends_at", &starts),
                (&component, "on"),
            ],
        )
        .await;
        assert_eq!(s, 422, "{html}");
        assert!(
            html.contains("id=\"ends_at-error\"") && html.contains("value=\"Login upgrade\""),
            "{html}"
        );
        assert!(
            html.contains(&format!("name=\"{component}\" value=\"on\" checked")),
            "the tick is kept: {html}"
        );
        let (s, _) = submit(
            &app,
            &m_page,
            &m_edit,
            &[
                ("title", "Login upgrade"),
                ("starts_at", &starts),
                ("ends_at", &ends),
                (&component, "on"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        let (_, got) = json(&app, &key, Method::GET, &format!("/maintenances/{m}"), None).await;
        assert_eq!(got["component_ids"], json!([auth]), "{got}");
        assert_eq!(got["starts_at"].as_str().unwrap()[..16], starts[..16]);
        let public = public_page(&app).await;
        assert!(public.contains("Login upgrade"), "{public}");
    }
);

both_backends!(
    maintenance_work_in_progress_moves_component_statuses_and_notify_posts_an_update,
    |db: TestDb| async move {
        let app = spawn(db).await;
        let (page, auth) = demo_ids(&app.services, "Authentication").await;
        let (_, rest_api) = demo_ids(&app.services, "REST API").await;
        let key = owner_key(&app, true).await;
        let m = schedule(&app, &key, &page, json!([auth])).await;
        let one = format!("/maintenances/{m}");
        let start = json!({ "state": "in_progress", "message": "Started", "notify": false });
        let (s, _) = json(
            &app,
            &key,
            Method::POST,
            &format!("{one}/updates"),
            Some(start),
        )
        .await;
        assert_eq!(s, 201);
        assert_eq!(
            status_of(&app, &key, &page, &auth).await,
            "under_maintenance"
        );

        // Work in progress cannot move, but its components can change, and their statuses follow.
        let later = rfc(OffsetDateTime::now_utc() + Duration::days(3));
        let (s, body) = json(
            &app,
            &key,
            Method::PATCH,
            &one,
            Some(json!({ "ends_at": later })),
        )
        .await;
        assert_eq!(s, 409, "{body}");
        let (s, body) = json(
            &app,
            &key,
            Method::PATCH,
            &one,
            Some(json!({ "component_ids": [rest_api], "title": "API upgrade", "notify": true })),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(status_of(&app, &key, &page, &auth).await, "operational");
        assert_eq!(
            status_of(&app, &key, &page, &rest_api).await,
            "under_maintenance"
        );

        // notify: true told subscribers with an update at the current state.
        let (_, got) = json(&app, &key, Method::GET, &one, None).await;
        let latest = &got["updates"][0];
        assert_eq!(
            (latest["state"].clone(), latest["notify"].clone()),
            (json!("in_progress"), json!(true)),
            "{got}"
        );
        assert!(
            latest["message"].as_str().unwrap().contains("API upgrade"),
            "{got}"
        );
        let rows = audited(&app, &key, "maintenance.edited", &m).await;
        assert_eq!(rows[0]["detail"]["notify"], true, "{rows:?}");
        app.stop().await;
    }
);
