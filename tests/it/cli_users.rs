//! `statusgate user set-password` and `user list`, run as the real binary against a served database:
//! the operator's reset ends the person's sessions and is audited as `system`; bad input is one line
//! on stderr, a non-zero exit, and nothing changed.

use crate::both_backends;
use crate::cli::statusgate;
use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};

const NEW_PASSWORD: &str = "an operator's new password";

/// Runs the binary off the async threads (it takes a moment to start and migrate).
async fn run(url: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let (url, stdin) = (url.to_owned(), stdin.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        statusgate(&url, &args, &stdin)
    })
    .await
    .unwrap()
}

fn set_password(email: &str) -> Vec<&str> {
    vec!["user", "set-password", "--email", email, "--password-stdin"]
}

both_backends!(
    set_password_ends_the_persons_sessions_and_is_audited_as_system,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let (laptop, phone) = (app.new_browser(), app.new_browser());
        laptop.sign_in_as_owner().await;
        phone.sign_in_as_owner().await;

        let (code, out, err) = run(
            &app.db.url,
            &set_password(ADMIN_EMAIL),
            &format!("{NEW_PASSWORD}\n"),
        )
        .await;
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!("password set for {ADMIN_EMAIL}"))
                && out.contains("2 browser session(s) ended"),
            "{out}"
        );
        assert_eq!(laptop.get("/admin").await.status(), 303, "signed out");
        assert_eq!(phone.get("/admin").await.status(), 303, "signed out");
        let b = app.new_browser();
        assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 401);
        assert_eq!(b.sign_in(ADMIN_EMAIL, NEW_PASSWORD).await.status(), 303);
        let audited: i64 = sqlx::query_scalar(
            "select count(*) from audit_log where action = 'account.password_set' \
             and actor_type = 'system' and user_id is null",
        )
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 1);
    }
);

both_backends!(
    bad_input_to_set_password_is_one_line_and_changes_nothing,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let signed_in = app.new_browser();
        signed_in.sign_in_as_owner().await;
        let cases: [(Vec<&str>, &str, &str); 5] = [
            (
                set_password("nobody@acme.test"),
                "long enough pw",
                "no user with email nobody@acme.test",
            ),
            (set_password("not-an-email"), "long enough pw", "email"),
            (
                set_password(ADMIN_EMAIL),
                "short\n",
                "at least 8 characters",
            ),
            (
                set_password(ADMIN_EMAIL),
                "",
                "no password on standard input",
            ),
            (
                vec!["user", "set-password", "--email", ADMIN_EMAIL],
                "long enough pw",
                "--password-stdin",
            ),
        ];
        for (args, stdin, word) in cases {
            let (code, out, err) = run(&app.db.url, &args, stdin).await;
            assert_ne!(code, 0, "{args:?}");
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains(word), "{word}: {err}");
            assert!(out.is_empty(), "{out}");
        }
        assert_eq!(
            signed_in.get("/admin").await.status(),
            200,
            "still signed in"
        );
        let b = app.new_browser();
        assert_eq!(b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 303);
        let audited: i64 = sqlx::query_scalar(
            "select count(*) from audit_log where action = 'account.password_set'",
        )
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 0);
    }
);

both_backends!(
    user_list_names_each_member_and_role,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let create = [
            "user",
            "create",
            "--email",
            "ed@acme.test",
            "--password-stdin",
            "--org",
            "acme",
            "--role",
            "editor",
        ];
        let (code, _, err) = run(&app.db.url, &create, "long enough pw").await;
        assert_eq!(code, 0, "{err}");

        let (code, out, err) = run(&app.db.url, &["user", "list", "--org", "acme"], "").await;
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                format!("{ADMIN_EMAIL}\towner").as_str(),
                "ed@acme.test\teditor"
            ],
            "{out}"
        );

        let (code, out, err) = run(&app.db.url, &["user", "list", "--org", "nope"], "").await;
        assert_ne!(code, 0);
        assert!(out.is_empty());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("no organisation `nope`"), "{err}");
    }
);
