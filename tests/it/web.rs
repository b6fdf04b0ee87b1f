//! Sign-in, CSRF, roles, and the incident and maintenance forms, through the real pages.

use statusgate::domain::{ActorType, Role};

use crate::both_backends;
use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};

both_backends!(
    sign_in_accepts_the_right_password_and_refuses_a_wrong_one,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;

        let wrong = app.sign_in(ADMIN_EMAIL, "not the password").await;
        assert_eq!(wrong.status(), 401);
        assert!(wrong
            .text()
            .await
            .unwrap()
            .contains("wrong email or password"));
        assert_eq!(app.get("/admin").await.status(), 303, "still signed out");

        let right = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(right.status(), 303);
        let dash = app.get("/admin").await;
        assert_eq!(dash.status(), 200);
        let html = dash.text().await.unwrap();
        assert!(html.contains("Acme API") && html.contains("Delayed webhook deliveries"));
    }
);

both_backends!(
    repeated_failures_lock_the_email_out_from_that_address_even_with_the_right_password,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        for _ in 0..5 {
            assert_eq!(app.sign_in(ADMIN_EMAIL, "guess").await.status(), 401);
        }
        let locked = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(locked.status(), 429);
        assert!(locked.headers().contains_key("retry-after"));
        assert_eq!(app.get("/admin").await.status(), 303, "not signed in");
    }
);

