//! The public cache cannot be made to hold what a visitor invents: history cursors are taken only as
//! this server issued them (padded, made-up or another page's cursors are 404 and leave no entry), and
//! what the cache holds stays under `public.cache_max_bytes` however many representations are asked for.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::config::Config;
use statusgate::domain::{IncidentStage, Message, NewIncidentUpdate};
use statusgate::ids::{IncidentId, PageId};

use crate::both_backends;
use crate::helpers::{demo_ids, TestApp, TestDb};
use crate::monitors::owner;

const TOKEN: &str = "metrics-token-history-0123456789";

fn tweak(c: &mut Config) {
    c.metrics.token = Some(TOKEN.into());
    c.monitors.scheduler_tick_ms = 600_000;
    c.public.misses_burst = 1_000;
    c.public.misses_per_minute = 10_000;
}

/// One of this app's public cache gauges, from `/metrics`.
async fn gauge(app: &TestApp, name: &str) -> u64 {
    let body = reqwest::Client::new()
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = body
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in /metrics"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn entries(app: &TestApp) -> u64 {
    gauge(app, "statusgate_public_cache_entries").await
}

fn update(stage: IncidentStage, text: &str) -> NewIncidentUpdate {
    NewIncidentUpdate {
        stage,
        message: Message::parse("message", text).unwrap(),
        affected: vec![],
        notify: false,
    }
}

/// `n` incidents opened and resolved on the demo page `api`, oldest first, each resolved with a note
/// of `note` characters.
async fn resolved(app: &TestApp, n: usize, note: usize) -> Vec<IncidentId> {
    let s = &app.services;
    let me = owner(s).await;
    let page = PageId::parse(&demo_ids(s, "REST API").await.0).unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let (inc, _) = s
            .create_incident(
                &me,
                &page,
                &format!("Past outage p{i:02}"),
                update(IncidentStage::Investigating, "Looking into it."),
            )
            .await
            .unwrap();
        let fixed = format!("Fixed. {}", "The cause was found. ".repeat(note / 20));
        s.add_incident_update(&me, &inc.id, update(IncidentStage::Resolved, &fixed))
            .await
            .unwrap();
        ids.push(inc.id);
    }
    ids
}

/// The `after=` value of the page's "Older incidents" link.
fn next_cursor(html: &str) -> String {
    let at = html.find("history?after=").expect("a next link") + "history?after=".len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}

both_backends!(
    only_cursors_the_server_issued_are_taken_and_refused_ones_are_cached_nowhere,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
        resolved(&app, 30, 0).await;

        // The link the page emits works, and the page after it holds the rest.
        let first = app.get("/status/api/history").await.text().await.unwrap();
        let cursor = next_cursor(&first);
        let second = app
            .get(&format!("/status/api/history?after={cursor}"))
            .await;
        assert_eq!(second.status(), 200);
        let second = second.text().await.unwrap();
        assert!(
            second.contains("Past outage p00") && !second.contains("Past outage p29"),
            "the second page continues where the first stopped"
        );
        let s = &app.services;
        let org = s.org_by_slug("acme").await.unwrap();
        s.create_page(&owner(s).await, &org.id, "web", "web", "Acme Web", &[])
            .await
            .unwrap();
        assert_eq!(app.get("/status/web/history").await.status(), 200);
        let held = entries(&app).await;

        let (ms, rest) = cursor.split_once('.').unwrap();
        let (id, mac) = rest.split_once('.').unwrap_or((rest, ""));
        let padded = format!("{}{ms}.{rest}", "0".repeat(64_000));
        let refused = [
            // The review's request: 64,000 zeros before a made-up cursor.
            format!("{}2.inc_0", "0".repeat(64_000)),
            // The issued cursor, padded, signed, re-encoded or cut.
            padded,
            format!("+{ms}.{id}.{mac}"),
            format!("{ms}.{id}.{}", mac.to_uppercase()),
            format!("{ms}.{id}"),
            format!("{ms}.{id}.{mac}.x"),
            // Another position under the same MAC, and one made up outright.
            format!("{}.{id}.{mac}", ms.parse::<i64>().unwrap() + 1),
            format!("1.inc_0.{}", "0".repeat(32)),
            "nonsense".to_owned(),
        ];
        for after in &refused {
            let r = app.get(&format!("/status/api/history?after={after}")).await;
            let short: String = after.chars().rev().take(60).collect();
            assert_eq!(r.status(), 404, "…{short}");
        }
        // A cursor issued for one page is not one of another page's.
        let other = app
            .get(&format!("/status/web/history?after={cursor}"))
            .await;
        assert_eq!(other.status(), 404);
        assert_eq!(entries(&app).await, held, "no refused cursor took an entry");

        // The issued one is still served, from the same entry.
        let again = app
            .get(&format!("/status/api/history?after={cursor}"))
            .await;
        assert_eq!(again.status(), 200);
        assert_eq!(entries(&app).await, held);
    }
);

both_backends!(
    the_public_cache_stays_within_its_byte_bound_when_filled,
    |db: TestDb| async move {
        let bound: u64 = 64 * 1024;
        let app = TestApp::spawn_with(
            db,
            move |c| {
                tweak(c);
                c.public.cache_max_bytes = bound;
            },
            Arc::new(SystemClock),
        )
        .await;
        let ids = resolved(&app, 40, 4_000).await;
        assert_eq!(
            gauge(&app, "statusgate_public_cache_max_bytes").await,
            bound
        );

        // Every incident's own page, the history pages and the status page, in every encoding.
        let mut paths: Vec<String> = ids
            .iter()
            .map(|id| format!("/status/api/incidents/{}", id.as_str()))
            .collect();
        paths.push("/status/api".into());
        paths.push("/status/api/history".into());
        let mut total_body = 0;
        for (n, path) in paths.iter().enumerate() {
            let encoding = ["br", "identity", "gzip", "identity"][n % 4];
            let r = app
                .browser
                .client
                .get(app.url(path))
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            total_body += r.bytes().await.unwrap().len() as u64;
            let bytes = gauge(&app, "statusgate_public_cache_bytes").await;
            assert!(bytes <= bound, "{bytes} held after {path}, over {bound}");
        }
        assert!(
            total_body > bound,
            "the test asked for more than the bound holds ({total_body})"
        );
        let held = entries(&app).await;
        assert!(
            (1..paths.len() as u64).contains(&held),
            "some entries are held, not all: {held}"
        );
        // What was let go renders again when asked.
        let r = app
            .get(&format!("/status/api/incidents/{}", ids[0].as_str()))
            .await;
        assert_eq!(r.status(), 200);
    }
);
