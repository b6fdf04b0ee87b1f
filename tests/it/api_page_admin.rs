//! `/api/v1` managing pages and components: a team builds its own page over REST, and every refusal
//! (viewer, editor where only admins may, read key, another organisation's ids) changes nothing.

use reqwest::Method;
use serde_json::{json, Value};
use statusgate::domain::Role;

use crate::api_support::{acme, error_code, json, key_for, owner, owner_key, spawn};
use crate::both_backends;
use crate::helpers::TestApp;

/// Requests as one key, kept short so each step of a test reads as one line.
struct As<'a>(&'a TestApp, &'a str);

impl As<'_> {
    async fn send(&self, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        json(self.0, self.1, m, path, body).await
    }
    async fn get(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(Method::GET, path, body).await
    }
    async fn post(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(Method::POST, path, body).await
    }
    async fn patch(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(Method::PATCH, path, body).await
    }
    async fn delete(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(Method::DELETE, path, body).await
    }
}

async fn public(app: &TestApp, slug: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}/status/{slug}", app.base))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A member of acme with `role`, and their key (a write key unless they are a viewer).
async fn member_key(app: &TestApp, email: &str, role: Role) -> String {
    let org = app.services.org_by_slug("acme").await.unwrap();
    let user = app
        .services
        .create_user(email, "correct horse battery staple", &org, role)
        .await
        .unwrap();
    key_for(app, &user.id, &org.id, role != Role::Viewer, None).await
}

