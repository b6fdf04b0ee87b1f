//! First run: with the demo off and nobody signed up, each start prints a one-time link whose page
//! creates the organisation and its owner, signs the owner in and goes on to the new page form.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::domain::Role;

use crate::both_backends;
use crate::helpers::{csrf_in, Backend, TestApp, TestDb, TEST_ENCRYPTION_KEY};

async fn first_run(db: TestDb) -> TestApp {
    TestApp::spawn_with(db, |c| c.demo = false, Arc::new(SystemClock)).await
}

/// The link's path and query, for the test browser.
fn path_of(link: &str) -> String {
    let at = link.find("/setup?token=").expect("a set-up link");
    link[at..].to_owned()
}

fn setup_form<'a>(csrf: &'a str, token: &'a str, slug: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("token", token),
        ("org_name", "Globex Corp"),
        ("org_slug", slug),
        ("email", "founder@globex.test"),
        ("password", "a long password"),
        ("password_repeat", "a long password"),
    ]
}

both_backends!(
    the_setup_link_creates_the_org_and_owner_once,
    |owner: TestDb| async move {
        let app = first_run(owner.alias()).await;
        let link = app
            .setup_link
            .clone()
            .expect("a first start prints a set-up link");
        assert!(link.starts_with(&app.base), "{link}");
        let path = path_of(&link);
        let token = path.trim_start_matches("/setup?token=").to_owned();

        // Wrong or missing tokens find nothing.
        assert_eq!(app.get("/setup?token=wrong").await.status(), 404);
        assert_eq!(app.get("/setup").await.status(), 404);

        let page = app.get(&path).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        for field in [
            "org_name",
            "org_slug",
            "email",
            "password",
            "password_repeat",
        ] {
            assert!(
                html.contains(&format!("<label for=\"{field}\"")),
                "{field} is labelled"
            );
        }
        let csrf = csrf_in(&html).unwrap();

        // Without the CSRF token nothing happens.
        let mut no_csrf = setup_form("", &token, "globex");
        no_csrf.remove(0);
        assert_eq!(app.post_form("/setup", &no_csrf).await.status(), 403);

        // A bad slug and a mismatched repeat come back beside their fields, input kept, nothing made.
        let mut bad = setup_form(&csrf, &token, "Not A Slug");
        let r = app.post_form("/setup", &bad).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"org_slug-error\""), "{html}");
        assert!(html.contains("value=\"Globex Corp\""), "{html}");
        assert!(html.contains("value=\"founder@globex.test\""), "{html}");
        assert!(
            !html.contains("a long password"),
            "passwords are not echoed"
        );
        bad[3] = ("org_slug", "globex");
        bad[6] = ("password_repeat", "another password");
        let r = app.post_form("/setup", &bad).await;
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("id=\"password_repeat-error\""));
        assert_eq!(app.store.count_users().await.unwrap(), 0);
        assert_eq!(app.store.count_orgs().await.unwrap(), 0);

        // The good form creates both, signs the owner in and lands on the new page form.
        let r = app
            .post_form("/setup", &setup_form(&csrf, &token, "globex"))
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/admin/pages/new");
        let next = app.get("/admin/pages/new").await;
        assert_eq!(
            next.status(),
            200,
            "signed in as an owner who may create pages"
        );
        assert!(next.text().await.unwrap().contains("founder@globex.test"));
        let org = app.services.org_by_slug("globex").await.unwrap();
        assert_eq!(org.name, "Globex Corp");

        // Used: the link and the form are gone, for everyone.
        assert_eq!(app.new_browser().get(&path).await.status(), 404);
        let other = app.new_browser();
        let csrf2 = other.csrf_on("/login").await;
        let r = other
            .post_form("/setup", &setup_form(&csrf2, &token, "second"))
            .await;
        assert_eq!(r.status(), 404);
        assert_eq!(app.store.count_users().await.unwrap(), 1);

        // A restart with a user prints no link.
        app.stop().await;
        let again = first_run(owner.alias()).await;
        assert!(again.setup_link.is_none());
    }
);

