//! Two instances on one PostgreSQL database, each with its read cache warm: a role demotion, a new page
//! and a revoked grant written through one are seen by the other at its very next request (the writer
//! answers only once every listening instance has acknowledged the commit's notice).

use serde_json::{Map, Value};
use statusgate::app::App;
use statusgate::domain::{Permission, Role};
use statusgate::mcp::http::Authenticate;
use statusgate::service::Principal;

use super::*;
use crate::helpers::{test_config, Backend, TestDb};

/// `list_status_pages` as instance `b` answers it for `access`: page names and overall statuses.
async fn pages_on(b: &App, access: &str) -> Vec<(String, String)> {
    let Ok(caller) = b.state.oauth.authenticate(access).await else {
        panic!("instance B refused the token");
    };
    let base = b.state.config.public_url.clone();
    let out = statusgate::mcp::tools::call(
        &b.state.services,
        &caller,
        &base,
        "list_status_pages",
        &Map::new(),
    )
    .await
    .unwrap();
    out["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p: &Value| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["overall_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_one_instance_reach_the_others_cache_at_its_next_request_postgres() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
        return;
    };
    let url = db.url.clone();
    let a = TestApp::spawn(db).await;
    // B serves the same issuer and resource as A, so A's tokens are B's too.
    let mut config = test_config(&url);
    config.public_url = a.base.clone();
    let b = App::build(config).await.unwrap();
    let t = tokens(&a).await;
    let (sa, sb) = (&a.services, &b.state.services);

    // Warm B's cache: the grant, the owner's memberships, the pages and their components.
    let before = pages_on(&b, &t.access).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(pages_on(&b, &t.access).await, before);

    // A new page written through A is listed by B at once.
    let owner = sa.authenticate(
        crate::helpers::ADMIN_EMAIL,
        crate::helpers::ADMIN_PASSWORD,
        "127.0.0.1",
    );
    let owner = Principal::user(owner.await.unwrap().id);
    let org = sa.memberships(&owner.user_id).await.unwrap()[0].org.clone();
    sa.create_page(&owner, &org.id, "second", "second", "Second page", &[])
        .await
        .unwrap();
    assert_eq!(pages_on(&b, &t.access).await.len(), 2);

    // A role demotion written through A applies on B at once.
    let editor = sa
        .create_user("editor@acme.test", "editor password 1", &org, Role::Editor)
        .await
        .unwrap();
    let editor = Principal::user(editor.id);
    assert!(sb
        .can(&editor, &org.id, Permission::IncidentManage)
        .await
        .unwrap());
    assert!(sb
        .can(&editor, &org.id, Permission::IncidentManage)
        .await
        .unwrap());
    sa.set_role(&owner, &org.id, &editor.user_id, Role::Viewer)
        .await
        .unwrap();
    assert!(!sb
        .can(&editor, &org.id, Permission::IncidentManage)
        .await
        .unwrap());

    // A revocation through A's token endpoint refuses the token on B at its next call.
    assert!(b.state.oauth.verify_access(&t.access).await.is_ok());
    let r = plain()
        .post(a.browser.url("/mcp/oauth/revoke"))
        .form(&[("token", t.refresh.as_str()), ("client_id", &t.client)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(b.state.oauth.verify_access(&t.access).await.is_err());
}
