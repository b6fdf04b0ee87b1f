//! `/api/v1` refusals: no key, unknown, expired and revoked keys, two credentials, read keys on write
//! routes, another organisation's key, a page outside a page-scoped key, the user's current role,
//! malformed bodies, the rate limit; and the audit trail of key actions.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use statusgate::clock::SystemClock;
use statusgate::domain::Role;
use statusgate::service::api_keys::NewKey;
use statusgate::service::pages::NewComponent;
use statusgate::service::Principal;

use crate::api_support::{acme, call, error_code, json, key_for, owner, owner_key, spawn};
use crate::both_backends;
use crate::helpers::{demo_ids, TestApp};

both_backends!(
    keys_are_refused_when_missing_unknown_expired_revoked_or_doubled,
    |db| async move {
        // Arrange
        let app = spawn(db).await;
        let (user, org) = (owner(&app).await, acme(&app).await);
        let good = key_for(&app, &user, &org, false, None).await;
        let new = NewKey {
            name: "short".into(),
            write: false,
            page: None,
            expires_in_days: Some(1),
        };
        let (expiring, expired) = app
            .services
            .create_api_key(&Principal::user(user.clone()), &org, new)
            .await
            .unwrap();
        sqlx::query("update api_keys set expires_at = 1 where key_id = $1")
            .bind(expiring.id.as_str())
            .execute(app.store.pool())
            .await
            .unwrap();
        let (revoked_row, revoked) = app
            .services
            .create_api_key(
                &Principal::user(user.clone()),
                &org,
                NewKey {
                    name: "gone".into(),
                    write: true,
                    page: None,
                    expires_in_days: None,
                },
            )
            .await
            .unwrap();
        app.services
            .revoke_api_key(&Principal::user(user.clone()), &revoked_row.id)
            .await
            .unwrap();
        let url = format!("{}/api/v1/me", app.base);
        let http = reqwest::Client::new();

        // Act + Assert: no key.
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error_code(401, &body), "unauthorized");

        for (key, needle) in [
            ("sg_not-a-real-key", "unknown"),
            (expired.as_str(), "expired"),
            (revoked.as_str(), "revoked"),
        ] {
            let (status, body) = json(&app, key, Method::GET, "/me", None).await;
            assert_eq!(status, 401, "{needle}");
            assert_eq!(error_code(401, &body), "unauthorized");
            assert!(
                body["error"]["message"].as_str().unwrap().contains(needle),
                "{body}"
            );
        }

        // Two credentials at once are refused, not chosen between.
        let r = http
            .get(&url)
            .header("x-statusgate-key", &good)
            .bearer_auth(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);

        // The bearer form works as the header does.
        let r = http.get(&url).bearer_auth(&good).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let me: serde_json::Value = r.json().await.unwrap();
        assert_eq!(me["scope"], "read");
        assert_eq!(me["org"]["slug"], "acme");
        assert_eq!(me["page_id"], serde_json::Value::Null);
        assert_eq!(me["user_id"], user.as_str());

        // Use is recorded in batches, not per request.
        app.services.flush_usage().await;
        let keys = app.store.api_keys_of_org(&org, None).await.unwrap();
        let used = keys.iter().find(|k| k.name == "test key").unwrap();
        assert!(used.last_used_at.is_some());
        assert!(
            keys.iter().all(|k| k.name != "gone"),
            "revoked keys are not listed"
        );
        app.stop().await;
    }
);

both_backends!(
    a_key_is_held_to_its_scope_its_org_its_page_and_its_users_role,
    |db| async move {
        // Arrange: a second page in acme, and a second organisation with its own owner.
        let app = spawn(db).await;
        let (user, org) = (owner(&app).await, acme(&app).await);
        let (page, component) = demo_ids(&app.services, "REST API").await;
        let other_page = app
            .services
            .create_page(
                &Principal::user(user.clone()),
                &org,
                "web",
                "web",
                "Acme Web",
                &[NewComponent {
                    name: "Site",
                    group: None,
                }],
            )
            .await
            .unwrap();
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let stranger = app
            .services
            .create_user("boss@globex.test", "long enough pw", &globex, Role::Owner)
            .await
            .unwrap();
        let read = owner_key(&app, false).await;
        let page_key = key_for(
            &app,
            &user,
            &org,
            true,
            Some(statusgate::ids::PageId::parse(&page).unwrap()),
        )
        .await;
        let foreign = key_for(&app, &stranger.id, &globex.id, true, None).await;
        let incident = json!({
            "title": "Errors", "message": "Looking", "notify": false,
            "affected_components": [{ "component_id": component, "status": "partial_outage" }],
        });
        let create = format!("/pages/{page}/incidents");

        // Act + Assert: a read key on a write route.
        let (status, body) = json(&app, &read, Method::POST, &create, Some(incident.clone())).await;
        assert_eq!(error_code(status, &body), "forbidden");
        assert_eq!(status, 403);

        // Another organisation's key: acme's page does not exist for it.
        let (status, body) =
            json(&app, &foreign, Method::GET, &format!("/pages/{page}"), None).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (404, "not_found")
        );
        let (_, pages) = json(&app, &foreign, Method::GET, "/pages", None).await;
        assert_eq!(pages["items"].as_array().unwrap().len(), 0);

        // A page-scoped key: its page only.
        let (_, pages) = json(&app, &page_key, Method::GET, "/pages", None).await;
        assert_eq!(pages["items"].as_array().unwrap().len(), 1);
        let other = format!("/pages/{}/incidents", other_page.id);
        let (status, body) = json(&app, &page_key, Method::GET, &other, None).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (403, "forbidden")
        );
        let (status, _) = json(
            &app,
            &page_key,
            Method::POST,
            &create,
            Some(incident.clone()),
        )
        .await;
        assert_eq!(status, 201);
        let (status, _) = json(&app, &page_key, Method::GET, "/audit", None).await;
        assert_eq!(status, 403);

        // A write key of an editor who is later made a viewer writes no more.
        let acme_org = app.services.org_by_slug("acme").await.unwrap();
        let editor = app
            .services
            .create_user("ed@acme.test", "long enough pw", &acme_org, Role::Editor)
            .await
            .unwrap();
        let editor_key = key_for(&app, &editor.id, &org, true, None).await;
        let (status, _) = json(
            &app,
            &editor_key,
            Method::POST,
            &create,
            Some(incident.clone()),
        )
        .await;
        assert_eq!(status, 201);
        app.services
            .set_role(
                &Principal::user(user.clone()),
                &org,
                &editor.id,
                Role::Viewer,
            )
            .await
            .unwrap();
        let (status, body) = json(&app, &editor_key, Method::POST, &create, Some(incident)).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (403, "forbidden")
        );
        app.stop().await;
    }
);