both_backends!(a_team_builds_its_own_page_over_rest, |db| async move {
    let app = spawn(db).await;
    let key = owner_key(&app, true).await;

    let (s, page) = As(&app, &key)
        .post(
            "/pages",
            Some(
                json!({ "name": "Payments", "slug": "payments", "public_slug": "pay-status",
                     "description": "Card payments and payouts" }),
            ),
        )
        .await;
    assert_eq!(s, 201, "{page}");
    let page_id = page["page_id"].as_str().unwrap().to_owned();
    assert_eq!(page["public_slug"], "pay-status");
    assert_eq!(page["published"], true);
    let (s, _) = public(&app, "pay-status").await;
    assert_eq!(s, 200);

    // The same slug again is a conflict, and a bad one is refused; neither adds a page.
    let (s, body) = As(&app, &key)
        .post(
            "/pages",
            Some(json!({ "name": "Again", "slug": "payments" })),
        )
        .await;
    assert_eq!(error_code(s, &body), "conflict");
    let (s, body) = As(&app, &key)
        .post(
            "/pages",
            Some(json!({ "name": "Bad", "slug": "Not A Slug" })),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = As(&app, &key)
        .post(
            "/pages",
            Some(json!({ "name": "Extra", "slug": "extra", "owner": "me" })),
        )
        .await;
    assert!(s == 400 || s == 422, "{s} {body}");
    let (_, pages) = As(&app, &key).get("/pages", None).await;
    assert_eq!(pages["items"].as_array().unwrap().len(), 2, "{pages}");

    let path = format!("/pages/{page_id}/components");
    let (s, group) = As(&app, &key)
        .post(
            &path,
            Some(json!({ "name": "Card network", "group": true })),
        )
        .await;
    assert_eq!(s, 201, "{group}");
    let group_id = group["component_id"].as_str().unwrap().to_owned();
    let (s, comp) = As(&app, &key)
        .post(
            &path,
            Some(json!({ "name": "Visa", "parent_id": group_id, "description": "Visa acquiring" })),
        )
        .await;
    assert_eq!(s, 201, "{comp}");
    let comp_id = comp["component_id"].as_str().unwrap().to_owned();
    let (s, loose) = As(&app, &key)
        .post(&path, Some(json!({ "name": "Payouts" })))
        .await;
    assert_eq!(s, 201, "{loose}");
    let loose_id = loose["component_id"].as_str().unwrap().to_owned();
    // A component cannot nest under a component, nor a group under a group.
    let (s, _) = As(&app, &key)
        .post(
            &path,
            Some(json!({ "name": "Nested", "parent_id": loose_id })),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = As(&app, &key)
        .post(
            &path,
            Some(json!({ "name": "Subgroup", "group": true, "parent_id": group_id })),
        )
        .await;
    assert_eq!(s, 422);

    let (s, listed) = As(&app, &key).get(&path, None).await;
    assert_eq!(s, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
    let (_, html) = public(&app, "pay-status").await;
    assert!(html.contains("Visa") && html.contains("Payouts"), "{html}");

    // Rename, reorder and regroup; then a status set by hand shows at once and notifies nobody.
    let (s, edited) = As(&app, &key)
        .patch(
            &format!("/components/{loose_id}"),
            Some(json!({ "name": "Payouts (SEPA)", "position": 0, "parent_id": group_id })),
        )
        .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["parent_id"], json!(group_id));
    let (s, body) = As(&app, &key)
        .patch(
            &format!("/components/{comp_id}"),
            Some(json!({ "status": "major_outage" })),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "major_outage");
    let (_, html) = public(&app, "pay-status").await;
    assert!(html.contains("Major outage"), "{html}");
    let (s, body) = As(&app, &key)
        .patch(
            &format!("/components/{comp_id}"),
            Some(json!({ "status": "on_fire", "name": "Renamed" })),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (_, listed) = As(&app, &key).get(&path, None).await;
    assert!(
        !listed.to_string().contains("Renamed"),
        "a refused edit changed a name"
    );

    // Page settings: time zone, branding, publishing.
    let page_path = format!("/pages/{page_id}");
    let (s, body) = As(&app, &key)
        .patch(
            &page_path,
            Some(json!({ "time_zone": "Mars/Olympus_Mons", "name": "Never" })),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = As(&app, &key)
        .patch(
            &page_path,
            Some(json!({ "logo_url": "javascript:alert(1)" })),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    // An accent too light to read links and buttons in on the light page is refused.
    let (s, body) = As(&app, &key)
        .patch(&page_path, Some(json!({ "accent_color": "#1f6feb" })))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.to_string().contains("too light"), "{body}");
    let (s, body) = As(&app, &key)
        .patch(
            &page_path,
            Some(
                json!({ "time_zone": "Europe/Berlin", "accent_color": "#1A5FD0",
                     "logo_url": "https://acme.example/logo.png",
                     "support_url": "https://acme.example/support" }),
            ),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["name"], "Payments");
    assert_eq!(body["time_zone"], "Europe/Berlin");
    assert_eq!(body["accent_color"], "#1a5fd0");
    let (s, body) = As(&app, &key)
        .patch(&page_path, Some(json!({ "published": false })))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(public(&app, "pay-status").await.0, 404);
    let badge = reqwest::get(format!("{}/status/pay-status/badge.svg", app.base))
        .await
        .unwrap();
    assert_eq!(badge.status(), 404);
    let (s, _) = As(&app, &key).get(&page_path, None).await;
    assert_eq!(s, 200, "the team still sees an unpublished page");
    As(&app, &key)
        .patch(&page_path, Some(json!({ "published": true })))
        .await;
    assert_eq!(public(&app, "pay-status").await.0, 200);

    // A component named by an open incident cannot be deleted until the incident is resolved.
    let (s, incident) = As(&app, &key).post(&format!("/pages/{page_id}/incidents"), Some(json!({ "title": "Visa declines", "message": "Investigating", "notify": false,
                     "affected_components": [{ "component_id": comp_id, "status": "major_outage" }] }))).await;
    assert_eq!(s, 201, "{incident}");
    // The public page shows the branding, allowed by its own policy, and times in its time zone.
    let r = reqwest::get(format!("{}/status/pay-status", app.base))
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self' https:") && csp.contains("style-src 'self' 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("src=\"https://acme.example/logo.png\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://acme.example/support\""),
        "{html}"
    );
    assert!(html.contains("--accent:#1a5fd0"), "{html}");
    assert!(
        html.contains(" CET") || html.contains(" CEST"),
        "times in Europe/Berlin: {html}"
    );
    let (s, body) = As(&app, &key)
        .delete(&format!("/components/{comp_id}"), None)
        .await;
    assert_eq!(error_code(s, &body), "conflict");
    let (s, body) = As(&app, &key)
        .delete(&format!("/components/{group_id}"), None)
        .await;
    assert_eq!(
        s, 409,
        "a group whose component is named is kept too: {body}"
    );
    let incident_id = incident["incident_id"].as_str().unwrap();
    let (s, body) = As(&app, &key)
        .post(
            &format!("/incidents/{incident_id}/resolve"),
            Some(json!({ "message": "Fixed", "notify": false })),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = As(&app, &key)
        .delete(&format!("/components/{comp_id}"), None)
        .await;
    assert_eq!(s, 204);
    let (_, listed) = As(&app, &key).get(&path, None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");

    // Deleting the page takes its incidents along and is audited.
    let (s, _) = As(&app, &key).delete(&page_path, None).await;
    assert_eq!(s, 204);
    assert_eq!(public(&app, "pay-status").await.0, 404);
    let (s, _) = As(&app, &key)
        .get(&format!("/incidents/{incident_id}"), None)
        .await;
    assert_eq!(s, 404);
    let me = statusgate::service::Principal::user(owner(&app).await);
    let log = app
        .services
        .audit_log(&me, &acme(&app).await, None, 0, 100)
        .await
        .unwrap();
    for action in [
        "page.created",
        "component.created",
        "component.status_set",
        "page.updated",
        "component.deleted",
        "page.deleted",
    ] {
        assert!(
            log.iter().any(|e| e.action == action),
            "no {action} in the audit log"
        );
    }
    let set = log
        .iter()
        .find(|e| e.action == "component.status_set")
        .unwrap();
    assert!(set.detail.contains("\"notified\":0"), "{}", set.detail);
});

both_backends!(page_management_refusals_change_nothing, |db| async move {
    let app = spawn(db).await;
    let owner_write = owner_key(&app, true).await;
    let owner_read = owner_key(&app, false).await;
    let editor = member_key(&app, "editor@example.com", Role::Editor).await;
    let viewer = member_key(&app, "viewer@example.com", Role::Viewer).await;
    let (page, component) = crate::helpers::demo_ids(&app.services, "REST API").await;

    // Another organisation whose admin is someone else entirely.
    let other = app.services.create_org("globex", "Globex").await.unwrap();
    let stranger = app
        .services
        .create_user(
            "admin@globex.example",
            "correct horse battery staple",
            &other,
            Role::Owner,
        )
        .await
        .unwrap();
    let globex = key_for(&app, &stranger.id, &other.id, true, None).await;

    let new_page = json!({ "name": "Sneaky", "slug": "sneaky" });
    for (key, want) in [(&owner_read, 403), (&editor, 403), (&viewer, 403)] {
        let (s, body) = As(&app, key).post("/pages", Some(new_page.clone())).await;
        assert_eq!(s, want, "{body}");
        let (s, _) = As(&app, key)
            .patch(
                &format!("/pages/{page}"),
                Some(json!({ "name": "Renamed" })),
            )
            .await;
        assert_eq!(s, want);
        let (s, _) = As(&app, key).delete(&format!("/pages/{page}"), None).await;
        assert_eq!(s, want);
        let (s, _) = As(&app, key)
            .post(
                &format!("/pages/{page}/components"),
                Some(json!({ "name": "Planted" })),
            )
            .await;
        assert_eq!(s, want);
        let (s, _) = As(&app, key)
            .delete(&format!("/components/{component}"), None)
            .await;
        assert_eq!(s, want);
    }
    // Another organisation's key is told the page and component do not exist.
    for (m, p, b) in [
        (
            Method::PATCH,
            format!("/pages/{page}"),
            Some(json!({ "name": "Renamed" })),
        ),
        (Method::DELETE, format!("/pages/{page}"), None),
        (
            Method::POST,
            format!("/pages/{page}/components"),
            Some(json!({ "name": "Planted" })),
        ),
        (
            Method::PATCH,
            format!("/components/{component}"),
            Some(json!({ "status": "major_outage" })),
        ),
        (Method::DELETE, format!("/components/{component}"), None),
    ] {
        let (s, body) = As(&app, &globex).send(m, &p, b).await;
        assert_eq!(error_code(s, &body), "not_found", "{p}");
    }

    // Setting a status is incident work: editors may, viewers and read keys may not.
    let status = |st: &str| Some(json!({ "status": st }));
    let comp_path = format!("/components/{component}");
    let (s, _) = As(&app, &viewer)
        .patch(&comp_path, status("partial_outage"))
        .await;
    assert_eq!(s, 403);
    let (s, _) = As(&app, &owner_read)
        .patch(&comp_path, status("partial_outage"))
        .await;
    assert_eq!(s, 403);
    let (s, _) = As(&app, &editor)
        .patch(
            &comp_path,
            Some(json!({ "status": "partial_outage", "name": "Renamed" })),
        )
        .await;
    assert_eq!(s, 403, "an editor may not rename");
    let (s, body) = As(&app, &editor)
        .patch(&comp_path, status("degraded_performance"))
        .await;
    assert_eq!(s, 200, "{body}");

    // Nothing of the refused calls landed.
    let (_, pages) = As(&app, &owner_write).get("/pages", None).await;
    let names: Vec<&Value> = pages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert!(
        !names.iter().any(|n| *n == "Sneaky" || *n == "Renamed"),
        "{pages}"
    );
    let (_, comps) = As(&app, &owner_write)
        .get(&format!("/pages/{page}/components"), None)
        .await;
    assert!(!comps.to_string().contains("Planted") && !comps.to_string().contains("Renamed"));
    let me = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component_id"] == json!(component))
        .unwrap();
    assert_eq!(me["status"], "degraded_performance");
});
