//! The OpenAPI document is generated from the route table; this checks it against what the server
//! actually answers: every (method, path) it serves is documented, and nothing documented is missing.

use reqwest::Method;
use serde_json::Value;

use crate::api_routes::paths;
use crate::both_backends;
use crate::helpers::TestApp;

/// The paths the page MCP server and the contract rely on.
const CONTRACT: [(&str, &str); 45] = [
    ("GET", "/me"),
    ("GET", "/orgs"),
    ("GET", "/pages"),
    ("GET", "/pages/{page_id}"),
    ("GET", "/pages/by-slug/{org_slug}/{public_slug}"),
    ("GET", "/pages/{page_id}/status-definitions"),
    ("GET", "/pages/{page_id}/lifecycle-stages"),
    ("GET", "/pages/{page_id}/hierarchy"),
    ("GET", "/pages/{page_id}/components"),
    ("GET", "/pages/{page_id}/incidents"),
    ("POST", "/pages/{page_id}/incidents"),
    ("GET", "/incidents/{incident_id}"),
    ("PATCH", "/incidents/{incident_id}"),
    ("DELETE", "/incidents/{incident_id}"),
    ("POST", "/incidents/{incident_id}/updates"),
    ("POST", "/incidents/{incident_id}/acknowledge"),
    ("POST", "/incidents/{incident_id}/resolve"),
    ("POST", "/incidents/{incident_id}/reopen"),
    ("GET", "/pages/{page_id}/maintenances"),
    ("POST", "/pages/{page_id}/maintenances"),
    ("GET", "/maintenances/{maintenance_id}"),
    ("PATCH", "/maintenances/{maintenance_id}"),
    ("DELETE", "/maintenances/{maintenance_id}"),
    ("POST", "/maintenances/{maintenance_id}/updates"),
    ("POST", "/maintenances/{maintenance_id}/complete"),
    ("POST", "/maintenances/{maintenance_id}/cancel"),
    ("GET", "/pages/{page_id}/monitors"),
    ("GET", "/monitors/{monitor_id}/events"),
    ("POST", "/monitors/{monitor_id}/run"),
    ("GET", "/pages/{page_id}/pending-actions"),
    ("POST", "/pending-actions/{action_id}/approve"),
    ("POST", "/pending-actions/{action_id}/reject"),
    ("GET", "/pages/{page_id}/subscribers/summary"),
    ("GET", "/pages/{page_id}/analytics"),
    ("GET", "/pages/{page_id}/embeds"),
    ("GET", "/audit"),
    ("GET", "/openapi.json"),
    // The same paths again under other methods are not served; listed here as the refusals to see.
    ("PUT", "!/me"),
    ("DELETE", "!/pages"),
    ("POST", "!/pages/{page_id}"),
    ("PATCH", "!/audit"),
    ("DELETE", "!/pages/{page_id}/incidents"),
    ("GET", "!/incidents/{incident_id}/resolve"),
    ("PUT", "!/incidents/{incident_id}"),
    ("POST", "!/openapi.json"),
];

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];

/// A concrete URL for a documented path: ids of the right shape that exist nowhere.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{page_id}" => "pg_0123456789abcdef01234567",
            "{incident_id}" => "inc_0123456789abcdef01234567",
            "{maintenance_id}" => "mnt_0123456789abcdef01234567",
            "{monitor_id}" => "mon_0123456789abcdef01234567",
            "{action_id}" => "act_0123456789abcdef01234567",
            s if s.starts_with('{') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

both_backends!(
    every_served_route_is_in_the_openapi_document,
    |db| async move {
        // Arrange
        let app = TestApp::spawn(db).await;
        let http = reqwest::Client::new();
        let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1."),
            "{}",
            doc["openapi"]
        );
        let documented = paths(&doc);

        // Act + Assert: for every documented path, each method is served exactly when documented. With
        // no key, a served route answers 401 (or 200 for the document); an unserved one 405.
        for path in documented.iter().map(|(_, p)| p.clone()) {
            for method in METHODS {
                let url = format!("{}/api/v1{}", app.base, concrete(&path));
                let r = http
                    .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
                    .send()
                    .await
                    .unwrap();
                let served = !matches!(r.status().as_u16(), 404 | 405);
                let listed = documented.iter().any(|(m, p)| m == method && *p == path);
                assert_eq!(served, listed, "{method} {path}: {}", r.status());
                if served && path != "/openapi.json" {
                    assert_eq!(r.status(), 401, "{method} {path} must need a key");
                }
            }
        }
        for (method, path) in CONTRACT {
            let (wanted, path) = match path.strip_prefix('!') {
                Some(p) => (false, p),
                None => (true, path),
            };
            let listed = documented.iter().any(|(m, p)| m == method && p == path);
            assert_eq!(listed, wanted, "{method} {path}");
        }
        // Each operation carries an id and the shared error schema.
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                assert!(op["operationId"].is_string(), "{op}");
            }
        }
        assert!(doc["components"]["schemas"]["Error"].is_object());
        assert!(doc["components"]["schemas"]["CreateIncident"]["properties"]["notify"].is_object());
        app.stop().await;
    }
);
