//! The admin pages for a person in several organisations: switching the one shown, renaming it (owners
//! only), a page's incident and maintenance history, and the audit log for admins.

use statusgate::domain::{IncidentStage, Message, NewIncidentUpdate, Role};
use statusgate::ids::{OrgId, UserId};
use statusgate::service::{Principal, Services};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb, ADMIN_EMAIL};

const PASSWORD: &str = "long enough pw";

async fn owner(s: &Services) -> UserId {
    s.user_by_email(ADMIN_EMAIL).await.unwrap().id
}

async fn acme(s: &Services) -> OrgId {
    s.org_by_slug("acme").await.unwrap().id
}

/// Makes `user` a `role` of `org` directly, as an invitation would.
async fn join(app: &TestApp, org: &OrgId, user: &UserId, role: Role) {
    let st = &app.store;
    let s = &app.services;
    let mut tx = st.begin().await.unwrap();
    st.upsert_membership(&mut tx, org, user, role, s.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A second organisation `globex` with a page `Globex Status`, its owner `boss@globex.test`, and
/// the demo owner as a member with `role`.
async fn globex(app: &TestApp, demo_owner_role: Role) -> OrgId {
    let s = &app.services;
    let org = s.create_org("globex", "Globex").await.unwrap();
    let boss = s
        .create_user("boss@globex.test", PASSWORD, &org, Role::Owner)
        .await
        .unwrap();
    s.create_page(
        &Principal::user(boss.id),
        &org.id,
        "status",
        "globex-status",
        "Globex Status",
        &[],
    )
    .await
    .unwrap();
    join(app, &org.id, &owner(s).await, demo_owner_role).await;
    org.id
}

async fn status_and_body(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

both_backends!(
    switching_organisation_changes_the_dashboard,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let globex = globex(&app, Role::Viewer).await;
        app.sign_in_as_owner().await;
        let dash = app.get("/admin").await.text().await.unwrap();
        assert!(
            dash.contains("Acme API") && dash.contains("Globex Status"),
            "all by default"
        );
        assert!(
            dash.contains("href=\"/admin/orgs\""),
            "the header links the organisations"
        );

        let orgs = app.get("/admin/orgs").await.text().await.unwrap();
        assert!(orgs.contains("Switch to Globex") && orgs.contains("your role: viewer"));
        let csrf = app.csrf_on("/admin/orgs").await;
        let r = app
            .post_form(
                "/admin/orgs/switch",
                &[("csrf", &csrf), ("org", globex.as_str())],
            )
            .await;
        assert_eq!(r.status(), 303);
        let dash = app.get("/admin").await.text().await.unwrap();
        assert!(
            dash.contains("Globex Status") && !dash.contains("Acme API"),
            "{dash}"
        );
        assert!(
            dash.contains("Organisations (Globex)"),
            "the header names the current one"
        );

        // Without the CSRF token, or to an organisation they are not in, nothing changes.
        let r = app.post_form("/admin/orgs/switch", &[("org", "all")]).await;
        assert_eq!(r.status(), 403);
        let stranger = app.services.create_org("initech", "Initech").await.unwrap();
        let r = app
            .post_form(
                "/admin/orgs/switch",
                &[("csrf", &csrf), ("org", stranger.id.as_str())],
            )
            .await;
        assert_eq!(r.status(), 404);
        assert!(!app
            .get("/admin")
            .await
            .text()
            .await
            .unwrap()
            .contains("Acme API"));

        let r = app
            .post_form("/admin/orgs/switch", &[("csrf", &csrf), ("org", "all")])
            .await;
        assert_eq!(r.status(), 303);
        let dash = app.get("/admin").await.text().await.unwrap();
        assert!(dash.contains("Acme API") && dash.contains("Globex Status"));
    }
);

both_backends!(
    owners_rename_their_organisation_and_admins_cannot,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let acme = acme(s).await;
        app.sign_in_as_owner().await;
        let path = format!("/admin/orgs/{acme}/rename");

        // A bad name comes back beside the field with the input kept; nothing changes.
        let csrf = app.csrf_on("/admin/orgs").await;
        let long = "x".repeat(300);
        let (status, html) = status_and_body(
            app.post_form(&path, &[("csrf", &csrf), ("name", &long)])
                .await,
        )
        .await;
        assert_eq!(status, 422);
        assert!(
            html.contains(&format!("id=\"name-{acme}-error\"")),
            "{html}"
        );
        assert!(html.contains(&format!("value=\"{long}\"")));
        assert_eq!(s.org_by_slug("acme").await.unwrap().name, "Acme Inc.");

        let r = app
            .post_form(&path, &[("csrf", &csrf), ("name", "Acme Holdings")])
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(s.org_by_slug("acme").await.unwrap().name, "Acme Holdings");
        let log = st.audit_entries(&acme, None, 5).await.unwrap();
        assert!(log.iter().any(|e| e.action == "org.renamed"));

        // An admin manages settings but may not rename; the form is not offered to them either.
        let org = s.org_by_slug("acme").await.unwrap();
        s.create_user("admin@acme.test", PASSWORD, &org, Role::Admin)
            .await
            .unwrap();
        let admin = app.new_browser();
        assert_eq!(
            admin.sign_in("admin@acme.test", PASSWORD).await.status(),
            303
        );
        let page = admin.get("/admin/orgs").await.text().await.unwrap();
        assert!(!page.contains(&path), "no rename form for an admin");
        let csrf = admin.csrf_on("/admin/orgs").await;
        let r = admin
            .post_form(&path, &[("csrf", &csrf), ("name", "Hijacked")])
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(s.org_by_slug("acme").await.unwrap().name, "Acme Holdings");
    }
);

both_backends!(
    history_filters_and_pages_incidents_and_maintenances,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let (page_id, _) = demo_ids(s, "REST API").await;
        let page = statusgate::ids::PageId::parse(&page_id).unwrap();
        let me = Principal::user(owner(s).await);
        // The demo has one active incident; 26 more make 27 active, two pages of 25.
        for n in 0..26 {
            let first = NewIncidentUpdate {
                stage: IncidentStage::Investigating,
                message: Message::parse("message", "Looking.").unwrap(),
                affected: Vec::new(),
                notify: false,
            };
            s.create_incident(&me, &page, &format!("Outage number {n}"), first)
                .await
                .unwrap();
        }
        app.sign_in_as_owner().await;
        let settings = app.get(&format!("/admin/pages/{page_id}/settings")).await;
        let history = format!("/admin/pages/{page_id}/history");
        assert!(settings.text().await.unwrap().contains(&history));

        let (status, html) = status_and_body(
            app.get(&format!("{history}?kind=incidents&state=active"))
                .await,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(html.matches("href=\"/admin/incidents/").count(), 25);
        assert!(!html.contains("rel=\"prev\""));
        assert!(html.contains("offset=25\" rel=\"next\""), "{html}");
        let (_, html) = status_and_body(
            app.get(&format!("{history}?kind=incidents&state=active&offset=25"))
                .await,
        )
        .await;
        assert_eq!(html.matches("href=\"/admin/incidents/").count(), 2);
        assert!(html.contains("rel=\"prev\"") && !html.contains("rel=\"next\""));

        let (_, html) = status_and_body(
            app.get(&format!("{history}?kind=incidents&state=resolved"))
                .await,
        )
        .await;
        assert_eq!(
            html.matches("href=\"/admin/incidents/").count(),
            1,
            "the demo's resolved one"
        );
        assert!(!html.contains("Outage number"));

        let (_, html) = status_and_body(
            app.get(&format!("{history}?kind=maintenances&state=scheduled"))
                .await,
        )
        .await;
        assert_eq!(html.matches("href=\"/admin/maintenances/").count(), 1);
        let (_, html) = status_and_body(
            app.get(&format!("{history}?kind=maintenances&state=completed"))
                .await,
        )
        .await;
        assert_eq!(html.matches("href=\"/admin/maintenances/").count(), 0);

        // A bad filter comes back beside its field.
        let (status, html) = status_and_body(
            app.get(&format!("{history}?kind=maintenances&state=resolved"))
                .await,
        )
        .await;
        assert_eq!(status, 422);
        assert!(html.contains("id=\"state-error\""), "{html}");
        let (status, _) =
            status_and_body(app.get(&format!("{history}?kind=everything")).await).await;
        assert_eq!(status, 422);
        let (status, _) = status_and_body(app.get(&format!("{history}?offset=-3")).await).await;
        assert_eq!(status, 422);

        // Another organisation's member does not see the page at all.
        let globex = s.create_org("globex", "Globex").await.unwrap();
        s.create_user("boss@globex.test", PASSWORD, &globex, Role::Owner)
            .await
            .unwrap();
        let other = app.new_browser();
        other.sign_in("boss@globex.test", PASSWORD).await;
        assert_eq!(other.get(&history).await.status(), 404);
    }
);

both_backends!(
    the_audit_page_filters_for_admins_only,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let acme = acme(s).await;
        app.sign_in_as_owner().await;
        let nav = app.get("/admin").await.text().await.unwrap();
        assert!(nav.contains("href=\"/admin/audit\""));

        let (status, html) = status_and_body(app.get("/admin/audit").await).await;
        assert_eq!(status, 200);
        assert!(html.contains("<label for=\"actor\"") && html.contains("<label for=\"from\""));
        assert!(
            html.contains("incident.created") && html.contains("user.created"),
            "{html}"
        );
        let (_, html) = status_and_body(app.get("/admin/audit?actor=system").await).await;
        assert!(
            html.contains("user.created") && !html.contains("incident.created"),
            "{html}"
        );
        let (_, html) = status_and_body(app.get("/admin/audit?actor=user").await).await;
        assert!(!html.contains("user.created") && html.contains("incident.created"));
        assert!(html.contains(ADMIN_EMAIL), "a person is named by email");

        let today = s.clock.now().date();
        let day = |d: time::Date| {
            let f = time::macros::format_description!("[year]-[month]-[day]");
            d.format(&f).unwrap()
        };
        let tomorrow = day(today.next_day().unwrap());
        let yesterday = day(today.previous_day().unwrap());
        let (_, html) =
            status_and_body(app.get(&format!("/admin/audit?from={tomorrow}")).await).await;
        assert!(html.contains("No entries."));
        let (_, html) =
            status_and_body(app.get(&format!("/admin/audit?to={yesterday}")).await).await;
        assert!(html.contains("No entries."));
        let (_, html) = status_and_body(
            app.get(&format!(
                "/admin/audit?from={}&to={}",
                day(today),
                day(today)
            ))
            .await,
        )
        .await;
        assert!(
            html.contains("incident.created"),
            "`to` includes its whole day"
        );

        let (status, html) = status_and_body(app.get("/admin/audit?from=yesterday").await).await;
        assert_eq!(status, 422);
        assert!(html.contains("id=\"from-error\"") && html.contains("value=\"yesterday\""));
        let (status, html) = status_and_body(app.get("/admin/audit?actor=robot").await).await;
        assert_eq!(status, 422);
        assert!(html.contains("id=\"actor-error\""));
        let (status, _) = status_and_body(
            app.get(&format!("/admin/audit?from={tomorrow}&to={yesterday}"))
                .await,
        )
        .await;
        assert_eq!(status, 422);

        // 50 a page: enough renames make a second page.
        let me = Principal::user(owner(s).await);
        for n in 0..50 {
            s.rename_org(&me, &acme, &format!("Acme {n}"))
                .await
                .unwrap();
        }
        let (_, html) = status_and_body(app.get("/admin/audit?actor=user").await).await;
        assert_eq!(html.matches("<tr><td>").count(), 50);
        assert!(html.contains("offset=50") && html.contains("rel=\"next\""));
        let (_, html) = status_and_body(app.get("/admin/audit?actor=user&offset=50").await).await;
        assert!(html.contains("rel=\"prev\"") && html.contains("incident.created"));

        // A viewer is refused; an admin of another organisation cannot name this one.
        let org = s.org_by_slug("acme").await.unwrap();
        s.create_user("viewer@acme.test", PASSWORD, &org, Role::Viewer)
            .await
            .unwrap();
        let viewer = app.new_browser();
        viewer.sign_in("viewer@acme.test", PASSWORD).await;
        assert_eq!(viewer.get("/admin/audit").await.status(), 403);
        let globex = s.create_org("globex", "Globex").await.unwrap();
        s.create_user("admin@globex.test", PASSWORD, &globex, Role::Admin)
            .await
            .unwrap();
        let outsider = app.new_browser();
        outsider.sign_in("admin@globex.test", PASSWORD).await;
        let (status, html) = status_and_body(outsider.get("/admin/audit").await).await;
        assert_eq!(status, 200, "their own log");
        assert!(html.contains("Globex") && !html.contains("incident.created"));
        let (status, _) =
            status_and_body(outsider.get(&format!("/admin/audit?org={acme}")).await).await;
        assert_eq!(status, 404);
    }
);
