//! Members and the account page through the real forms: an invitation accepted by a new person and by
//! an existing account, expired and used links, the last owner kept, admins kept off owners, viewers
//! and other organisations refused; a removed member's key, session and connector all stop at their
//! next request; a password change needs the current one and signs out the person's other browsers.

use serde_json::json;
use statusgate::domain::Role;
use statusgate::ids::{OrgId, UserId};

use crate::api_support::{acme, key_for, owner};
use crate::both_backends;
use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::oauth::{access_from, authorize_path, consent, pkce, register_public, CALLBACK};

const PW: &str = "long enough pw";

/// Invites `email` into acme as `role` from the owner's browser; answers the link's token.
pub async fn invite(app: &TestApp, email: &str, role: &str) -> String {
    let org = acme(app).await;
    let (s, to, html) = app
        .submit(
            "/admin/members",
            "/admin/members/invite",
            &[("org", org.as_str()), ("email", email), ("role", role)],
        )
        .await;
    // The POST redirects; the link waits in the flash of the page it redirects to.
    assert_eq!(s, 303, "{html}");
    let html = app.get(&to).await.text().await.unwrap();
    let at = html.find("/invite/").expect("the link is shown") + "/invite/".len();
    html[at..at + 64].to_owned()
}

async fn role(app: &TestApp, org: &OrgId, user: &UserId) -> Option<Role> {
    app.store.role_of(org, user).await.unwrap()
}

async fn audited(app: &TestApp, org: &OrgId, action: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_log where org_id = $1 and action = $2")
        .bind(org.as_str())
        .bind(action)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn mcp_status(app: &TestApp, token: &str) -> u16 {
    crate::oauth::plain()
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(token)
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn api_status(app: &TestApp, key: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/api/v1/pages"))
        .header("x-statusgate-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

both_backends!(
    an_invited_person_joins_with_the_invited_role_and_a_link_works_once,
    |db: TestDb| async move {
        // Arrange
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let org = acme(&app).await;
        let html = app.get("/admin/members").await.text().await.unwrap();
        assert!(
            html.contains("<label for=\"email\">") && html.contains(ADMIN_EMAIL),
            "{html}"
        );
        assert!(
            html.contains("href=\"/admin/members\""),
            "the header links Members"
        );

        // A bad email comes back beside the field with the input kept.
        let (s, _, html) = app
            .submit(
                "/admin/members",
                "/admin/members/invite",
                &[
                    ("org", org.as_str()),
                    ("email", "not-an-email"),
                    ("role", "editor"),
                ],
            )
            .await;
        assert_eq!(s, 422);
        assert!(
            html.contains("id=\"email-error\"") && html.contains("value=\"not-an-email\""),
            "{html}"
        );

        // Act: invite, then accept in a fresh browser with a new password.
        let token = invite(&app, "New.Person@acme.test", "editor").await;
        let listed = app.get("/admin/members").await.text().await.unwrap();
        assert!(
            listed.contains("new.person@acme.test"),
            "pending invitation listed"
        );
        let guest = app.new_browser();
        let path = format!("/invite/{token}");
        let page = guest.get(&path).await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("<label for=\"password\">"), "{page}");
        let (s, _, html) = guest
            .submit(&path, &path, &[("password", PW), ("repeat", "other")])
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"repeat-error\""), "{html}");
        assert!(!html.contains(PW), "passwords are never sent back");
        let (s, _, html) = guest
            .submit(&path, &path, &[("password", "short"), ("repeat", "short")])
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"password-error\""), "{html}");
        let (s, to, _) = guest
            .submit(&path, &path, &[("password", PW), ("repeat", PW)])
            .await;

        // Assert: signed in, an editor (no members page), and able to sign in again later.
        assert_eq!(s, 303);
        assert!(to.starts_with("/admin"), "{to}");
        assert_eq!(guest.get("/admin").await.status(), 200);
        assert_eq!(guest.get("/admin/members").await.status(), 403);
        let user = app
            .store
            .user_id_by_email("new.person@acme.test")
            .await
            .unwrap();
        assert_eq!(role(&app, &org, &user).await, Some(Role::Editor));
        let later = app.new_browser();
        assert_eq!(
            later.sign_in("new.person@acme.test", PW).await.status(),
            303
        );
        assert_eq!(audited(&app, &org, "member.invited").await, 1);
        assert_eq!(audited(&app, &org, "member.joined").await, 1);

        // The link works once; unknown links are 404.
        assert_eq!(app.new_browser().get(&path).await.status(), 410);
        let (s, _, _) = app
            .new_browser()
            .submit("/login", &path, &[("password", PW), ("repeat", PW)])
            .await;
        assert_eq!(s, 410);
        assert_eq!(
            app.new_browser()
                .get(&format!("/invite/{}", "0".repeat(64)))
                .await
                .status(),
            404
        );
        assert_eq!(
            app.new_browser().get("/invite/nonsense").await.status(),
            404
        );

        // An expired link and a withdrawn one are refused and create nothing.
        let late = invite(&app, "late@acme.test", "viewer").await;
        sqlx::query("update invitations set expires_at = 1 where email = 'late@acme.test'")
            .execute(app.store.pool())
            .await
            .unwrap();
        let late_path = format!("/invite/{late}");
        let b = app.new_browser();
        assert_eq!(b.get(&late_path).await.status(), 410);
        let (s, _, _) = b
            .submit("/login", &late_path, &[("password", PW), ("repeat", PW)])
            .await;
        assert_eq!(s, 410);
        assert!(app.store.user_id_by_email("late@acme.test").await.is_err());
        let withdrawn = invite(&app, "withdrawn@acme.test", "viewer").await;
        let id: String = sqlx::query_scalar(
            "select invitation_id from invitations where email = 'withdrawn@acme.test'",
        )
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        let (s, _, _) = app
            .submit(
                "/admin/members",
                &format!("/admin/members/invitations/{id}/revoke"),
                &[("org", org.as_str())],
            )
            .await;
        assert_eq!(s, 303);
        assert_eq!(
            app.new_browser()
                .get(&format!("/invite/{withdrawn}"))
                .await
                .status(),
            410
        );
        assert_eq!(audited(&app, &org, "invitation.revoked").await, 1);
        app.stop().await;
    }
);

