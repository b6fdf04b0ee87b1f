//! The sign-in and forgot-password forms hold no session: anonymous visitors showing them, or failing
//! to sign in, write no session row; the form is guarded by its cookie-bound token instead, so a
//! cross-site post is refused; a successful sign-in writes the one row and keeps `?next=`.

use crate::both_backends;
use crate::helpers::{csrf_in, TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

both_backends!(
    anonymous_sign_in_forms_write_no_session_rows,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let before = sessions(&app).await;
        for _ in 0..50 {
            let r = app.new_browser().get("/login").await;
            assert_eq!(r.status(), 200);
            assert!(csrf_in(&r.text().await.unwrap()).is_some());
        }
        for _ in 0..10 {
            assert_eq!(app.get("/login?next=/admin/members").await.status(), 200);
            assert_eq!(app.new_browser().get("/login/forgot").await.status(), 200);
        }
        assert_eq!(
            sessions(&app).await,
            before,
            "showing the forms wrote nothing"
        );

        // A wrong password is answered from the form token as well.
        let r = app.sign_in(ADMIN_EMAIL, "not the password").await;
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none(), "no session cookie");
        assert!(
            csrf_in(&r.text().await.unwrap()).is_some(),
            "the form again"
        );
        assert_eq!(sessions(&app).await, before);

        // Signing in writes the one row and still goes where `next` said.
        let csrf = app.csrf_on("/login?next=/admin/members").await;
        let r = app
            .post_form(
                "/login",
                &[
                    ("csrf", csrf.as_str()),
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                    ("next", "/admin/members"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/admin/members");
        assert_eq!(sessions(&app).await, before + 1);
        assert_eq!(app.get("/admin").await.status(), 200);
        // Signed in, the form sends the person on without a new row.
        let r = app.get("/login?next=/admin/members").await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/admin/members");
        assert_eq!(sessions(&app).await, before + 1);
    }
);

both_backends!(
    a_sign_in_post_without_the_form_cookie_is_refused,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let before = sessions(&app).await;
        let csrf = app.csrf_on("/login").await;
        let form = |t: &str| {
            vec![
                ("csrf", t.to_owned()),
                ("email", ADMIN_EMAIL.to_owned()),
                ("password", ADMIN_PASSWORD.to_owned()),
            ]
        };
        let post = |b: crate::helpers::Browser, t: String| async move {
            let f = form(&t);
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post_form("/login", &f).await.status().as_u16()
        };
        // Another site can make a browser post the form, but the SameSite=Strict cookie stays home.
        assert_eq!(post(app.new_browser(), csrf.clone()).await, 403);
        // Another visitor's cookie does not fit this token.
        let other = app.new_browser();
        other.get("/login").await;
        assert_eq!(post(other, csrf.clone()).await, 403);
        // A token made for another form, or tampered with, is refused too.
        let subscribe = crate::helpers::form_token_in(
            &app.get("/status/api/subscribe").await.text().await.unwrap(),
        )
        .unwrap();
        assert_eq!(post(app.browser.clone(), subscribe).await, 403);
        let (exp, mac) = csrf.split_once('.').unwrap();
        let later = format!("{}.{mac}", exp.parse::<i64>().unwrap() + 1);
        assert_eq!(post(app.browser.clone(), later).await, 403);
        assert_eq!(sessions(&app).await, before, "nobody signed in");
        assert_eq!(post(app.browser.clone(), csrf).await, 303);
        assert_eq!(sessions(&app).await, before + 1);
    }
);
