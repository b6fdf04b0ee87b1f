//! "Forgot your password?" against a real server and the loopback SMTP relay: the emailed link works
//! once, within the hour, ends every session of the person and signs nobody in; wrong links are
//! refused; an unknown email gets the same answer and no mail; requests are limited per address and
//! per person; without SMTP the sign-in page names the operator's command.

use std::sync::Arc;
use std::time::{Duration, Instant};

use statusgate::clock::{Clock, FixedClock, SystemClock};

use crate::both_backends;
use crate::helpers::{form_token_in, Browser, TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::loopback::{eventually, smtp_sink, SmtpSink};

const NEW_PASSWORD: &str = "a brand new password";

/// A server that mails through the loopback relay and believes one proxy's `X-Forwarded-For`.
async fn mailing(db: TestDb, clock: Arc<dyn Clock>) -> (TestApp, SmtpSink) {
    let sink = smtp_sink().await;
    let port = sink.port;
    let app = TestApp::spawn_with(
        db,
        |c| {
            c.smtp.host = "127.0.0.1".into();
            c.smtp.port = port;
            c.smtp.from = "status@acme.test".into();
            c.security.trusted_proxy_hops = 1;
        },
        clock,
    )
    .await;
    (app, sink)
}

/// Asks for a link for `email` through the real form, from client address `from`.
async fn ask(b: &Browser, email: &str, from: &str) -> reqwest::Response {
    let html = b.get("/login/forgot").await.text().await.unwrap();
    let token = form_token_in(&html).expect("the forgot form has a token");
    b.client
        .post(b.url("/login/forgot"))
        .header("x-forwarded-for", from)
        .form(&[("form_token", token.as_str()), ("email", email)])
        .send()
        .await
        .unwrap()
}

/// The `/login/reset/{token}` path in the `n`th mail, once it has arrived.
async fn link_in_mail(sink: &SmtpSink, n: usize) -> String {
    let msgs = sink.messages.clone();
    assert!(
        eventually(10, || msgs.lock().unwrap().len() > n).await,
        "mail {n} arrives"
    );
    let mail = msgs.lock().unwrap()[n].clone();
    let at = mail.find("/login/reset/").expect("a reset link") + "/login/reset/".len();
    format!("/login/reset/{}", &mail[at..at + 64])
}

/// Opens the link's form and posts a password and its repeat; answers the post.
async fn choose(b: &Browser, link: &str, password: &str, repeat: &str) -> reqwest::Response {
    let html = b.get(link).await.text().await.unwrap();
    let token = form_token_in(&html).expect("the reset form has a token");
    b.post_form(
        link,
        &[
            ("form_token", token.as_str()),
            ("password", password),
            ("repeat", repeat),
        ],
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

async fn signed_in(b: &Browser) -> bool {
    b.get("/admin").await.status() == 200
}

both_backends!(
    a_link_works_once_ends_every_session_and_signs_nobody_in,
    |db: TestDb| async move {
        let (app, sink) = mailing(db, Arc::new(SystemClock)).await;
        let (laptop, phone) = (app.new_browser(), app.new_browser());
        laptop.sign_in_as_owner().await;
        phone.sign_in_as_owner().await;
        assert!(signed_in(&laptop).await && signed_in(&phone).await);

        let stranger = app.new_browser();
        let r = ask(&stranger, ADMIN_EMAIL, "198.51.100.1").await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("on its way"));
        let link = link_in_mail(&sink, 0).await;
        let mail = sink.messages.lock().unwrap()[0].to_lowercase();
        assert!(mail.contains(&format!("to: {ADMIN_EMAIL}")), "{mail}");

        // Only the token's hash is stored.
        let token = link.rsplit('/').next().unwrap();
        let stored: String = sqlx::query_scalar("select token_hash from password_resets")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_ne!(stored, token);
        assert_eq!(stored, statusgate::ids::sha256_hex(token));

        // Showing the form uses nothing up; bad passwords are refused beside their field.
        let me = app.new_browser();
        assert_eq!(me.get(&link).await.status(), 200);
        let r = choose(&me, &link, NEW_PASSWORD, "something else").await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("id=\"repeat-error\""));
        let r = choose(&me, &link, "short", "short").await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("at least 8 characters"));
        assert!(signed_in(&laptop).await, "nothing changed yet");

        let r = choose(&me, &link, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Password changed"));
        assert!(!signed_in(&laptop).await, "the laptop's session ended");
        assert!(!signed_in(&phone).await, "the phone's session ended");
        assert!(!signed_in(&me).await, "the reset signs nobody in");
        assert!(!signed_in(&stranger).await);
        let owner_sessions = count(
            &app,
            "select count(*) from sessions where user_id is not null",
        )
        .await;
        assert_eq!(owner_sessions, 0);
        assert_eq!(
            count(
                &app,
                "select count(*) from audit_log where action = 'account.password_reset' \
                 and actor_type = 'user'"
            )
            .await,
            1
        );

        // Once: the link is gone, for the form and for a post with a token made before.
        let again = app.new_browser();
        let html = again.get(&link).await;
        assert_eq!(html.status(), 404);
        assert!(html.text().await.unwrap().contains("Link not valid"));
        // A second link, opened in one browser, used up in another: the first form is refused.
        let late = app.new_browser();
        ask(&late, ADMIN_EMAIL, "198.51.100.2").await;
        let second = link_in_mail(&sink, 1).await;
        let late_token = form_token_in(&late.get(&second).await.text().await.unwrap()).unwrap();
        let r = choose(&me, &second, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(r.status(), 200, "a fresh link works too");
        let r = late
            .post_form(
                &second,
                &[
                    ("form_token", late_token.as_str()),
                    ("password", "yet another password"),
                    ("repeat", "yet another password"),
                ],
            )
            .await;
        assert_eq!(r.status(), 404, "a used link refuses a form opened before");

        // The person signs in normally, with the new password only.
        let fresh = app.new_browser();
        assert_eq!(
            fresh.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
            401
        );
        assert_eq!(fresh.sign_in(ADMIN_EMAIL, NEW_PASSWORD).await.status(), 303);
        assert!(signed_in(&fresh).await);
        assert_eq!(count(&app, "select count(*) from password_resets").await, 0);
    }
);

both_backends!(a_link_expires_after_an_hour, |db: TestDb| async move {
    let clock = Arc::new(FixedClock::new(time::OffsetDateTime::now_utc()));
    let (app, sink) = mailing(db, clock.clone()).await;
    ask(&app.new_browser(), ADMIN_EMAIL, "198.51.100.1").await;
    let link = link_in_mail(&sink, 0).await;
    let b = app.new_browser();
    clock.advance(time::Duration::minutes(59));
    let html = b.get(&link).await;
    assert_eq!(html.status(), 200, "still open at 59 minutes");
    let token = form_token_in(&html.text().await.unwrap()).unwrap();
    clock.advance(time::Duration::minutes(2));
    assert_eq!(app.new_browser().get(&link).await.status(), 404);
    let r = b
        .post_form(
            &link,
            &[
                ("form_token", token.as_str()),
                ("password", NEW_PASSWORD),
                ("repeat", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 404, "expired at 61 minutes");
    assert_eq!(
        app.new_browser()
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        303,
        "the password is unchanged"
    );
});

both_backends!(
    wrong_forged_and_cross_site_resets_are_refused,
    |db: TestDb| async move {
        let (app, sink) = mailing(db, Arc::new(SystemClock)).await;
        let b = app.new_browser();
        for path in [
            format!("/login/reset/{}", "0".repeat(64)),
            format!("/login/reset/{}", statusgate::ids::random_hex(32)),
            "/login/reset/nonsense".to_owned(),
            format!("/login/reset/{}", "A".repeat(64)),
        ] {
            let r = b.get(&path).await;
            assert_eq!(r.status(), 404, "{path}");
            assert!(form_token_in(&r.text().await.unwrap()).is_none(), "no form");
        }

        ask(&b, ADMIN_EMAIL, "198.51.100.1").await;
        let link = link_in_mail(&sink, 0).await;
        // One digit off is another (unknown) link.
        let mut forged = link.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == '0' { '1' } else { '0' });
        assert_eq!(b.get(&forged).await.status(), 404);

        // The real link's form, posted without the visitor's cookie, or with a token made for
        // another link or for another form, changes nothing.
        let html = b.get(&link).await.text().await.unwrap();
        let token = form_token_in(&html).unwrap();
        let fields = |t: &str| {
            vec![
                ("form_token", t.to_owned()),
                ("password", NEW_PASSWORD.to_owned()),
                ("repeat", NEW_PASSWORD.to_owned()),
            ]
        };
        let post = |who: Browser, path: String, t: String| async move {
            let f = fields(&t);
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            who.post_form(&path, &f).await.status().as_u16()
        };
        assert_eq!(
            post(app.new_browser(), link.clone(), token.clone()).await,
            403
        );
        let forgot_token =
            form_token_in(&b.get("/login/forgot").await.text().await.unwrap()).unwrap();
        assert_eq!(post(b.clone(), link.clone(), forgot_token).await, 403);
        assert_eq!(post(b.clone(), link.clone(), "1.forged".into()).await, 403);
        assert_eq!(post(b.clone(), forged.clone(), token.clone()).await, 403);
        assert_eq!(
            app.new_browser()
                .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
                .await
                .status(),
            303,
            "the password is unchanged"
        );
        assert_eq!(b.get(&link).await.status(), 200, "and the link still open");

        // A cross-site request for a link (no form cookie) sends nothing.
        let r = app
            .new_browser()
            .post_form(
                "/login/forgot",
                &[("form_token", token.as_str()), ("email", ADMIN_EMAIL)],
            )
            .await;
        assert_eq!(r.status(), 403);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.messages.lock().unwrap().len(), 1);
    }
);

both_backends!(
    an_unknown_email_gets_the_same_answer_and_no_mail,
    |db: TestDb| async move {
        let (app, sink) = mailing(db, Arc::new(SystemClock)).await;
        let b = app.new_browser();
        let unknown = ask(&b, "nobody@acme.test", "198.51.100.1").await;
        let known = ask(&b, ADMIN_EMAIL, "198.51.100.2").await;
        assert_eq!(unknown.status(), known.status());
        let (unknown, known) = (unknown.text().await.unwrap(), known.text().await.unwrap());
        assert_eq!(unknown, known, "the same page, byte for byte");
        let link = link_in_mail(&sink, 0).await;
        assert!(!link.is_empty());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let msgs = sink.messages.lock().unwrap().clone();
        assert_eq!(msgs.len(), 1, "only the account's mail");
        assert!(msgs[0]
            .to_lowercase()
            .contains(&format!("to: {ADMIN_EMAIL}")));
        assert_eq!(count(&app, "select count(*) from password_resets").await, 1);

        // A malformed address is a field error, and changes nothing.
        let r = ask(&b, "not an email", "198.51.100.3").await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("id=\"email-error\""));
    }
);

both_backends!(
    the_answer_never_waits_for_the_relay,
    |db: TestDb| async move {
        // A relay that accepts connections and never speaks: sending would take the whole timeout.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((s, _)) = silent.accept().await {
                open.push(s);
            }
        });
        let app = TestApp::spawn_with(
            db,
            |c| {
                c.smtp.host = "127.0.0.1".into();
                c.smtp.port = port;
                c.smtp.from = "status@acme.test".into();
                c.smtp.timeout_ms = 10_000;
            },
            Arc::new(SystemClock),
        )
        .await;
        let b = app.new_browser();
        for email in [ADMIN_EMAIL, "nobody@acme.test"] {
            let started = Instant::now();
            let r = ask(&b, email, "198.51.100.1").await;
            assert_eq!(r.status(), 200);
            let took = started.elapsed();
            assert!(took < Duration::from_secs(3), "{email}: {took:?}");
        }
        held.abort();
    }
);

