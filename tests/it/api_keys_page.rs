//! `/admin/api-keys`: the list (with connector keys), the create form (CSRF, key shown once) and
//! revocation, which for a connector key ends its MCP connection.

use serde_json::{json, Value};
use statusgate::domain::KeyKind;

use crate::api_support::acme;
use crate::both_backends;
use crate::helpers::{csrf_in, TestApp};

both_backends!(
    the_api_keys_page_makes_lists_and_revokes_keys,
    |db| async move {
        // Arrange: an MCP connection, so a connector key exists.
        let app = TestApp::spawn(db).await;
        let t = crate::oauth::tokens(&app).await;
        if app.get("/admin").await.status() != 200 {
            app.sign_in_as_owner().await;
        }
        let html = app.get("/admin/api-keys").await.text().await.unwrap();
        assert!(html.contains("MCP — "), "{html}");
        let csrf = csrf_in(&html).unwrap();

        // Act + Assert: without the CSRF token nothing is made.
        let r = app
            .post_form("/admin/api-keys", &[("name", "Sneaky"), ("scope", "write")])
            .await;
        assert_eq!(r.status(), 403);

        let r = app
            .post_form(
                "/admin/api-keys",
                &[
                    ("csrf", &csrf),
                    ("name", "Deploys"),
                    ("scope", "write"),
                    ("expires_days", "30"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        let html = app.get(&to).await.text().await.unwrap();
        let tag = "<code class=\"secret\" id=\"flash-secret\">";
        let at = html.find(tag).expect("key shown") + tag.len();
        let secret = html[at..html[at..].find('<').unwrap() + at].to_owned();
        assert!(secret.starts_with("sg_"), "{secret}");
        let later = app.get("/admin/api-keys").await.text().await.unwrap();
        assert!(later.contains("Deploys") && !later.contains(&secret));

        let me = |key: String| {
            let url = format!("{}/api/v1/me", app.base);
            async move {
                reqwest::Client::new()
                    .get(url)
                    .header("x-statusgate-key", key)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = me(secret.clone()).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["scope"], "write");
        assert!(body["expires_at"].is_string());

        // Revoking the key stops it at once.
        let key_id = body["key_id"].as_str().unwrap();
        let r = app
            .post_form(
                &format!("/admin/api-keys/{key_id}/revoke"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(me(secret).await.status(), 401);

        // Revoking the connector key ends the connection: its access token stops working.
        let org = acme(&app).await;
        let keys = app.store.api_keys_of_org(&org, None).await.unwrap();
        let connector = keys.iter().find(|k| k.kind == KeyKind::Connector).unwrap();
        let r = app
            .post_form(
                &format!("/admin/api-keys/{}/revoke", connector.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status(), 303);
        let r = reqwest::Client::new()
            .post(format!("{}/mcp", app.base))
            .header("accept", "application/json, text/event-stream")
            .bearer_auth(&t.access)
            .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        app.stop().await;
    }
);