both_backends!(
    concurrent_setups_make_one_org_and_one_owner,
    |db: TestDb| async move {
        let app = first_run(db).await;
        let path = path_of(app.setup_link.as_deref().unwrap());
        let token = path.trim_start_matches("/setup?token=").to_owned();
        let mut tries = Vec::new();
        for (i, slug) in ["one", "two", "three", "four"].into_iter().enumerate() {
            let b = app.new_browser();
            let html = b.get(&path).await.text().await.unwrap();
            let csrf = csrf_in(&html).unwrap();
            let token = token.clone();
            tries.push(tokio::spawn(async move {
                let mut form = setup_form(&csrf, &token, slug);
                let email = format!("founder{i}@globex.test");
                form[4] = ("email", &email);
                b.post_form("/setup", &form).await.status().as_u16()
            }));
        }
        let mut codes = Vec::new();
        for t in tries {
            codes.push(t.await.unwrap());
        }
        codes.sort_unstable();
        assert_eq!(
            codes,
            [303, 404, 404, 404],
            "exactly one set-up goes through"
        );
        assert_eq!(app.store.count_users().await.unwrap(), 1);
        assert_eq!(app.store.count_orgs().await.unwrap(), 1);
    }
);

both_backends!(
    each_start_replaces_the_link_until_set_up,
    |owner: TestDb| async move {
        let app = first_run(owner.alias()).await;
        let old = path_of(app.setup_link.as_deref().unwrap());
        app.stop().await;
        let again = first_run(owner.alias()).await;
        let new = path_of(again.setup_link.as_deref().unwrap());
        assert_ne!(old, new, "a fresh token at each start");
        assert_eq!(
            again.get(&old).await.status(),
            404,
            "only the latest link works"
        );
        assert_eq!(again.get(&new).await.status(), 200);
    }
);

/// A running `statusgate serve` and the first lines it printed.
struct Served {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Served {
    /// Starts with debug logging into `log`, so a test can check what reached the logs.
    fn start(db: &TestDb, log: &std::path::Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_statusgate"));
        cmd.arg("serve")
            .env("STATUSGATE_DATABASE_URL", &db.url)
            .env("STATUSGATE_DEMO", "false")
            .env("STATUSGATE_BIND", "127.0.0.1:0")
            .env("STATUSGATE_LOG", "debug")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log).unwrap()));
        if db.backend == Backend::Postgres {
            cmd.env("STATUSGATE_KEY_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY);
        }
        let mut child = cmd.spawn().expect("spawn statusgate serve");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The lines printed up to the one about signing in or setting up.
    fn banner(&self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(std::time::Duration::from_secs(60)) {
            let done = line.contains("/setup?token=") || line.contains("/login");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn links_in(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.split_whitespace().find(|w| w.contains("/setup?token=")))
        .map(str::to_owned)
        .collect()
}

both_backends!(
    serve_prints_the_link_once_per_start_while_nobody_can_sign_in,
    |db: TestDb| async move {
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("serve.log");
        let first = Served::start(&db, &log);
        let links = links_in(&first.banner());
        assert_eq!(links.len(), 1, "one link per start");
        let old = links[0].clone();
        drop(first);

        let second = Served::start(&db, &log);
        let links = links_in(&second.banner());
        assert_eq!(links.len(), 1);
        let new = links[0].clone();
        assert_ne!(old, new);
        let client = crate::helpers::browser();
        assert_eq!(
            client.get(&new).send().await.unwrap().status(),
            200,
            "{new}"
        );
        let old_on_new = format!("{}{}", &new[..new.find("/setup").unwrap()], path_of(&old));
        assert_eq!(client.get(&old_on_new).send().await.unwrap().status(), 404);
        drop(second);
        // Even at debug level, the token is printed, never logged (requests are logged by path).
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(logged.contains("/setup"), "the request was logged");
        let token = path_of(&new).trim_start_matches("/setup?token=").to_owned();
        assert!(!logged.contains(&token), "the token is not in the logs");

        // Once someone exists, the start says where to sign in and prints no link.
        let app = first_run(db.alias()).await;
        assert!(
            app.setup_link.is_some(),
            "nobody yet: this start has its own link"
        );
        let org = app.services.create_org("globex", "Globex").await.unwrap();
        app.services
            .create_user("ops@globex.test", "long enough pw", &org, Role::Owner)
            .await
            .unwrap();
        app.stop().await;
        let third = Served::start(&db, &log);
        let banner = third.banner();
        assert!(links_in(&banner).is_empty(), "{banner:?}");
        assert!(banner.iter().any(|l| l.contains("/login")), "{banner:?}");
    }
);
