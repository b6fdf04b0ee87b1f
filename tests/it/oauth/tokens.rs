//! Checklist 1.6 to 1.8: code exchange, refresh rotation with its retry window and theft detection,
//! concurrency, client authentication and revocation.

use std::sync::Arc;

use serde_json::json;
use statusgate::clock::FixedClock;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::both_backends;
use crate::helpers::TestApp;

fn exchange<'a>(client: &'a str, code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("client_id", client),
    ]
}

both_backends!(
    a_replayed_code_is_refused_and_its_tokens_die,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let (client, code, verifier) = approved_code(&app).await;
        let (s, first, headers) = token(&app, &exchange(&client, &code, &verifier)).await;
        assert_eq!(s, 200, "{first}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(first["token_type"], "Bearer");
        assert!(first["expires_in"].as_u64().unwrap() > 0);
        assert!(first["scope"].as_str().unwrap().contains("mcp.pages.read"));
        let access = first["access_token"].as_str().unwrap();
        assert!(accepted(&app, access).await);
        let (s, body, _) = token(&app, &exchange(&client, &code, &verifier)).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
        assert!(
            !accepted(&app, access).await,
            "tokens from a replayed code are revoked"
        );
        let (s, _) = refresh(&app, &client, first["refresh_token"].as_str().unwrap()).await;
        assert_eq!(s, 400);
    }
);

both_backends!(
    a_wrong_verifier_or_redirect_is_invalid_grant,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let (client, code, verifier) = approved_code(&app).await;
        let wrong = format!("{}x", &verifier[..verifier.len() - 1]);
        let (s, body, _) = token(&app, &exchange(&client, &code, &wrong)).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
        let mut form = exchange(&client, &code, &verifier);
        form.push(("redirect_uri", "http://127.0.0.1/other"));
        let (s, body, _) = token(&app, &form).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
        let mut form = exchange(&client, &code, &verifier);
        form.push(("resource", "https://elsewhere.example/mcp"));
        let (s, body, _) = token(&app, &form).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_target")));
        // Refusals leave the code usable by its client; a tolerant resource is fine.
        let base = format!("{}/", app.base);
        let mut form = exchange(&client, &code, &verifier);
        form.push(("resource", &base));
        let (s, body, _) = token(&app, &form).await;
        assert_eq!(s, 200, "{body}");
    }
);

both_backends!(unknown_clients_get_401_with_a_challenge, |db| async move {
    let app = TestApp::spawn(db).await;
    let (s, body, headers) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("code_verifier", "y"),
            ("client_id", "cli_0000"),
        ],
    )
    .await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(headers.contains_key("www-authenticate"));
    assert_eq!(headers["cache-control"], "no-store");
    let (s, body, _) = token(
        &app,
        &[("grant_type", "password"), ("client_id", "cli_0000")],
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let r = plain()
        .post(app.url("/mcp/oauth/token"))
        .json(&json!({"grant_type": "refresh_token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
});

both_backends!(
    secret_clients_must_prove_the_secret_and_still_use_pkce,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let (_, reg) = register(&app, json!({"client_name":"Claude","token_endpoint_auth_method":"client_secret_post","redirect_uris":[CALLBACK]})).await;
        let client = reg["client_id"].as_str().unwrap();
        let secret = reg["client_secret"].as_str().unwrap();
        let p = pkce();
        let to = consent(
            &app,
            &authorize_path(client, CALLBACK, &p.challenge, &[]),
            "approve",
            |_| {},
        )
        .await;
        let code = query(&to, "code").unwrap();
        let mut form = exchange(client, &code, &p.verifier);
        let (s, _, _) = token(&app, &form).await;
        assert_eq!(s, 401, "no secret");
        form.push(("client_secret", "wrong"));
        let (s, _, _) = token(&app, &form).await;
        assert_eq!(s, 401, "wrong secret");
        // Basic instead of the body works too.
        let r = plain()
            .post(app.url("/mcp/oauth/token"))
            .basic_auth(client, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("code_verifier", p.verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
);

both_backends!(
    refresh_rotates_retries_idempotently_and_detects_reuse,
    |db| async move {
        let clock = FixedClock::new(OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(db, |_| {}, Arc::new(clock.clone())).await;
        let t = tokens(&app).await;
        let (s, one) = refresh(&app, &t.client, &t.refresh).await;
        assert_eq!(s, 200, "{one}");
        let next = one["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(next, t.refresh, "rotated");
        // A retry of the same refresh within the window gets the same successor, no second chain.
        clock.advance(Duration::seconds(30));
        let (s, again) = refresh(&app, &t.client, &t.refresh).await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again["refresh_token"], next.as_str());
        // Narrowing is allowed, widening is not.
        let (s, b, _) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &next),
                ("client_id", &t.client),
                ("scope", "mcp.incidents.write"),
            ],
        )
        .await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_scope")));
        let (s, narrow, _) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &next),
                ("client_id", &t.client),
                ("scope", "mcp.pages.read offline_access"),
            ],
        )
        .await;
        assert_eq!(s, 200, "{narrow}");
        assert_eq!(narrow["scope"], "mcp.pages.read");
        let live = narrow["access_token"].as_str().unwrap().to_owned();
        assert!(accepted(&app, &live).await);
        // The first token again, long after: theft. The whole grant ends.
        clock.advance(Duration::seconds(120));
        let (s, b) = refresh(&app, &t.client, &t.refresh).await;
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
        assert!(!accepted(&app, &live).await);
        let (s, _) = refresh(&app, &t.client, narrow["refresh_token"].as_str().unwrap()).await;
        assert_eq!(s, 400, "the live chain is gone too");
        let audit = app
            .store
            .audit_entries(&app.store.org_by_slug("acme").await.unwrap().id, None, 50)
            .await
            .unwrap();
        assert!(audit
            .iter()
            .any(|a| a.action == "oauth.refresh_reuse_detected"));
    }
);