both_backends!(
    an_existing_account_accepts_after_signing_in_as_the_invited_person,
    |db: TestDb| async move {
        // Arrange: someone with an account in another organisation.
        let app = TestApp::spawn(db).await;
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let boss = app
            .services
            .create_user("boss@globex.test", PW, &globex, Role::Owner)
            .await
            .unwrap();
        app.sign_in_as_owner().await;
        let token = invite(&app, "boss@globex.test", "viewer").await;
        let path = format!("/invite/{token}");

        // Act + Assert: not signed in, the page asks to sign in and come back.
        let b = app.new_browser();
        let html = b.get(&path).await.text().await.unwrap();
        assert!(
            html.contains(&format!("/login?next=/invite/{token}")),
            "{html}"
        );
        assert!(
            !html.contains("name=\"password\""),
            "no password form for an existing account"
        );
        // Signed in as someone else, the invitation is not theirs to accept.
        assert_eq!(app.get(&path).await.status(), 403);
        let (s, _, _) = app.submit("/account", &path, &[]).await;
        assert_eq!(s, 403);

        assert_eq!(b.sign_in("boss@globex.test", PW).await.status(), 303);
        let html = b.get(&path).await.text().await.unwrap();
        assert!(
            html.contains("Join Acme") || html.contains("Join "),
            "{html}"
        );
        let (s, to, _) = b.submit(&path, &path, &[]).await;
        assert_eq!(s, 303, "joined");
        assert!(to.starts_with("/admin"), "{to}");
        let acme_org = acme(&app).await;
        assert_eq!(role(&app, &acme_org, &boss.id).await, Some(Role::Viewer));
        assert_eq!(role(&app, &globex.id, &boss.id).await, Some(Role::Owner));
        assert_eq!(b.get(&path).await.status(), 410);
        app.stop().await;
    }
);

