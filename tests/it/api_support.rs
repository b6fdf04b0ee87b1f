//! Helpers for the REST API tests: keys made through the services, requests with a key.

use std::sync::Arc;

use reqwest::{Method, Response};
use serde_json::Value;
use statusgate::clock::SystemClock;
use statusgate::ids::{OrgId, PageId, UserId};
use statusgate::service::api_keys::NewKey;
use statusgate::service::Principal;

use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL};

/// A server whose keys have room for the many calls one test makes.
pub async fn spawn(db: TestDb) -> TestApp {
    TestApp::spawn_with(db, |c| c.api.burst = 1000, Arc::new(SystemClock)).await
}

pub async fn owner(app: &TestApp) -> UserId {
    app.store.user_id_by_email(ADMIN_EMAIL).await.unwrap()
}

pub async fn acme(app: &TestApp) -> OrgId {
    app.services.org_by_slug("acme").await.unwrap().id
}

/// A key of `user` in `org`.
pub async fn key_for(
    app: &TestApp,
    user: &UserId,
    org: &OrgId,
    write: bool,
    page: Option<PageId>,
) -> String {
    let new = NewKey {
        name: "test key".into(),
        write,
        page,
        expires_in_days: None,
    };
    let (_, secret) = app
        .services
        .create_api_key(&Principal::user(user.clone()), org, new)
        .await
        .unwrap();
    secret
}

/// A key of the demo owner in acme.
pub async fn owner_key(app: &TestApp, write: bool) -> String {
    let (user, org) = (owner(app).await, acme(app).await);
    key_for(app, &user, &org, write, None).await
}

pub async fn call(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}/api/v1{path}", app.base))
        .header("x-statusgate-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// Calls and answers the status with the JSON body (null when empty).
pub async fn json(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let r = call(app, key, method, path, body).await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts the one error shape and answers its code.
pub fn error_code(status: u16, body: &Value) -> String {
    assert_eq!(body["error"]["status"], status, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"].as_str().unwrap().to_owned()
}

/// `POST path` with `body` as `key`: the status and JSON body.
pub async fn post_as(app: &TestApp, key: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    json(app, key, Method::POST, path, body).await
}

/// `GET path` as `key`: the status and JSON body.
pub async fn get_as(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    json(app, key, Method::GET, path, None).await
}
