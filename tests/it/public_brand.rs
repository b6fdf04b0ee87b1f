//! The team's brand on its public pages: its logo, name and site in the header, a favicon, the
//! preview tags (description, OpenGraph, Twitter card) escaped, and no way into statusgate's admin
//! side from any public route.

use statusgate::domain::{IncidentStage, Message, NewIncidentUpdate};
use statusgate::ids::PageId;
use statusgate::service::page_admin::PageEdit;

use crate::both_backends;
use crate::helpers::{demo_ids, TestDb};
use crate::public_views::{owner, still_app, text};

/// What would lead a visitor of a public page to the admin side or its sign-in (`/` is the public
/// status page itself, so a link there is fine).
const PRIVATE_LINKS: &[&str] = &[
    "href=\"/admin",
    "href=\"/login",
    "action=\"/admin",
    "action=\"/login",
    "href=\"/setup",
    "href=\"/account",
];

fn assert_no_private_link(path: &str, body: &str) {
    for link in PRIVATE_LINKS {
        assert!(!body.contains(link), "{path} has {link}: {body}");
    }
}

/// The value of the `content` attribute of the tag whose `attr` is `name`, as written (escaped).
fn meta<'a>(body: &'a str, attr: &str, name: &str) -> Option<&'a str> {
    let start = format!("<meta {attr}=\"{name}\" content=\"");
    let at = body.find(&start)? + start.len();
    let rest = &body[at..];
    Some(&rest[..rest.find('"')?])
}

both_backends!(
    no_public_route_links_to_the_admin_side,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let (page, _) = demo_ids(s, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let first = NewIncidentUpdate {
            stage: IncidentStage::Investigating,
            message: Message::parse("message", "Looking.").unwrap(),
            affected: Vec::new(),
            notify: false,
        };
        let (incident, _) = s.create_incident(&me, &page, "Slow", first).await.unwrap();
        let pages = [
            "/status/api".to_owned(),
            "/status/api/history".to_owned(),
            format!("/status/api/incidents/{}", incident.id),
            "/status/api/subscribe".to_owned(),
        ];
        for path in &pages {
            let body = text(&app, path).await;
            assert_no_private_link(path, &body);
            assert!(body.contains("rel=\"icon\""), "{path} has a favicon");
        }
        // Refusals on public routes answer with the error page: it too stays on the public side.
        for path in [
            "/status/nowhere",
            "/status/api/incidents/inc_000000000000000000000000",
            "/unsubscribe/not-a-token",
            "/status/nowhere/history.atom",
        ] {
            let r = app.new_browser().get(path).await;
            assert!(r.status().is_client_error(), "{path}: {}", r.status());
            let body = r.text().await.unwrap();
            assert_no_private_link(path, &body);
        }
        // The default favicon is served.
        let r = app.new_browser().get("/static/favicon.svg").await;
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.text().await.unwrap().starts_with("<svg"));
    }
);

both_backends!(
    preview_tags_name_the_page_escaped,
    |db: TestDb| async move {
        let app = still_app(db).await;
        let s = &app.services;
        let me = owner(s).await;
        let (page, _) = demo_ids(s, "REST API").await;
        let page = PageId::parse(&page).unwrap();
        let edit = PageEdit {
            name: Some("Acme \"<Ops>\" & Co".into()),
            logo_url: Some("https://cdn.acme.example/logo.png?a=1&b=2".into()),
            support_url: Some("https://acme.example/".into()),
            ..Default::default()
        };
        s.edit_page(&me, &page, edit).await.unwrap();
        let body = text(&app, "/status/api").await;
        assert!(!body.contains("\"<Ops>\""), "the raw name never appears");
        let title = meta(&body, "property", "og:title").expect("og:title");
        assert_eq!(title, "Acme &#34;&#60;Ops&#62;&#34; &#38; Co status");
        assert_eq!(
            meta(&body, "name", "twitter:title"),
            Some(title),
            "the Twitter card says the same"
        );
        let summary: serde_json::Value =
            serde_json::from_str(&text(&app, "/status/api/api/v2/summary.json").await).unwrap();
        let sentence = summary["status"]["description"].as_str().unwrap();
        for (attr, name) in [
            ("name", "description"),
            ("property", "og:description"),
            ("name", "twitter:description"),
        ] {
            let d = meta(&body, attr, name).unwrap_or_else(|| panic!("{name}"));
            assert!(d.starts_with(sentence), "{name}: {d}");
        }
        assert_eq!(meta(&body, "name", "twitter:card"), Some("summary"));
        let url = meta(&body, "property", "og:url").expect("og:url");
        assert!(
            url.ends_with("/status/api") && url.starts_with("http"),
            "{url}"
        );
        assert_eq!(
            meta(&body, "property", "og:image"),
            Some("https://cdn.acme.example/logo.png?a=1&#38;b=2")
        );
        assert!(body.contains(
            "<link rel=\"icon\" href=\"https://cdn.acme.example/logo.png?a=1&#38;b=2\">"
        ));
        // The header shows the logo and the name, and leads to the team's own site.
        let header = &body[body
            .find("<header class=\"top page-brand\">")
            .expect("brand header")..];
        let header = &header[..header.find("</header>").unwrap()];
        assert!(
            header.contains("href=\"https://acme.example/\""),
            "{header}"
        );
        assert!(
            header.contains("src=\"https://cdn.acme.example/logo.png?a=1&#38;b=2\""),
            "{header}"
        );
        assert!(
            header.contains("Acme &#34;&#60;Ops&#62;&#34; &#38; Co"),
            "{header}"
        );
        assert!(!header.contains("statusgate"), "{header}");
        // The incident and history pages carry the tags too, each with its own URL.
        let history = text(&app, "/status/api/history").await;
        let url = meta(&history, "property", "og:url").expect("og:url");
        assert!(url.ends_with("/status/api/history"), "{url}");
    }
);
