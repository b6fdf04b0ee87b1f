//! Two `statusgate serve` processes on one database: each due check runs once per interval, not once per
//! process.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use statusgate::app::connect;
use statusgate::clock::{Clock, SystemClock};
use statusgate::ids::PageId;
use statusgate::service::Services;

use crate::both_backends;
use crate::helpers::{demo_ids, test_config, TestDb, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::loopback::target;
use crate::monitors::{input, owner};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary with a config file that ticks the scheduler every 50 ms.
fn serve(config: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_statusgate"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env(
            statusgate::config::KEY_ENV,
            crate::helpers::TEST_ENCRYPTION_KEY,
        )
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn statusgate");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("readable");
        if line.contains("listening on ") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server(child)
}

both_backends!(
    two_processes_on_one_database_run_each_due_check_once,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut f = std::fs::File::create(&path).unwrap();
        write!(
            f,
            "bind = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\ndemo = true\nlog = \"warn\"\n\
             [admin]\nemail = \"{ADMIN_EMAIL}\"\npassword = \"{ADMIN_PASSWORD}\"\n\
             [monitors]\nscheduler_tick_ms = 50\nmin_interval_secs = 1\nallow_private_targets = true\n\
             [delivery]\ntick_ms = 60000\n",
            db.url
        )
        .unwrap();
        drop(f);
        let a = serve(&path);
        let b = serve(&path);
        let store = connect(&test_config(&db.url)).await.unwrap();
        let mut settings = statusgate::config::MonitoringSettings::default();
        settings.monitors.min_interval_secs = 1;
        settings.monitors.allow_private_targets = true;
        let s = Services::new(store, Arc::new(SystemClock), Default::default())
            .with_monitoring(settings);
        let started = SystemClock.now();

        let t = target().await;
        let me = owner(&s).await;
        let page = PageId::parse(&demo_ids(&s, "REST API").await.0).unwrap();
        let url = format!("{}/ok", t.base);
        let mut every_second = input("shared", &url, None);
        every_second.interval_secs = 1;
        let m = s.create_monitor(&me, &page, every_second).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(4_500)).await;
        drop((a, b));

        let (_, events) = s.monitor(&me, &m.id, Some(200)).await.unwrap();
        let mut times: Vec<_> = events.iter().map(|e| e.checked_at).collect();
        times.sort();
        assert!(times.len() >= 3, "the check ran ({} events)", times.len());
        assert!(
            times.len() <= 6,
            "not once per process: {} events in 4.5 s",
            times.len()
        );
        for w in times.windows(2) {
            assert!(
                w[1] - w[0] >= time::Duration::milliseconds(800),
                "two runs in one interval: {w:?}"
            );
        }
        assert_eq!(
            *t.hits.lock().unwrap(),
            times.len(),
            "each run hit the target once"
        );
        // The demo's 60-second monitors ran exactly once between them.
        for demo in s
            .monitors(&me, &page)
            .await
            .unwrap()
            .iter()
            .filter(|d| d.id != m.id)
        {
            let (_, ev) = s.monitor(&me, &demo.id, Some(200)).await.unwrap();
            let fresh = ev
                .iter()
                .filter(|e| e.checked_at >= started - time::Duration::seconds(5))
                .count();
            assert_eq!(fresh, 1, "{} ran once", demo.spec.name);
        }
    }
);
