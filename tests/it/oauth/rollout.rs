//! An organisation rolls out Claude.ai: every person's connection registers the same public client
//! (Claude sends an identical body each time), all within one minute, from one address.

use std::sync::Arc;

use serde_json::json;
use statusgate::clock::FixedClock;
use statusgate::domain::Role;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use super::*;
use crate::both_backends;
use crate::helpers::{Browser, TestApp};

const CLAUDE_CALLBACK: &str = "https://claude.ai/api/mcp/auth_callback";
const PEOPLE: usize = 100;
const PASSWORD: &str = "rollout password";

fn claude_body() -> Value {
    json!({
        "client_name": "Claude",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "redirect_uris": [CLAUDE_CALLBACK]
    })
}

/// One person's whole connection: sign in, register, approve, exchange the code. Answers the client id.
async fn connect_claude(app: Arc<TestApp>, browser: Browser, email: String) -> String {
    assert_eq!(browser.sign_in(&email, PASSWORD).await.status(), 303);
    let (s, reg) = register(&app, claude_body()).await;
    assert_eq!(s, 201, "{email}: {reg}");
    let client = reg["client_id"].as_str().unwrap().to_owned();
    let p = pkce();
    let to = consent(
        &browser,
        &authorize_path(&client, CLAUDE_CALLBACK, &p.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    let code = query(&to, "code").expect("code");
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("client_id", &client),
            ("redirect_uri", CLAUDE_CALLBACK),
        ],
    )
    .await;
    assert_eq!(s, 200, "{email}: {body}");
    client
}

both_backends!(
    a_hundred_people_connect_claude_within_one_minute,
    |db| async move {
        // The clock stands still: every registration falls in the same minute.
        let clock = FixedClock::new(OffsetDateTime::now_utc());
        let app = Arc::new(
            TestApp::spawn_with(
                db,
                |c| {
                    // A hundred colleagues behind one office address sign in within the minute.
                    c.security.login_per_address_burst = 200;
                },
                Arc::new(clock),
            )
            .await,
        );
        let org = app.services.org_by_slug("acme").await.unwrap();
        let mut created = JoinSet::new();
        for i in 0..PEOPLE {
            let (services, org) = (app.services.clone(), org.clone());
            created.spawn(async move {
                let email = format!("person{i}@acme.test");
                services
                    .create_user(&email, PASSWORD, &org, Role::Editor)
                    .await
                    .unwrap();
                email
            });
        }
        let people = created.join_all().await;
        let mut clients = Vec::new();
        for group in people.chunks(10) {
            let mut running = JoinSet::new();
            for email in group {
                running.spawn(connect_claude(
                    app.clone(),
                    app.new_browser(),
                    email.clone(),
                ));
            }
            clients.extend(running.join_all().await);
        }
        assert_eq!(clients.len(), PEOPLE);
        assert!(
            clients.iter().all(|c| *c == clients[0]),
            "one client for everyone"
        );
        let stored: i64 =
            sqlx::query_scalar("select count(*) from oauth_clients where client_name = 'Claude'")
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(stored, 1);
        let live: i64 = sqlx::query_scalar(
            "select count(*) from oauth_grants where client_id = $1 and revoked_at is null",
        )
        .bind(&clients[0])
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!(live, PEOPLE as i64, "every person's connection is live");
    }
);
