//! Two `statusgate serve` processes on one PostgreSQL database: tokens and revocations are shared.

use serde_json::{json, Value};

use super::*;
use crate::helpers::{browser, Backend, Browser, TestDb};
use crate::multi_instance::serve_with;

const PUBLIC: &str = "http://statusgate.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_revocations_cross_instances_postgres() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
        return;
    };
    let env = [("STATUSGATE_PUBLIC_URL", PUBLIC)];
    let a = serve_with(&db.url, &env);
    let b = serve_with(&db.url, &env);
    let addr = |base: &str| base.trim_start_matches("http://").parse().unwrap();
    let on_a = Browser {
        addr: addr(&a.base),
        client: browser(),
    };
    let on_b = Browser {
        addr: addr(&b.base),
        client: on_a.client.clone(),
    };
    on_a.sign_in_as_owner().await;
    let reg: Value = plain()
        .post(on_b.url("/mcp/oauth/register"))
        .json(&json!({ "redirect_uris": [CALLBACK] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = reg["client_id"].as_str().unwrap();
    let p = pkce();
    // Consent on A for a client registered on B.
    let to = consent(
        &on_a,
        &authorize_path(client, CALLBACK, &p.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    let code = query(&to, "code").unwrap();
    let post = |on: &Browser, path: &str, form: Vec<(&'static str, String)>| {
        let url = on.url(path);
        async move {
            let r = plain().post(url).form(&form).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (s, t) = post(
        &on_a,
        "/mcp/oauth/token",
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("code_verifier", p.verifier.clone()),
            ("client_id", client.into()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();

    // A third party on the same database (the resource server of either instance) accepts A's token.
    let config = crate::helpers::test_config(&db.url);
    let store = statusgate::app::connect(&config).await.unwrap();
    statusgate::app::unlock_signing_keys(&config, &store)
        .await
        .unwrap();
    let services = statusgate::service::Services::new(
        store,
        std::sync::Arc::new(statusgate::clock::SystemClock),
        Default::default(),
    );
    let rs = statusgate::oauth::AuthServer::new(services, Default::default(), PUBLIC);
    assert!(rs.verify_access(&access).await.is_ok());

    // B rotates A's refresh token.
    let (s, t2) = post(
        &on_b,
        "/mcp/oauth/token",
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", t["refresh_token"].as_str().unwrap().into()),
            ("client_id", client.into()),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t2}");

    // Revoke on A; B refuses the refresh token and the access token is dead at the next check.
    let (s, _) = post(
        &on_a,
        "/mcp/oauth/revoke",
        vec![
            ("token", t2["refresh_token"].as_str().unwrap().into()),
            ("client_id", client.into()),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = post(
        &on_b,
        "/mcp/oauth/token",
        vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                t2["refresh_token"].as_str().unwrap().into(),
            ),
            ("client_id", client.into()),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    assert!(rs.verify_access(&access).await.is_err());
    assert!(rs
        .verify_access(t2["access_token"].as_str().unwrap())
        .await
        .is_err());
}
