//! Sign-in throttling: attempts are counted per (email, client address) before the password is checked,
//! so parallel guesses get no more tries than the limit; guessing from one address does not lock the
//! owner out elsewhere; and each address has a bucket of attempts across all emails.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::config::Config;

use crate::both_backends;
use crate::helpers::{Browser, TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A server behind one (pretend) proxy, so `X-Forwarded-For` names the client address.
async fn behind_proxy(db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(
        db,
        |c| {
            c.security.trusted_proxy_hops = 1;
            tweak(c);
        },
        Arc::new(SystemClock),
    )
    .await
}

/// Posts the sign-in form from client address `from`; returns the status.
async fn sign_in_from(b: &Browser, from: &str, email: &str, password: &str) -> reqwest::Response {
    let csrf = b.csrf_on("/login").await;
    b.client
        .post(b.url("/login"))
        .header("x-forwarded-for", from)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/admin"),
        ])
        .send()
        .await
        .unwrap()
}

both_backends!(
    parallel_guesses_get_no_more_attempts_than_the_limit,
    |db: TestDb| async move {
        let app = behind_proxy(db, |c| {
            c.security.login_max_failures = 5;
            c.security.login_per_address_burst = 1_000;
        })
        .await;
        let csrf = app.csrf_on("/login").await;

        let mut guesses = tokio::task::JoinSet::new();
        for i in 0..20 {
            let (b, csrf) = (app.browser.clone(), csrf.clone());
            guesses.spawn(async move {
                let guess = format!("guess number {i}");
                b.post_form(
                    "/login",
                    &[
                        ("csrf", &csrf),
                        ("email", ADMIN_EMAIL),
                        ("password", &guess),
                    ],
                )
                .await
                .status()
                .as_u16()
            });
        }
        let statuses = guesses.join_all().await;
        let checked = statuses.iter().filter(|s| **s == 401).count();
        let throttled = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(
            (checked, throttled),
            (5, 15),
            "only the limit's worth of guesses reach the password check: {statuses:?}"
        );

        let right = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(
            right.status(),
            429,
            "the address is throttled for this email"
        );
        let wait: u64 = right.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&wait), "{wait}");
        assert_eq!(app.get("/admin").await.status(), 303, "not signed in");
    }
);

both_backends!(
    guessing_from_one_address_does_not_lock_the_owner_out_from_another,
    |db: TestDb| async move {
        let app = behind_proxy(db, |_| {}).await;
        let attacker = app.new_browser();
        for _ in 0..5 {
            let r = sign_in_from(&attacker, "203.0.113.66", ADMIN_EMAIL, "guess").await;
            assert_eq!(r.status(), 401);
        }
        let r = sign_in_from(&attacker, "203.0.113.66", ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 429, "the guessing address is throttled");

        let owner = app.new_browser();
        let r = sign_in_from(&owner, "198.51.100.7", ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303, "the owner signs in from elsewhere");
        assert_eq!(owner.get("/admin").await.status(), 200);
    }
);

both_backends!(
    a_success_clears_the_count_and_unknown_emails_get_the_same_answer,
    |db: TestDb| async move {
        let app = behind_proxy(db, |_| {}).await;
        let me = app.new_browser();
        let from = "198.51.100.7";
        for _ in 0..4 {
            let r = sign_in_from(&me, from, ADMIN_EMAIL, "typo").await;
            assert_eq!(r.status(), 401);
        }
        let r = sign_in_from(&me, from, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303);
        let again = app.new_browser();
        for _ in 0..5 {
            let r = sign_in_from(&again, from, ADMIN_EMAIL, "typo").await;
            assert_eq!(r.status(), 401, "the success started the count afresh");
        }

        let wrong = sign_in_from(&again, "192.0.2.1", ADMIN_EMAIL, "typo").await;
        let unknown = sign_in_from(&again, "192.0.2.1", "nobody@acme.test", "typo").await;
        assert_eq!(
            (wrong.status().as_u16(), unknown.status().as_u16()),
            (401, 401)
        );
        let (wrong, unknown) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
        assert!(wrong.contains("wrong email or password"));
        assert!(unknown.contains("wrong email or password"));
    }
);

both_backends!(
    each_address_has_a_bucket_of_attempts_across_all_emails,
    |db: TestDb| async move {
        let app = behind_proxy(db, |c| {
            c.security.login_per_address_burst = 3;
            c.security.login_per_address_per_minute = 1;
        })
        .await;
        let b = app.new_browser();
        for who in ["a@acme.test", "b@acme.test", "c@acme.test"] {
            let r = sign_in_from(&b, "203.0.113.9", who, "password1").await;
            assert_eq!(r.status(), 401, "{who}");
        }
        let r = sign_in_from(&b, "203.0.113.9", "d@acme.test", "password1").await;
        assert_eq!(r.status(), 429, "the address's bucket is empty");
        assert!(r.headers().contains_key("retry-after"));
        let r = sign_in_from(&b, "203.0.113.10", ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303, "another address has its own bucket");
    }
);
