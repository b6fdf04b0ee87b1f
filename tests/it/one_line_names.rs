//! Names and titles are one line: a line break or tab is refused at every front door with the same
//! field error, and a row already stored with one (written straight through SQL) cannot start a new
//! line, property or event in the public calendar, nor break the Atom and RSS feeds.

use serde_json::json;

use crate::api_support::{error_code, owner_key, post_as, spawn};
use crate::both_backends;
use crate::helpers::{TestApp, TestDb};

const INJECTED: &str = "Acme\r\nEND:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:free money\r\nEND:VEVENT";

both_backends!(
    a_name_with_a_line_break_is_refused_over_rest_and_the_admin_form,
    |db: TestDb| async move {
        let app = spawn(db).await;
        let key = owner_key(&app, true).await;
        for name in ["Pay\r\nBEGIN:VEVENT", "Pay\nments", "Pay\tments"] {
            let body = json!({ "name": name, "slug": "payments" });
            let (s, answer) = post_as(&app, &key, "/pages", Some(body)).await;
            assert_eq!(error_code(s, &answer), "unprocessable", "{name:?}");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(
                message.contains("name") && message.contains("one line"),
                "{message}"
            );
        }
        let page = app
            .services
            .page_id_by_slug(&crate::api_support::acme(&app).await, "api")
            .await
            .unwrap();
        let (s, answer) = crate::api_support::json(
            &app,
            &key,
            reqwest::Method::PATCH,
            &format!("/pages/{page}"),
            Some(json!({ "name": "API\r\nX-INJECTED:1" })),
        )
        .await;
        assert_eq!(error_code(s, &answer), "unprocessable", "{answer}");

        app.sign_in_as_owner().await;
        let (s, _, html) = app
            .submit(
                "/admin/pages/new",
                "/admin/pages",
                &[("name", "Pay\r\nments"), ("slug", "payments")],
            )
            .await;
        assert_eq!(s, 422, "{html}");
        assert!(
            html.contains("id=\"name-error\"") && html.contains("must be one line"),
            "{html}"
        );
        let pages: i64 = sqlx::query_scalar("select count(*) from pages where slug = 'payments'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(pages, 0, "nothing was created");
    }
);

/// The calendar's content lines, unfolded (RFC 5545 §3.1).
fn content_lines(ics: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in ics.split("\r\n") {
        match raw.strip_prefix(' ').or_else(|| raw.strip_prefix('\t')) {
            Some(rest) if !lines.is_empty() => lines.last_mut().unwrap().push_str(rest),
            _ => lines.push(raw.to_owned()),
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

async fn body(app: &TestApp, path: &str) -> String {
    let r = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}

both_backends!(
    a_stored_name_with_a_line_break_cannot_inject_into_the_feeds,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let pool = app.store.pool();
        sqlx::query("update pages set name = $1 where public_slug = 'api'")
            .bind(INJECTED)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("update maintenances set title = $1 where title = 'Database upgrade'")
            .bind("Database upgrade\r\nX-INJECTED:1\rX-ALSO:1")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("update maintenance_updates set message = $1")
            .bind("Planned.\r\nATTENDEE:mailto:x@evil.test\rX-MORE:1\u{1}")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("update incidents set title = $1")
            .bind("Down\r\n<entry>\u{1}")
            .execute(pool)
            .await
            .unwrap();
        // Any tracked write empties the read cache, so the next render reads the rows above.
        app.services.create_org("bump", "Bump").await.unwrap();

        let ics = body(&app, "/status/api/maintenances.ics").await;
        assert!(
            !ics.replace("\r\n", "").contains(['\r', '\n']),
            "only CRLF ends a line: {ics:?}"
        );
        let lines = content_lines(&ics);
        let known = [
            "BEGIN",
            "END",
            "VERSION",
            "PRODID",
            "CALSCALE",
            "NAME",
            "X-WR-CALNAME",
            "UID",
            "SUMMARY",
            "DTSTART",
            "DTEND",
            "DTSTAMP",
            "STATUS",
            "URL",
            "DESCRIPTION",
        ];
        for line in &lines {
            let name = line.split([':', ';']).next().unwrap();
            assert!(
                known.contains(&name),
                "an injected property {line:?} in {ics}"
            );
        }
        let count = |l: &str| lines.iter().filter(|x| *x == l).count();
        assert_eq!(count("BEGIN:VEVENT"), 1, "{ics}");
        assert_eq!(count("END:VCALENDAR"), 1, "{ics}");
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        let calendar: icalendar::Calendar = ics.parse().unwrap();
        let events: Vec<&icalendar::Event> = calendar
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .collect();
        use icalendar::Component;
        assert_eq!(events.len(), 1);
        let summary = events[0].get_summary().unwrap();
        assert!(summary.starts_with("Database upgrade") && summary.contains("X-INJECTED:1"));

        // The XML feeds stay well-formed, with the stored text inside their elements.
        let atom = body(&app, "/status/api/history.atom").await;
        let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
        assert!(
            feed.title().as_str().starts_with("Acme "),
            "{}",
            feed.title().as_str()
        );
        assert!(feed
            .entries()
            .iter()
            .any(|e| e.title().as_str().starts_with("Down  <entry>")));
        assert!(!atom.contains('\u{1}'));
        let rss = body(&app, "/status/api/history.rss").await;
        let channel = rss::Channel::read_from(rss.as_bytes()).unwrap();
        assert!(!channel.title().contains('\n'), "{}", channel.title());
        assert!(!rss.contains('\u{1}'));
    }
);