both_backends!(
    forms_without_the_session_csrf_token_are_refused,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        // Login with a forged token.
        app.get("/login").await;
        let r = app
            .post_form(
                "/login",
                &[
                    ("csrf", "forged"),
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        app.sign_in_as_owner().await;
        let (page_id, _) = crate::helpers::demo_ids(&app.services, "Webhooks").await;
        let before = app
            .store
            .active_incidents(&statusgate::ids::PageId::parse(&page_id).unwrap())
            .await
            .unwrap();
        let path = format!("/admin/pages/{page_id}/incidents");
        let form = [
            ("title", "Forged"),
            ("stage", "investigating"),
            ("message", "x"),
        ];
        assert_eq!(app.post_form(&path, &form).await.status(), 403, "no token");
        let mut with_bad = form.to_vec();
        with_bad.push(("csrf", "0000"));
        assert_eq!(
            app.post_form(&path, &with_bad).await.status(),
            403,
            "wrong token"
        );
        let after = app
            .store
            .active_incidents(&statusgate::ids::PageId::parse(&page_id).unwrap())
            .await
            .unwrap();
        assert_eq!(before.len(), after.len(), "nothing written");
    }
);

both_backends!(
    sign_in_sends_people_back_only_to_local_paths,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let csrf = app.csrf_on("/login?next=//evil.example/x").await;
        let r = app
            .post_form(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                    ("next", "//evil.example/x"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/admin");
    }
);

both_backends!(
    viewers_cannot_open_incidents_and_editors_can,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let org = app.services.org_by_slug("acme").await.unwrap();
        app.services
            .create_user("viewer@acme.test", "viewer password", &org, Role::Viewer)
            .await
            .unwrap();
        app.services
            .create_user("editor@acme.test", "editor password", &org, Role::Editor)
            .await
            .unwrap();
        let (page_id, webhooks) = crate::helpers::demo_ids(&app.services, "Webhooks").await;
        let path = format!("/admin/pages/{page_id}/incidents");
        let status_field = format!("component_{webhooks}");

        assert_eq!(
            app.sign_in("viewer@acme.test", "viewer password")
                .await
                .status(),
            303
        );
        assert_eq!(
            app.get(&format!("/admin/pages/{page_id}/incidents/new"))
                .await
                .status(),
            403
        );
        let csrf = app.csrf_on("/admin").await;
        let form = [
            ("csrf", csrf.as_str()),
            ("title", "Viewer try"),
            ("stage", "investigating"),
            ("message", "m"),
        ];
        assert_eq!(app.post_form(&path, &form).await.status(), 403);

        let editor = app.new_browser();
        assert_eq!(
            editor
                .sign_in("editor@acme.test", "editor password")
                .await
                .status(),
            303
        );
        let csrf = editor
            .csrf_on(&format!("/admin/pages/{page_id}/incidents/new"))
            .await;
        let form = [
            ("csrf", csrf.as_str()),
            ("title", "Editor incident"),
            ("stage", "investigating"),
            ("message", "Looking into it"),
            (status_field.as_str(), "major_outage"),
        ];
        let r = editor.post_form(&path, &form).await;
        assert_eq!(r.status(), 303);
        assert!(r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/admin/incidents/inc_"));
        let public = app.get("/status/api").await.text().await.unwrap();
        assert!(public.contains("Editor incident") && public.contains("Major outage"));
    }
);

both_backends!(
    an_incident_runs_its_lifecycle_with_audit_rows,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let (page_id, webhooks) = crate::helpers::demo_ids(&app.services, "Webhooks").await;
        let comp = format!("component_{webhooks}");
        let csrf = app.csrf_on("/admin").await;

        let r = app
            .post_form(
                &format!("/admin/pages/{page_id}/incidents"),
                &[
                    ("csrf", &csrf),
                    ("title", "Checkout errors"),
                    ("stage", "investigating"),
                    ("message", "Errors at checkout"),
                    (&comp, "partial_outage"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let incident_id = location.trim_start_matches("/admin/incidents/").to_owned();

        for (stage, msg) in [
            ("identified", "Found it"),
            ("monitoring", "Fix deployed"),
            ("resolved", "All good"),
        ] {
            let r = app
                .post_form(
                    &format!("{location}/updates"),
                    &[("csrf", &csrf), ("stage", stage), ("message", msg)],
                )
                .await;
            assert_eq!(r.status(), 303, "{stage}");
        }
        // A resolved incident takes no update until it is reopened.
        let r = app
            .post_form(
                &format!("{location}/updates"),
                &[
                    ("csrf", &csrf),
                    ("stage", "monitoring"),
                    ("message", "again"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("reopen"));
        let r = app
            .post_form(
                &format!("{location}/reopen"),
                &[
                    ("csrf", &csrf),
                    ("stage", "investigating"),
                    ("message", "Back"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);

        let id = statusgate::ids::IncidentId::parse(&incident_id).unwrap();
        let incident = app.store.incident(&id).await.unwrap();
        assert_eq!(incident.stage.as_str(), "investigating");
        assert!(incident.resolved_at.is_none());
        let org = app.services.org_by_slug("acme").await.unwrap();
        let audit = app
            .store
            .audit_entries(&org.id, Some(ActorType::User), 100)
            .await
            .unwrap();
        let mine: Vec<_> = audit
            .iter()
            .filter(|a| a.target_id == incident_id)
            .map(|a| a.action.as_str())
            .collect();
        assert_eq!(
            mine,
            [
                "incident.reopened",
                "incident.resolved",
                "incident.updated",
                "incident.updated",
                "incident.created"
            ]
        );
        assert!(audit.iter().all(|a| a.user_id.is_some()));
    }
);

both_backends!(
    a_maintenance_runs_its_lifecycle_and_final_states_stay_final,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let (page_id, rest) = crate::helpers::demo_ids(&app.services, "REST API").await;
        let csrf = app.csrf_on("/admin").await;
        let now = time::OffsetDateTime::now_utc();
        let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        let start = (now + time::Duration::hours(1)).format(&fmt).unwrap();
        let end = (now + time::Duration::hours(3)).format(&fmt).unwrap();
        let comp = format!("component_{rest}");
        let path = format!("/admin/pages/{page_id}/maintenances");

        let backwards = [
            ("csrf", csrf.as_str()),
            ("title", "Bad"),
            ("starts_at", &end),
            ("ends_at", &start),
            ("message", "m"),
        ];
        assert_eq!(app.post_form(&path, &backwards).await.status(), 422);

        let r = app
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("title", "Network work"),
                    ("starts_at", &start),
                    ("ends_at", &end),
                    ("message", "Switch replacement"),
                    (&comp, "on"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let update = |state: &'static str| {
            let (app, csrf, location) = (&app, csrf.clone(), location.clone());
            async move {
                app.post_form(
                    &format!("{location}/updates"),
                    &[("csrf", &csrf), ("state", state), ("message", state)],
                )
                .await
                .status()
            }
        };
        assert_eq!(update("in_progress").await, 303);
        let comps = app
            .store
            .components(&statusgate::ids::PageId::parse(&page_id).unwrap())
            .await
            .unwrap();
        assert_eq!(
            comps
                .iter()
                .find(|c| c.name == "REST API")
                .unwrap()
                .status
                .as_str(),
            "under_maintenance"
        );
        assert_eq!(update("completed").await, 303);
        assert_eq!(update("in_progress").await, 422, "completed is final");
        let comps = app
            .store
            .components(&statusgate::ids::PageId::parse(&page_id).unwrap())
            .await
            .unwrap();
        assert_eq!(
            comps
                .iter()
                .find(|c| c.name == "REST API")
                .unwrap()
                .status
                .as_str(),
            "operational"
        );
        let org = app.services.org_by_slug("acme").await.unwrap();
        let actions: Vec<_> = app
            .store
            .audit_entries(&org.id, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        assert!(actions.starts_with(&[
            "maintenance.completed".to_owned(),
            "maintenance.started".to_owned(),
            "maintenance.scheduled".to_owned()
        ]));
    }
);

both_backends!(
    the_public_page_shows_the_active_incident_without_sign_in,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let r = app.get("/status/api").await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("Delayed webhook deliveries"));
        assert!(html.contains("Degraded performance"));
        assert!(html.contains("Database upgrade"), "upcoming maintenance");
        assert!(
            html.contains("Sign-in failures for some users"),
            "recent history"
        );
        assert!(!html.contains("<script"), "no JavaScript needed");
        assert_eq!(app.get("/status/nope").await.status(), 404);
    }
);

both_backends!(
    private_pages_are_never_framed_or_cached,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let r = app.get("/login").await;
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert_eq!(r.headers()["cache-control"], "no-store");
        // The sign-in form sets only its form cookie; the session cookie comes with signing in.
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.starts_with("statusgate_form=")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain-http public URL");
        let r = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.starts_with("statusgate_session=")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "plain-http public URL");
    }
);

both_backends!(
    oversized_and_malformed_input_is_refused_and_writes_nothing,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let (page_id, _) = crate::helpers::demo_ids(&app.services, "Webhooks").await;
        let pid = statusgate::ids::PageId::parse(&page_id).unwrap();
        let before = app.store.active_incidents(&pid).await.unwrap().len();
        let csrf = app.csrf_on("/admin").await;
        let path = format!("/admin/pages/{page_id}/incidents");
        let long_title = "t".repeat(201);
        let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
            (
                vec![
                    ("title", "Empty message"),
                    ("stage", "investigating"),
                    ("message", "   "),
                ],
                422,
            ),
            (
                vec![
                    ("title", &long_title),
                    ("stage", "investigating"),
                    ("message", "m"),
                ],
                422,
            ),
            (
                vec![
                    ("title", "Bad stage"),
                    ("stage", "panicking"),
                    ("message", "m"),
                ],
                422,
            ),
            (
                vec![
                    ("title", "Starts resolved"),
                    ("stage", "resolved"),
                    ("message", "m"),
                ],
                422,
            ),
            (
                vec![
                    ("title", "Foreign component"),
                    ("stage", "investigating"),
                    ("message", "m"),
                    ("component_cmp_00ff00ff00ff00ff00ff00ff", "major_outage"),
                ],
                422,
            ),
            (
                vec![
                    ("title", "Bad component id"),
                    ("stage", "investigating"),
                    ("message", "m"),
                    ("component_x", "major_outage"),
                ],
                400,
            ),
        ];
        for (mut form, status) in cases {
            form.push(("csrf", &csrf));
            let r = app.post_form(&path, &form).await;
            assert_eq!(r.status(), status, "{form:?}");
        }
        assert_eq!(
            app.post_form(
                "/admin/pages/pg_0000/incidents",
                &[
                    ("csrf", &csrf),
                    ("title", "x"),
                    ("stage", "investigating"),
                    ("message", "m")
                ]
            )
            .await
            .status(),
            404
        );
        assert_eq!(
            app.post_form("/admin/pages/nope/incidents", &[("csrf", &csrf)])
                .await
                .status(),
            404
        );
        let huge = "x".repeat(300 * 1024);
        let r = app
            .post_form(
                &path,
                &[
                    ("csrf", &csrf),
                    ("title", "Huge"),
                    ("stage", "investigating"),
                    ("message", &huge),
                ],
            )
            .await;
        assert_eq!(r.status(), 413);
        assert_eq!(
            app.store.active_incidents(&pid).await.unwrap().len(),
            before
        );
    }
);