both_backends!(
    the_last_owner_stays_admins_leave_owners_alone_and_others_are_refused,
    |db: TestDb| async move {
        // Arrange
        let app = TestApp::spawn(db).await;
        let org = acme(&app).await;
        let acme_org = app.services.org_by_slug("acme").await.unwrap();
        let me = owner(&app).await;
        let admin = app
            .services
            .create_user("admin@acme.test", PW, &acme_org, Role::Admin)
            .await
            .unwrap();
        let viewer = app
            .services
            .create_user("viewer@acme.test", PW, &acme_org, Role::Viewer)
            .await
            .unwrap();
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let stranger = app
            .services
            .create_user("boss@globex.test", PW, &globex, Role::Owner)
            .await
            .unwrap();
        app.sign_in_as_owner().await;
        let role_path = format!("/admin/members/{me}/role");
        let remove_path = format!("/admin/members/{me}/remove");

        // Act + Assert: the only owner cannot demote or remove themselves.
        let (s, _, html) = app
            .submit(
                "/admin/members",
                &role_path,
                &[("org", org.as_str()), ("role", "admin")],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("last owner"), "{html}");
        let (s, _, html) = app
            .submit("/admin/members", &remove_path, &[("org", org.as_str())])
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("last owner"), "{html}");
        assert_eq!(role(&app, &org, &me).await, Some(Role::Owner));

        // An admin cannot demote or remove an owner, nor make or invite one.
        let a = app.new_browser();
        assert_eq!(a.sign_in("admin@acme.test", PW).await.status(), 303);
        assert_eq!(a.get("/admin/members").await.status(), 200);
        let (s, _, _) = a
            .submit(
                "/admin/members",
                &role_path,
                &[("org", org.as_str()), ("role", "viewer")],
            )
            .await;
        assert_eq!(s, 403);
        let (s, _, _) = a
            .submit("/admin/members", &remove_path, &[("org", org.as_str())])
            .await;
        assert_eq!(s, 403);
        let (s, _, _) = a
            .submit(
                "/admin/members",
                &format!("/admin/members/{}/role", viewer.id),
                &[("org", org.as_str()), ("role", "owner")],
            )
            .await;
        assert_eq!(s, 403);
        let (s, _, html) = a
            .submit(
                "/admin/members",
                "/admin/members/invite",
                &[
                    ("org", org.as_str()),
                    ("email", "x@acme.test"),
                    ("role", "owner"),
                ],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"role-error\""), "{html}");
        assert_eq!(role(&app, &org, &me).await, Some(Role::Owner));
        // The admin may change a viewer's role.
        let (s, _, _) = a
            .submit(
                "/admin/members",
                &format!("/admin/members/{}/role", viewer.id),
                &[("org", org.as_str()), ("role", "editor")],
            )
            .await;
        assert_eq!(s, 303);
        assert_eq!(role(&app, &org, &viewer.id).await, Some(Role::Editor));
        assert_eq!(audited(&app, &org, "member.role_changed").await, 1);

        // Another organisation's member, or another organisation, is not found.
        let (s, _, _) = a
            .submit(
                "/admin/members",
                &format!("/admin/members/{}/remove", stranger.id),
                &[("org", org.as_str())],
            )
            .await;
        assert_eq!(s, 404);
        let (s, _, _) = a
            .submit(
                "/admin/members",
                &format!("/admin/members/{}/remove", stranger.id),
                &[("org", globex.id.as_str())],
            )
            .await;
        assert_eq!(s, 404);
        assert_eq!(
            a.get(&format!("/admin/members?org={}", globex.id))
                .await
                .status(),
            404
        );
        assert_eq!(
            role(&app, &globex.id, &stranger.id).await,
            Some(Role::Owner)
        );

        // Editors and viewers cannot see or change members.
        let v = app.new_browser();
        assert_eq!(v.sign_in("viewer@acme.test", PW).await.status(), 303);
        assert_eq!(v.get("/admin/members").await.status(), 403);
        let csrf = v.csrf_on("/account").await;
        let r = v
            .post_form(
                "/admin/members/invite",
                &[
                    ("csrf", &csrf),
                    ("org", org.as_str()),
                    ("email", "x@acme.test"),
                    ("role", "viewer"),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        let r = v
            .post_form(
                &format!("/admin/members/{}/remove", admin.id),
                &[("csrf", &csrf), ("org", org.as_str())],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(role(&app, &org, &admin.id).await, Some(Role::Admin));
        // A form without the CSRF token changes nothing.
        let r = app
            .post_form(
                &format!("/admin/members/{}/remove", admin.id),
                &[("org", org.as_str())],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(role(&app, &org, &admin.id).await, Some(Role::Admin));

        // With a second owner, the first may step down.
        let (s, _, _) = app
            .submit(
                "/admin/members",
                &format!("/admin/members/{}/role", admin.id),
                &[("org", org.as_str()), ("role", "owner")],
            )
            .await;
        assert_eq!(s, 303);
        let (s, _, _) = app
            .submit(
                "/admin/members",
                &role_path,
                &[("org", org.as_str()), ("role", "admin")],
            )
            .await;
        assert_eq!(s, 303);
        assert_eq!(role(&app, &org, &me).await, Some(Role::Admin));
        app.stop().await;
    }
);

both_backends!(
    a_removed_members_key_session_and_connector_stop_at_their_next_request,
    |db: TestDb| async move {
        // Arrange: an editor with a key, a browser session and a connector token.
        let app = TestApp::spawn(db).await;
        let org = acme(&app).await;
        let acme_org = app.services.org_by_slug("acme").await.unwrap();
        let ed = app
            .services
            .create_user("ed@acme.test", PW, &acme_org, Role::Editor)
            .await
            .unwrap();
        let key = key_for(&app, &ed.id, &org, true, None).await;
        let b = app.new_browser();
        assert_eq!(b.sign_in("ed@acme.test", PW).await.status(), 303);
        let client = register_public(&app, CALLBACK).await;
        let p = pkce();
        let to = consent(
            &b,
            &authorize_path(&client, CALLBACK, &p.challenge, &[]),
            "approve",
            |_| {},
        )
        .await;
        let token = access_from(&app, &client, &to, &p.verifier).await;
        let (page, _) = crate::helpers::demo_ids(&app.services, "REST API").await;
        let new_incident = format!("/admin/pages/{page}/incidents/new");
        assert_eq!(api_status(&app, &key).await, 200);
        assert_eq!(mcp_status(&app, &token).await, 200);
        assert_eq!(b.get(&new_incident).await.status(), 200);

        // Act
        app.sign_in_as_owner().await;
        let (s, _, _) = app
            .submit(
                "/admin/members",
                &format!("/admin/members/{}/remove", ed.id),
                &[("org", org.as_str())],
            )
            .await;
        assert_eq!(s, 303);

        // Assert
        assert_eq!(api_status(&app, &key).await, 401);
        assert_eq!(mcp_status(&app, &token).await, 401);
        assert_eq!(b.get(&new_incident).await.status(), 404);
        assert_eq!(role(&app, &org, &ed.id).await, None);
        assert_eq!(audited(&app, &org, "member.removed").await, 1);
        let html = app.get("/admin/members").await.text().await.unwrap();
        assert!(!html.contains("ed@acme.test"), "{html}");
        app.stop().await;
    }
);

both_backends!(
    a_password_change_needs_the_current_one_and_signs_out_other_browsers,
    |db: TestDb| async move {
        // Arrange: the owner in two browsers.
        let app = TestApp::spawn(db).await;
        let org = acme(&app).await;
        app.sign_in_as_owner().await;
        let other = app.new_browser();
        other.sign_in_as_owner().await;
        let html = app.get("/account").await.text().await.unwrap();
        for label in ["for=\"current\"", "for=\"new\"", "for=\"repeat\""] {
            assert!(html.contains(label), "{label}");
        }
        assert!(html.contains("/account/connections") && html.contains("/admin/api-keys"));
        let new_pw = "a brand new passphrase";

        // Act + Assert: refusals beside their field, nothing changed.
        let (s, _, html) = app
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current", "wrong password"),
                    ("new", new_pw),
                    ("repeat", new_pw),
                ],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"current-error\""), "{html}");
        assert!(!html.contains(new_pw), "passwords are never sent back");
        let (s, _, html) = app
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current", ADMIN_PASSWORD),
                    ("new", new_pw),
                    ("repeat", "different"),
                ],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"repeat-error\""), "{html}");
        let (s, _, html) = app
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current", ADMIN_PASSWORD),
                    ("new", "short"),
                    ("repeat", "short"),
                ],
            )
            .await;
        assert_eq!(s, 422);
        assert!(html.contains("id=\"new-error\""), "{html}");
        assert_eq!(other.get("/admin").await.status(), 200, "still signed in");

        let (s, to, _) = app
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current", ADMIN_PASSWORD),
                    ("new", new_pw),
                    ("repeat", new_pw),
                ],
            )
            .await;
        assert_eq!(s, 303);
        assert!(to.starts_with("/account?changed=1"), "{to}");
        assert_eq!(
            app.get("/admin").await.status(),
            200,
            "this browser stays signed in"
        );
        let r = other.get("/admin").await;
        assert_eq!(r.status(), 303, "the other browser is signed out");
        assert!(r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
        assert_eq!(
            app.new_browser()
                .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
                .await
                .status(),
            401
        );
        assert_eq!(
            app.new_browser()
                .sign_in(ADMIN_EMAIL, new_pw)
                .await
                .status(),
            303
        );
        assert_eq!(audited(&app, &org, "account.password_changed").await, 1);

        // Guessing the current password from an open session is throttled like sign-in.
        let guess = [("current", "a wrong guess"), ("new", PW), ("repeat", PW)];
        for _ in 0..5 {
            let (s, _, _) = app.submit("/account", "/account/password", &guess).await;
            assert_eq!(s, 422);
        }
        let right = [("current", new_pw), ("new", PW), ("repeat", PW)];
        let (s, _, _) = app.submit("/account", "/account/password", &right).await;
        assert_eq!(s, 429);
        app.stop().await;
    }
);