both_backends!(
    malformed_requests_get_the_error_shape_and_change_nothing,
    |db| async move {
        // Arrange
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        let (page, _) = demo_ids(&app.services, "REST API").await;
        let path = format!("/pages/{page}/incidents?state=all");
        let (_, before) = json(&app, &key, Method::GET, &path, None).await;
        let create = format!("{}/api/v1/pages/{page}/incidents", app.base);

        // Act + Assert: not JSON at all.
        let r = reqwest::Client::new()
            .post(&create)
            .header("x-statusgate-key", &key)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error_code(400, &body), "malformed");

        let cases = [
            json!({ "title": "No notify", "message": "m" }),
            json!({ "title": "Bad stage", "message": "m", "stage": "panicking", "notify": true }),
            json!({ "title": "", "message": "m", "notify": true }),
            json!({ "title": "Unknown field", "message": "m", "notify": true, "severity": 3 }),
            json!({ "title": "Bad component", "message": "m", "notify": true,
                    "affected_components": [{ "component_id": "cmp_00", "status": "major_outage" }] }),
        ];
        for body in cases {
            let (status, answer) = json(
                &app,
                &key,
                Method::POST,
                &format!("/pages/{page}/incidents"),
                Some(body.clone()),
            )
            .await;
            assert_eq!(status, 422, "{body} -> {answer}");
            assert_eq!(error_code(status, &answer), "unprocessable");
        }
        let (status, body) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/incidents?limit=abc"),
            None,
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "malformed")
        );
        let (status, body) = json(
            &app,
            &key,
            Method::GET,
            &format!("/pages/{page}/incidents?cursor=zzz"),
            None,
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "malformed")
        );
        let huge = json!({ "title": "x", "message": "y".repeat(300 * 1024), "notify": false });
        let (status, body) = json(
            &app,
            &key,
            Method::POST,
            &format!("/pages/{page}/incidents"),
            Some(huge),
        )
        .await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (413, "too_large")
        );
        let (status, body) = json(&app, &key, Method::GET, "/no/such/route", None).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (404, "not_found")
        );
        let (status, body) = json(&app, &key, Method::PUT, "/me", None).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (405, "method_not_allowed")
        );

        // Nothing was written.
        let (_, after) = json(&app, &key, Method::GET, &path, None).await;
        assert_eq!(before, after);
        app.stop().await;
    }
);

both_backends!(
    a_key_past_its_rate_gets_429_with_retry_after,
    |db| async move {
        // Arrange: three requests at once, then one a second.
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.api.burst = 3;
                c.api.rate_per_minute = 60;
            },
            Arc::new(SystemClock),
        )
        .await;
        let key = owner_key(&app, false).await;
        let other = owner_key(&app, false).await;

        // Act
        for _ in 0..3 {
            assert_eq!(
                call(&app, &key, Method::GET, "/me", None).await.status(),
                200
            );
        }
        let r = call(&app, &key, Method::GET, "/me", None).await;

        // Assert
        assert_eq!(r.status(), 429);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(error_code(429, &body), "rate_limited");
        // Each key has its own bucket.
        assert_eq!(
            call(&app, &other, Method::GET, "/me", None).await.status(),
            200
        );
        app.stop().await;
    }
);

both_backends!(
    key_actions_are_audited_as_api_key_with_the_tool_name,
    |db| async move {
        // Arrange
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        let (page, _) = demo_ids(&app.services, "REST API").await;

        // Act: as the page MCP server would call, naming its tool.
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/pages/{page}/incidents", app.base))
            .header("x-statusgate-key", &key)
            .header("x-statusgate-tool", "create_incident")
            .json(&json!({ "title": "Slow", "message": "Looking", "notify": false }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let created: serde_json::Value = r.json().await.unwrap();

        // Assert
        let (status, log) = json(&app, &key, Method::GET, "/audit?actor_type=api_key", None).await;
        assert_eq!(status, 200, "{log}");
        let rows = log["items"].as_array().unwrap();
        let row = rows
            .iter()
            .find(|r| r["action"] == "incident.created")
            .expect("audit row");
        assert_eq!(row["actor_type"], "api_key");
        assert_eq!(row["target_id"], created["incident_id"]);
        assert_eq!(row["detail"]["tool"], "create_incident");
        assert!(row["detail"]["api_key"]
            .as_str()
            .unwrap()
            .starts_with("key_"));
        assert!(rows.iter().all(|r| r["actor_type"] == "api_key"));
        let (status, body) = json(&app, &key, Method::GET, "/audit?actor_type=robot", None).await;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "malformed")
        );
        app.stop().await;
    }
);
