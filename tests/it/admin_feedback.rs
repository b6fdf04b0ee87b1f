//! Admin feedback: every action answers 303 with a one-time flash (the invitation link and a new
//! key's secret shown once, never in a URL), the header by role, refusals inside the admin layout,
//! destructive actions behind a confirmation page, and organisations made from the web.

use statusgate::domain::Role;

use crate::api_support::acme;
use crate::both_backends;
use crate::helpers::{demo_ids, TestApp};

const FLASH: &str = "<div class=\"flash\" role=\"status\">";

/// Follows a 303 by hand (the test browser does not), answering the page's HTML.
async fn follow(app: &TestApp, status: u16, location: &str, body: &str) -> String {
    let shown = body.find("<main>").map_or(body, |at| &body[at..]);
    assert_eq!(status, 303, "{shown}");
    assert!(location.starts_with('/'), "{location}");
    app.get(location).await.text().await.unwrap()
}

fn secret_in(html: &str) -> Option<String> {
    let tag = "<code class=\"secret\" id=\"flash-secret\">";
    let at = html.find(tag)? + tag.len();
    Some(html[at..at + html[at..].find('<')?].to_owned())
}

async fn pending_invitations(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from invitations")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

both_backends!(
    an_invitation_link_shows_once_and_a_reload_posts_nothing,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let org = acme(&app).await;
        let before = pending_invitations(&app).await;

        let (s, to, body) = app
            .submit(
                "/admin/members",
                "/admin/members/invite",
                &[
                    ("org", org.as_str()),
                    ("email", "new@example.com"),
                    ("role", "editor"),
                ],
            )
            .await;
        assert!(
            !to.contains("/invite/"),
            "the link never travels in a URL: {to}"
        );
        let html = follow(&app, s, &to, &body).await;
        assert!(html.contains(FLASH), "{html}");
        let link = secret_in(&html).expect("the link is shown");
        assert!(link.contains("/invite/"), "{link}");
        assert_eq!(html.matches(&link).count(), 1, "shown exactly once");

        // A reload is a GET: it posts nothing and the link is gone.
        let again = app.get(&to).await.text().await.unwrap();
        assert!(!again.contains(&link) && !again.contains(FLASH), "{again}");
        assert_eq!(pending_invitations(&app).await, before + 1);
    }
);

both_backends!(a_new_keys_secret_shows_once, |db| async move {
    let app = TestApp::spawn(db).await;
    app.sign_in_as_owner().await;
    let (s, to, body) = app
        .submit(
            "/admin/api-keys",
            "/admin/api-keys",
            &[("name", "Deploys"), ("scope", "read")],
        )
        .await;
    assert!(!to.contains("sg_"), "{to}");
    let html = follow(&app, s, &to, &body).await;
    let secret = secret_in(&html).expect("the key is shown");
    assert!(secret.starts_with("sg_"), "{secret}");
    let again = app.get(&to).await.text().await.unwrap();
    assert!(
        again.contains("Deploys") && !again.contains(&secret),
        "{again}"
    );
});

both_backends!(saving_settings_flashes_once, |db| async move {
    let app = TestApp::spawn(db).await;
    app.sign_in_as_owner().await;
    let (page, _) = demo_ids(&app.services, "REST API").await;
    let settings = format!("/admin/pages/{page}/settings");
    let (s, to, body) = app
        .submit(
            &settings,
            &settings,
            &[("name", "API renamed"), ("published", "on")],
        )
        .await;
    let html = follow(&app, s, &to, &body).await;
    assert!(
        html.contains(FLASH) && html.contains("Settings saved."),
        "{html}"
    );
    let again = app.get(&to).await.text().await.unwrap();
    assert!(again.contains("API renamed"), "{again}");
    assert!(!again.contains("Settings saved."), "the flash shows once");
});

both_backends!(
    an_editor_sees_no_admin_links_and_a_plain_words_refusal_in_the_layout,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let org = app.services.org_by_slug("acme").await.unwrap();
        app.services
            .create_user("ed@example.com", "long enough pw", &org, Role::Editor)
            .await
            .unwrap();
        let ed = app.new_browser();
        assert_eq!(
            ed.sign_in("ed@example.com", "long enough pw")
                .await
                .status(),
            303
        );
        let page = ed.get("/admin").await.text().await.unwrap();
        let html = &page[page.find("<nav>").unwrap()..page.find("</nav>").unwrap()];
        for link in [
            "/admin/members\"",
            "/admin/hosted-mcp\"",
            "/admin/audit\"",
            "/admin/pages/new\"",
        ] {
            assert!(!html.contains(link), "an editor is offered {link}");
        }
        assert!(html.contains("/admin/api-keys\""), "{html}");
        // The owner still sees them.
        app.sign_in_as_owner().await;
        let owner = app.get("/admin").await.text().await.unwrap();
        assert!(owner.contains("/admin/members\"") && owner.contains("/admin/audit\""));

        let r = ed.get(&format!("/admin/members?org={}", org.id)).await;
        assert_eq!(r.status(), 403);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("<nav>") && html.contains("Sign out"),
            "inside the admin layout: {html}"
        );
        assert!(html.contains("your role (editor)"), "{html}");
        assert!(html.contains("ask an admin or owner"), "{html}");
    }
);