both_backends!(concurrent_refreshes_make_one_chain, |db| async move {
    let app = TestApp::spawn(db).await;
    let t = tokens(&app).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = app.url("/mcp/oauth/token");
        let (client, rt) = (t.client.clone(), t.refresh.clone());
        tasks.push(tokio::spawn(async move {
            let r = plain()
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("client_id", client.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let b: serde_json::Value = r.json().await.unwrap();
            (s, b["refresh_token"].as_str().map(str::to_owned))
        }));
    }
    let mut successors = Vec::new();
    for task in tasks {
        let (s, rt) = task.await.unwrap();
        assert_eq!(s, 200);
        successors.push(rt.unwrap());
    }
    successors.dedup();
    assert_eq!(
        successors.len(),
        1,
        "every concurrent refresh got the same successor"
    );
    let (s, _) = refresh(&app, &t.client, &successors[0]).await;
    assert_eq!(s, 200, "and that chain lives on");
});

both_backends!(revocation_follows_rfc7009, |db| async move {
    let app = TestApp::spawn(db).await;
    let t = tokens(&app).await;
    let revoke = |form: Vec<(&'static str, String)>| {
        let url = app.url("/mcp/oauth/revoke");
        async move {
            plain()
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        revoke(vec![
            ("token", "nonsense".into()),
            ("client_id", t.client.clone())
        ])
        .await,
        200
    );
    assert_eq!(
        revoke(vec![("client_id", t.client.clone())]).await,
        400,
        "token is required"
    );
    // Another client may not revoke it.
    let other = register_public(&app, CALLBACK).await;
    assert_eq!(
        revoke(vec![("token", t.refresh.clone()), ("client_id", other)]).await,
        400
    );
    assert!(accepted(&app, &t.access).await);
    // The refresh token with a wrong hint still ends the grant, access token included.
    assert_eq!(
        revoke(vec![
            ("token", t.refresh.clone()),
            ("token_type_hint", "access_token".into()),
            ("client_id", t.client.clone())
        ])
        .await,
        200
    );
    assert!(!accepted(&app, &t.access).await);
    let (s, _) = refresh(&app, &t.client, &t.refresh).await;
    assert_eq!(s, 400);
    // Revoking by access token ends a grant as well.
    let t2 = tokens(&app).await;
    assert_eq!(
        revoke(vec![
            ("token", t2.access.clone()),
            ("client_id", t2.client.clone())
        ])
        .await,
        200
    );
    assert!(!accepted(&app, &t2.access).await);
});

both_backends!(turning_hosted_mcp_off_stops_live_tokens, |db| async move {
    let app = TestApp::spawn(db).await;
    let t = tokens(&app).await;
    assert!(accepted(&app, &t.access).await);
    let csrf = app.csrf_on("/admin/hosted-mcp").await;
    let put = |enabled: bool| {
        app.client
            .put(app.url("/api/v1/admin/hosted-mcp/settings"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "enabled": enabled, "allow_write": false }))
            .send()
    };
    assert_eq!(put(false).await.unwrap().status(), 200);
    assert!(
        !accepted(&app, &t.access).await,
        "off means off, at the next request"
    );
    let (s, _) = refresh(&app, &t.client, &t.refresh).await;
    assert_eq!(s, 400);
    assert_eq!(put(true).await.unwrap().status(), 200);
    assert!(accepted(&app, &t.access).await);
    let got: serde_json::Value = app
        .get("/api/v1/admin/hosted-mcp/settings")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["enabled"], true);
});

both_backends!(deleting_the_connector_key_ends_the_grant, |db| async move {
    let app = TestApp::spawn(db).await;
    let t = tokens(&app).await;
    let oauth =
        statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
    let live = oauth.verify_access(&t.access).await.unwrap();
    let keys = app.store.key_names(&live.org_id).await.unwrap();
    assert!(keys
        .iter()
        .any(|(id, name, write)| *id == live.key_id && name == "MCP — Test client" && !write));
    app.services
        .revoke_api_key(
            &statusgate::service::Principal::user(live.user_id.clone()),
            &live.key_id,
        )
        .await
        .unwrap();
    assert!(oauth.verify_access(&t.access).await.is_err());
    let (s, _) = refresh(&app, &t.client, &t.refresh).await;
    assert_eq!(s, 400);
});