both_backends!(
    a_session_ended_elsewhere_is_not_brought_back_by_a_request_still_holding_it,
    |db: TestDb| async move {
        use statusgate::store::sessions::DbSessionStore;
        use tower_sessions::session::Record;
        use tower_sessions::SessionStore;

        // Arrange: a signed-in session row, its user id kept beside the data.
        let app = TestApp::spawn(db).await;
        let me = owner(&app).await;
        let store = DbSessionStore::new(app.store.clone());
        let mut record = Record {
            id: Default::default(),
            data: [("user_id".to_owned(), json!(me.as_str()))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        let owner_of: Option<String> =
            sqlx::query_scalar("select user_id from sessions where session_id = $1")
                .bind(record.id.to_string())
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(owner_of.as_deref(), Some(me.as_str()));

        // Act: the row is deleted (a password change elsewhere), then the request saves its copy.
        sqlx::query("delete from sessions where user_id = $1")
            .bind(me.as_str())
            .execute(app.store.pool())
            .await
            .unwrap();
        store.save(&record).await.unwrap();

        // Assert
        assert!(store.load(&record.id).await.unwrap().is_none());
        app.stop().await;
    }
);

/// Waits until the page shown contains `needle`; the click that posted a form returns before the next
/// page has loaded.
async fn shows(chrome: &crate::browser::Chrome, needle: &str) -> String {
    for _ in 0..100 {
        let html = chrome.source().await;
        if html.contains(needle) {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the page never showed {needle}: {}", chrome.source().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_is_sent_and_accepted_and_the_member_removed_in_a_real_browser() {
    let Some(chrome) = crate::browser::Chrome::start().await else {
        return;
    };
    let app = TestApp::spawn(TestDb::new(crate::helpers::Backend::Sqlite).await.unwrap()).await;
    let org = acme(&app).await;

    // The owner invites an editor.
    chrome.goto(&app.url("/admin/members")).await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("button[type=submit]").await;
    chrome.url_starting_with(&app.url("/admin/members")).await;
    shows(&chrome, "Invite someone").await;
    chrome.fill("#email", "invitee@acme.test").await;
    chrome.click("#role option[value='editor']").await;
    chrome
        .click("form[action='/admin/members/invite'] button[type=submit]")
        .await;
    let html = shows(&chrome, "flash-secret").await;
    let at = html.find("/invite/").unwrap() + "/invite/".len();
    let token = html[at..at + 64].to_owned();
    chrome.click("form[action='/logout'] button").await;
    chrome.url_starting_with(&app.url("/login")).await;

    // The invitee opens the link, chooses a password and is in, as an editor.
    chrome.goto(&app.url(&format!("/invite/{token}"))).await;
    shows(&chrome, "Create account and join").await;
    chrome.fill("#password", PW).await;
    chrome.fill("#repeat", PW).await;
    chrome.click("button[type=submit]").await;
    chrome.url_starting_with(&app.url("/admin")).await;
    shows(&chrome, "Dashboard").await;
    chrome.goto(&app.url("/admin/members")).await;
    shows(&chrome, "only organisation admins manage members").await;
    let invitee = app
        .store
        .user_id_by_email("invitee@acme.test")
        .await
        .unwrap();
    assert_eq!(role(&app, &org, &invitee).await, Some(Role::Editor));

    // Their key and a connector they approve work until the owner removes them.
    let key = key_for(&app, &invitee, &org, true, None).await;
    let b = app.new_browser();
    assert_eq!(b.sign_in("invitee@acme.test", PW).await.status(), 303);
    let client = register_public(&app, CALLBACK).await;
    let p = pkce();
    let path = authorize_path(&client, CALLBACK, &p.challenge, &[]);
    let to = consent(&b, &path, "approve", |_| {}).await;
    let token = access_from(&app, &client, &to, &p.verifier).await;
    assert_eq!(api_status(&app, &key).await, 200);
    assert_eq!(mcp_status(&app, &token).await, 200);

    chrome.goto(&app.url("/admin")).await;
    chrome.click("form[action='/logout'] button").await;
    chrome.url_starting_with(&app.url("/login")).await;
    chrome.goto(&app.url("/admin/members")).await;
    chrome.fill("#email", ADMIN_EMAIL).await;
    chrome.fill("#password", ADMIN_PASSWORD).await;
    chrome.click("button[type=submit]").await;
    shows(&chrome, "invitee@acme.test").await;
    // Remove goes through its confirmation page, whose button posts the real form.
    chrome
        .click(&format!("a[href^='/admin/members/{invitee}/remove']"))
        .await;
    shows(&chrome, "Remove invitee@acme.test?").await;
    chrome
        .click(&format!(
            "form[action='/admin/members/{invitee}/remove'] button"
        ))
        .await;
    for _ in 0..100 {
        if role(&app, &org, &invitee).await.is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(role(&app, &org, &invitee).await, None);
    assert_eq!(api_status(&app, &key).await, 401);
    assert_eq!(mcp_status(&app, &token).await, 401);
    app.stop().await;
}

both_backends!(
    an_invitation_is_emailed_when_smtp_is_set,
    |db: TestDb| async move {
        // Arrange
        let sink = crate::loopback::smtp_sink().await;
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.smtp.host = "127.0.0.1".into();
                c.smtp.port = sink.port;
                c.smtp.from = "status@acme.test".into();
            },
            std::sync::Arc::new(statusgate::clock::SystemClock),
        )
        .await;
        app.sign_in_as_owner().await;

        // Act
        let token = invite(&app, "mailed@acme.test", "viewer").await;

        // Assert: the same link, to the invitee; the page says it was emailed.
        let msgs = sink.messages.clone();
        let sent = crate::loopback::eventually(10, || msgs.lock().unwrap().len() == 1).await;
        assert!(sent, "invitation emailed");
        let mail = msgs.lock().unwrap()[0].clone();
        assert!(mail.contains(&format!("/invite/{token}")), "{mail}");
        assert!(
            mail.to_lowercase().contains("to: mailed@acme.test"),
            "{mail}"
        );
        app.stop().await;
    }
);