both_backends!(
    a_destructive_post_still_needs_csrf_and_its_confirmation_names_what_goes,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        // A component no open incident names (the demo's may be), so deleting it is allowed.
        let (page, _) = demo_ids(&app.services, "Webhooks").await;
        let settings = format!("/admin/pages/{page}/settings");
        let add = format!("/admin/pages/{page}/components");
        let (s, _, body) = app
            .submit(&settings, &add, &[("name", "Spare"), ("kind", "component")])
            .await;
        assert_eq!(s, 303, "{body}");
        let component: String =
            sqlx::query_scalar("select component_id from components where name = 'Spare'")
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        let path = format!("/admin/components/{component}/delete");

        let r = app.post_form(&path, &[]).await;
        assert_eq!(r.status(), 403, "no CSRF token, no deletion");
        let html = app.get(&path).await.text().await.unwrap();
        assert!(html.contains("Delete Spare"), "{html}");
        assert!(html.contains(&format!("action=\"{path}\"")), "{html}");
        assert!(html.contains("class=\"danger\""), "{html}");
        let settings = app
            .get(&format!("/admin/pages/{page}/settings"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            settings.contains(&format!("href=\"{path}\"")),
            "the list links to the confirmation"
        );

        let (s, to, body) = app.submit(&path, &path, &[]).await;
        let html = follow(&app, s, &to, &body).await;
        assert!(html.contains("Component deleted."), "{html}");
        assert!(app.get(&path).await.status() == 404);
    }
);

async fn org_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from orgs")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

both_backends!(
    creating_an_organisation_makes_you_its_owner_and_bad_input_changes_nothing,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let before = org_count(&app).await;

        for (name, slug, says) in [
            ("", "beta", "name"),
            ("Beta", "", "slug"),
            ("Acme again", "acme", "already exists"),
        ] {
            let (s, _, html) = app
                .submit(
                    "/admin/orgs",
                    "/admin/orgs",
                    &[("name", name), ("slug", slug)],
                )
                .await;
            assert_eq!(s, 422, "{html}");
            assert!(
                html.contains("<nav>") && html.contains(says),
                "{says}: {html}"
            );
            assert!(
                html.contains(&format!("value=\"{name}\"")),
                "kept what was typed"
            );
        }
        assert_eq!(org_count(&app).await, before);

        let (s, to, body) = app
            .submit(
                "/admin/orgs",
                "/admin/orgs",
                &[("name", "Beta Ltd"), ("slug", "beta")],
            )
            .await;
        let html = follow(&app, s, &to, &body).await;
        assert!(
            html.contains("Beta Ltd") && html.contains("you are its owner"),
            "{html}"
        );
        assert!(
            !html.contains("Switch to Beta Ltd"),
            "not offered while in it"
        );
        assert!(html.contains("Switch to Acme"), "{html}");
        let beta = app.services.org_by_slug("beta").await.unwrap();
        let me = crate::api_support::owner(&app).await;
        assert_eq!(
            app.store.role_of(&beta.id, &me).await.unwrap(),
            Some(Role::Owner)
        );
    }
);

both_backends!(
    another_organisations_ids_get_no_confirmation_page,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        // Globex, with its own owner and a page with one component: acme's owner reaches none of it.
        let s = &app.services;
        let globex = s.create_org("globex", "Globex").await.unwrap();
        let other = s
            .create_user(
                "owner@globex.test",
                "globex owner password",
                &globex,
                Role::Owner,
            )
            .await
            .unwrap();
        let them = statusgate::service::Principal::user(other.id);
        let components = [statusgate::service::pages::NewComponent {
            name: "Globex API",
            group: None,
        }];
        let page = s
            .create_page(&them, &globex.id, "gx", "gx", "Globex status", &components)
            .await
            .unwrap();
        let theirs = s.components(&them, &page.id).await.unwrap();
        let path = format!("/admin/components/{}/delete", theirs[0].id);
        let r = app.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(!r.text().await.unwrap().contains("Globex API"));
        // Their owner does get it, naming what goes.
        let (_, own) = demo_ids(s, "Webhooks").await;
        assert_eq!(
            app.get(&format!("/admin/components/{own}/delete"))
                .await
                .status(),
            200
        );
    }
);
