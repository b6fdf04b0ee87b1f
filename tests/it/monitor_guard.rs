//! The address guard on monitors: by default checks reach only public addresses, judged when the URL is
//! saved (literal addresses) and again at every connection (names, after resolution); link-local and
//! cloud metadata addresses stay refused even where private targets are allowed.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::domain::monitor::{Monitor, MonitorSpec};
use statusgate::ids::{MonitorId, PageId};
use statusgate::service::{Principal, ServiceError, Services};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};
use crate::loopback::target;
use crate::monitors::{input, owner};

/// A server whose checks only run when asked, with `allow_private_targets` as given.
async fn app(db: TestDb, allow_private: bool) -> TestApp {
    TestApp::spawn_with(
        db,
        move |c| {
            c.monitors.scheduler_tick_ms = 600_000;
            c.monitors.allow_private_targets = allow_private;
        },
        Arc::new(SystemClock),
    )
    .await
}

async fn demo_page(s: &Services) -> PageId {
    PageId::parse(&demo_ids(s, "REST API").await.0).unwrap()
}

/// Creating a monitor at `url` fails with a message on the `url` field containing `says`.
async fn creation_refused(s: &Services, me: &Principal, page: &PageId, url: &str, says: &str) {
    let e = s
        .create_monitor(me, page, input("guarded", url, None))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, ServiceError::Invalid(_)) && msg.contains("url") && msg.contains(says),
        "{url}: {msg}"
    );
}

/// A monitor written straight to the database, as one saved before the guard (or before the operator
/// turned private targets off) would be.
async fn stored(app: &TestApp, page: &PageId, url: &str) -> Monitor {
    let st = &app.store;
    let s = &app.services;
    let spec = MonitorSpec::parse(input("stored", url, None), 1).unwrap();
    let id = MonitorId::generate();
    let mut tx = st.begin().await.unwrap();
    st.insert_monitor(&mut tx, &id, page, &spec, s.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    st.monitor(&id).await.unwrap()
}

/// Runs `m` and asserts the check was refused before connecting.
async fn run_refused(s: &Services, me: &Principal, m: &Monitor, says: &str) {
    let e = s.run_monitor_now(me, &m.id).await.unwrap();
    let error = e.error.unwrap_or_default();
    assert!(
        !e.ok && e.status_code.is_none() && error.starts_with("refused: ") && error.contains(says),
        "{}: {error}",
        m.spec.url
    );
}

both_backends!(
    by_default_monitors_refuse_loopback_private_and_metadata_targets,
    |db: TestDb| async move {
        let app = app(db, false).await;
        let s = &app.services;
        let me = owner(s).await;
        let page = demo_page(s).await;
        let t = target().await;
        let port = t.base.rsplit(':').next().unwrap().to_owned();

        // Literal addresses are refused when saved, with the reason and the setting that changes it.
        let loopback = format!("http://127.0.0.1:{port}/ok");
        creation_refused(s, &me, &page, &loopback, "allow_private_targets").await;
        creation_refused(s, &me, &page, "http://2130706433/", "127.0.0.1").await;
        creation_refused(s, &me, &page, "http://10.1.2.3/", "private").await;
        creation_refused(s, &me, &page, "http://[fd00::1]/", "private").await;
        creation_refused(s, &me, &page, "http://[::ffff:127.0.0.1]/", "private").await;
        let metadata = "http://169.254.169.254/latest/meta-data/";
        creation_refused(s, &me, &page, metadata, "metadata").await;
        creation_refused(s, &me, &page, "http://[64:ff9b::a9fe:a9fe]/", "metadata").await;
        creation_refused(
            s,
            &me,
            &page,
            "https://u:secret@example.com/",
            "credentials",
        )
        .await;
        let before = s.monitors(&me, &page).await.unwrap().len();

        // A name is judged after resolution, at connect time: localhost passes the save and is
        // refused when the check runs, without reaching the target.
        let by_name = format!("http://localhost:{port}/ok");
        let m = s
            .create_monitor(&me, &page, input("by name", &by_name, None))
            .await
            .unwrap();
        run_refused(s, &me, &m, "localhost resolves to").await;

        // Monitors saved earlier are refused at run time too, before any connection.
        for url in [loopback.as_str(), metadata, "http://[fd00::1]/x"] {
            let m = stored(&app, &page, url).await;
            run_refused(s, &me, &m, "is a").await;
        }
        assert_eq!(*t.hits.lock().unwrap(), 0, "nothing reached the target");
        assert_eq!(
            s.monitors(&me, &page).await.unwrap().len(),
            before + 4,
            "refused creations saved nothing"
        );

        // The demo's monitors check this instance itself, which stays allowed.
        let demo = s.monitors(&me, &page).await.unwrap();
        let health = demo
            .iter()
            .find(|m| m.spec.name == "Health endpoint")
            .unwrap();
        let e = s.run_monitor_now(&me, &health.id).await.unwrap();
        assert!(e.ok, "{e:?}");
    }
);

both_backends!(
    metadata_addresses_stay_refused_when_private_targets_are_allowed,
    |db: TestDb| async move {
        let app = app(db, true).await;
        let s = &app.services;
        let me = owner(s).await;
        let page = demo_page(s).await;
        let t = target().await;
        let port = t.base.rsplit(':').next().unwrap().to_owned();

        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
            "http://[2002:a9fe:a9fe::]/",
        ] {
            creation_refused(s, &me, &page, url, "never a permitted target").await;
            let m = stored(&app, &page, url).await;
            run_refused(s, &me, &m, "metadata").await;
        }

        // Loopback is an intranet target now: by address and by name.
        for url in [
            format!("http://127.0.0.1:{port}/ok"),
            format!("http://localhost:{port}/ok"),
        ] {
            let m = s
                .create_monitor(&me, &page, input("intranet", &url, None))
                .await
                .unwrap();
            let e = s.run_monitor_now(&me, &m.id).await.unwrap();
            assert!(e.ok, "{url}: {e:?}");
        }
        assert_eq!(*t.hits.lock().unwrap(), 2);
    }
);
