//! The admin forms that run a status page: a team creates its page, sets it up, adds components and
//! sets a status by hand, and each refused value comes back as the same form (422) with the input
//! kept and the reason beside the field.

use crate::both_backends;
use crate::helpers::{csrf_in, TestApp, TestDb};

async fn public(app: &TestApp, slug: &str) -> (u16, String) {
    let r = reqwest::get(app.url(&format!("/status/{slug}")))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

both_backends!(
    a_team_sets_up_its_page_from_the_admin_forms,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let nav = app.get("/admin").await.text().await.unwrap();
        for link in ["/admin/pages/new", "/admin/hosted-mcp", "/admin/api-keys"] {
            assert!(nav.contains(link), "the header links {link}");
        }

        // A bad slug comes back with the typed name kept and the reason beside the slug.
        let (s, _, html) = app
            .submit(
                "/admin/pages/new",
                "/admin/pages",
                &[("name", "Payments"), ("slug", "Not A Slug")],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("value=\"Payments\""), "{html}");
        assert!(html.contains("id=\"slug-error\""), "{html}");
        let (s, to, _) = app
            .submit(
                "/admin/pages/new",
                "/admin/pages",
                &[
                    ("name", "Payments"),
                    ("slug", "payments"),
                    ("public_slug", "pay"),
                ],
            )
            .await;
        assert_eq!(s, 303, "created");
        assert!(to.ends_with("/settings"), "{to}");
        let settings = to.clone();
        let page_id = to
            .trim_start_matches("/admin/pages/")
            .trim_end_matches("/settings")
            .to_owned();
        // The same slug again is a conflict shown above the form.
        let (s, _, html) = app
            .submit(
                "/admin/pages/new",
                "/admin/pages",
                &[("name", "Again"), ("slug", "payments")],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("already exists"), "{html}");

        let add = format!("/admin/pages/{page_id}/components");
        let (s, _, _) = app
            .submit(&settings, &add, &[("name", "Cards"), ("kind", "group")])
            .await;
        assert_eq!(s, 303);
        let page = statusgate::ids::PageId::parse(&page_id).unwrap();
        let id_of = |name: &'static str| {
            let (app, page) = (&app, page.clone());
            async move {
                let all = app.store.components(&page).await.unwrap();
                all.into_iter()
                    .find(|c| c.name == name)
                    .unwrap()
                    .id
                    .to_string()
            }
        };
        let group_id = id_of("Cards").await;
        let (s, _, _) = app
            .submit(
                &settings,
                &add,
                &[
                    ("name", "Visa"),
                    ("kind", "component"),
                    ("parent_id", &group_id),
                ],
            )
            .await;
        assert_eq!(s, 303);
        let (s, _, html) = app
            .submit(&settings, &add, &[("name", ""), ("kind", "component")])
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("must not be empty"), "{html}");
        let (_, html) = public(&app, "pay").await;
        assert!(html.contains("Visa") && html.contains("Cards"), "{html}");

        // A status set by hand shows on the public page at once.
        let visa = id_of("Visa").await;
        let (s, _, body) = app
            .submit(
                &settings,
                &format!("/admin/components/{visa}/status"),
                &[("status", "partial_outage")],
            )
            .await;
        assert_eq!(s, 303, "{body}");
        let (_, html) = public(&app, "pay").await;
        assert!(html.contains("Partial outage"), "{html}");

        // Settings: a bad time zone keeps what was typed; a good one is saved; unpublishing hides it.
        let (s, _, html) = app
            .submit(
                &settings,
                &settings,
                &[
                    ("name", "Payments"),
                    ("public_slug", "pay"),
                    ("time_zone", "Atlantis/Capital"),
                    ("published", "true"),
                ],
            )
            .await;
        assert_eq!(s, 422);
        assert!(
            html.contains("value=\"Atlantis/Capital\"") && html.contains("IANA time zone"),
            "{html}"
        );
        let (s, _, _) = app
            .submit(
                &settings,
                &settings,
                &[
                    ("name", "Payments"),
                    ("public_slug", "pay"),
                    ("time_zone", "Europe/Berlin"),
                    ("accent_color", "#0a7d32"),
                ],
            )
            .await;
        assert_eq!(s, 303);
        assert_eq!(
            public(&app, "pay").await.0,
            404,
            "unticked published hides the page"
        );
        let html = app.get(&settings).await.text().await.unwrap();
        assert!(
            html.contains("Europe/Berlin") && html.contains("#0a7d32"),
            "{html}"
        );

        // Deleting needs the slug typed.
        let delete = format!("/admin/pages/{page_id}/delete");
        let (s, _, html) = app.submit(&settings, &delete, &[("confirm", "pay")]).await;
        assert_eq!(s, 422);
        assert!(html.contains("type the page"), "{html}");
        let (s, to, _) = app
            .submit(&settings, &delete, &[("confirm", "payments")])
            .await;
        assert_eq!((s, to.as_str()), (303, "/admin"));
        assert_eq!(app.get(&settings).await.status(), 404);
    }
);

both_backends!(
    page_forms_refuse_without_csrf_and_for_editors,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let org = app.services.org_by_slug("acme").await.unwrap();
        app.services
            .create_user(
                "ed@example.com",
                "correct horse battery staple",
                &org,
                statusgate::domain::Role::Editor,
            )
            .await
            .unwrap();
        app.sign_in_as_owner().await;
        let r = app
            .post_form("/admin/pages", &[("name", "X"), ("slug", "x")])
            .await;
        assert_eq!(r.status(), 403, "no CSRF token");
        let editor = app.new_browser();
        editor
            .sign_in("ed@example.com", "correct horse battery staple")
            .await;
        assert_eq!(editor.get("/admin/pages/new").await.status(), 403);
        let html = editor.get("/admin").await.text().await.unwrap();
        let csrf = csrf_in(&html).unwrap();
        let r = editor
            .post_form(
                "/admin/pages",
                &[("csrf", &csrf), ("name", "X"), ("slug", "x")],
            )
            .await;
        assert_eq!(r.status(), 403);
    }
);