both_backends!(
    requests_are_limited_per_address_and_per_person,
    |db: TestDb| async move {
        let (app, sink) = mailing(db, Arc::new(SystemClock)).await;
        let b = app.new_browser();
        for i in 0..5 {
            let r = ask(&b, &format!("nobody{i}@acme.test"), "203.0.113.5").await;
            assert_eq!(r.status(), 200, "request {i}");
        }
        let r = ask(&b, ADMIN_EMAIL, "203.0.113.5").await;
        assert_eq!(r.status(), 429, "the address's bucket is empty");
        assert!(r.headers().contains_key("retry-after"));

        // From four addresses, one person still gets three links an hour.
        for from in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"] {
            let r = ask(&b, ADMIN_EMAIL, from).await;
            assert_eq!(r.status(), 200, "the same answer from {from}");
        }
        link_in_mail(&sink, 2).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(sink.messages.lock().unwrap().len(), 3);
        assert_eq!(count(&app, "select count(*) from password_resets").await, 3);
    }
);

both_backends!(
    without_smtp_the_page_names_the_operator_command,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let login = app.get("/login").await.text().await.unwrap();
        assert!(login.contains("statusgate user set-password"), "{login}");
        assert!(!login.contains("href=\"/login/forgot\""));
        let forgot = app.get("/login/forgot").await.text().await.unwrap();
        assert!(forgot.contains("statusgate user set-password"));
        assert!(form_token_in(&forgot).is_none(), "no form to fill in");

        let (mailing, _sink) = mailing(
            TestDb::new(app.db.backend).await.unwrap(),
            Arc::new(SystemClock),
        )
        .await;
        let login = mailing.get("/login").await.text().await.unwrap();
        assert!(login.contains("href=\"/login/forgot\""));
        assert!(!login.contains("statusgate user set-password"));
    }
);

both_backends!(
    changing_the_password_withdraws_open_links,
    |db: TestDb| async move {
        let (app, sink) = mailing(db, Arc::new(SystemClock)).await;
        ask(&app.new_browser(), ADMIN_EMAIL, "198.51.100.1").await;
        let link = link_in_mail(&sink, 0).await;
        assert_eq!(app.new_browser().get(&link).await.status(), 200);
        app.sign_in_as_owner().await;
        let (status, _, _) = app
            .submit(
                "/account",
                "/account/password",
                &[
                    ("current", ADMIN_PASSWORD),
                    ("new", NEW_PASSWORD),
                    ("repeat", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, 303);
        assert_eq!(
            app.new_browser().get(&link).await.status(),
            404,
            "a link sent before the change cannot undo it"
        );
    }
);
