//! Checklist 1.4 and 1.5: the authorization endpoint and the consent page.

use serde_json::json;

use super::*;
use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    bad_clients_and_redirects_get_a_page_never_a_redirect,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let client = register_public(&app, CALLBACK).await;
        let p = pkce();
        for path in [
            authorize_path("cli_00000000", CALLBACK, &p.challenge, &[]),
            authorize_path(&client, "https://evil.example/cb", &p.challenge, &[]),
            authorize_path(&client, "http://127.0.0.1/callback/", &p.challenge, &[]),
            authorize_path(
                "https://unknown.example/client.json",
                CALLBACK,
                &p.challenge,
                &[],
            ),
        ] {
            let r = app.get(&path).await;
            assert_eq!(r.status(), 400, "{path}");
            assert!(
                r.headers().get("location").is_none(),
                "no open redirect: {path}"
            );
        }
    }
);

/// Bad requests for `client`, each with the error code it should get.
fn bad_requests(client: &str, redirect: &str, p: &Pkce) -> Vec<(String, &'static str)> {
    vec![
        (
            authorize_path(client, redirect, &p.challenge, &[])
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (authorize_path(client, redirect, "", &[]), "invalid_request"),
        (
            authorize_path(client, redirect, &p.challenge, &[]).replace("S256", "plain"),
            "invalid_request",
        ),
        (
            authorize_path(client, redirect, &p.challenge[..42], &[]),
            "invalid_request",
        ),
        (
            authorize_path(
                client,
                redirect,
                &p.challenge,
                &[("resource", "https://elsewhere.example/mcp")],
            ),
            "invalid_target",
        ),
        (
            authorize_path(client, redirect, &p.challenge, &[("state", "again")]),
            "invalid_request",
        ),
    ]
}

both_backends!(request_errors_go_back_with_state_and_iss, |db| async move {
    let app = TestApp::spawn(db).await;
    app.sign_in_as_owner().await;
    let client = register_public(&app, CALLBACK).await;
    let p = pkce();
    // Someone approved this client once: its redirect URI is trusted with errors from now on.
    consent(
        &app,
        &authorize_path(&client, CALLBACK, &p.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    for (path, error) in bad_requests(&client, CALLBACK, &p) {
        let r = app.get(&path).await;
        assert_eq!(r.status(), 303, "{path}");
        let to = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(to.as_str().starts_with(CALLBACK));
        assert_eq!(query(&to, "error").as_deref(), Some(error), "{path}");
        assert_eq!(query(&to, "iss"), Some(app.base.clone()));
        if !path.contains("state=again") {
            assert_eq!(query(&to, "state").as_deref(), Some("st+/%ate"));
        }
    }
});

both_backends!(
    errors_of_a_client_nobody_approved_are_pages,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let p = pkce();
        // A self-registered client nobody approved: its redirect URI is whatever its registrant chose.
        let evil = "https://evil.example/cb";
        let client = register_public(&app, evil).await;
        for (path, error) in bad_requests(&client, evil, &p) {
            let r = app.get(&path).await;
            assert_eq!(r.status(), 400, "{path}: {error}");
            assert!(
                r.headers().get("location").is_none(),
                "no open redirect: {path}"
            );
            assert!(r.text().await.unwrap().contains("cannot be used"));
        }
    }
);

both_backends!(
    deny_naming_another_organisation_writes_nothing,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let client = register_public(&app, CALLBACK).await;
        let p = pkce();
        let path = authorize_path(&client, CALLBACK, &p.challenge, &[]);
        let html = app.get(&path).await.text().await.unwrap();
        let mut fields = super::form_fields(&html);
        fields.retain(|(k, _)| k != "org");
        fields.push(("org".into(), globex.id.to_string()));
        fields.push(("decision".into(), "deny".into()));
        let r = app
            .client
            .post(app.url("/mcp/oauth/authorize"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("not a member"));
        let audit = app.store.audit_entries(&globex.id, None, 50).await.unwrap();
        assert!(
            audit.iter().all(|e| e.action != "oauth.consent_denied"),
            "{audit:?}"
        );
        // Naming their own organisation, the refusal is recorded there.
        let to = consent(&app, &path, "deny", |_| {}).await;
        assert_eq!(query(&to, "error").as_deref(), Some("access_denied"));
        let acme = app.services.org_by_slug("acme").await.unwrap();
        let audit = app.store.audit_entries(&acme.id, None, 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "oauth.consent_denied"));
    }
);

both_backends!(signing_in_returns_to_the_same_request, |db| async move {
    let app = TestApp::spawn(db).await;
    let client = register_public(&app, CALLBACK).await;
    let p = pkce();
    let path = authorize_path(
        &client,
        CALLBACK,
        &p.challenge,
        &[
            ("prompt", "consent"),
            ("resource", &format!("{}/mcp/", app.base)),
        ],
    );
    let r = app.get(&path).await;
    assert_eq!(r.status(), 303);
    let login = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(login.starts_with("/login?next="));
    let html = app.get(&login).await.text().await.unwrap();
    let fields = super::form_fields(&html);
    let next = fields.iter().find(|(k, _)| k == "next").unwrap().1.clone();
    assert_eq!(next, path);
    let csrf = crate::helpers::csrf_in(&html).unwrap();
    let r = app
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", crate::helpers::ADMIN_EMAIL),
                ("password", crate::helpers::ADMIN_PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), path);
    let page = app.get(&path).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("form-action 'self' http://127.0.0.1")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Self-registered")
            && html.contains("127.0.0.1")
            && html.contains("only receives answers on this computer")
    );
    // Without the CSRF token the decision is refused.
    let mut fields = super::form_fields(&html);
    fields.retain(|(k, _)| k != "csrf");
    fields.push(("decision".into(), "approve".into()));
    let r = app
        .client
        .post(app.url("/mcp/oauth/authorize"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
});

both_backends!(deny_redirects_access_denied, |db| async move {
    let app = TestApp::spawn(db).await;
    app.sign_in_as_owner().await;
    let client = register_public(&app, CALLBACK).await;
    let p = pkce();
    let to = consent(
        &app,
        &authorize_path(&client, CALLBACK, &p.challenge, &[]),
        "deny",
        |_| {},
    )
    .await;
    assert_eq!(query(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&to, "state").as_deref(), Some("st+/%ate"));
    assert_eq!(query(&to, "iss"), Some(app.base.clone()));
    assert!(query(&to, "code").is_none());
});

both_backends!(scopes_and_tools_on_the_consent_page, |db| async move {
    let app = TestApp::spawn(db).await;
    app.sign_in_as_owner().await;
    let client = register_public(&app, CALLBACK).await;
    let p = pkce();
    // Messy scope: read defaults offered; no write scope while the org does not allow writes.
    let path = authorize_path(
        &client,
        CALLBACK,
        &p.challenge,
        &[("scope", " offline_access claudeai mcp.incidents.write")],
    );
    let html = app.get(&path).await.text().await.unwrap();
    assert!(html.contains("value=\"mcp.pages.read\" checked"));
    assert!(
        !html.contains("value=\"mcp.incidents.write\""),
        "writes not offered"
    );
    assert!(html.contains("list_recent_beat_failures"));
    // An admin allows writes: offered, never pre-ticked.
    let csrf = app.csrf_on("/admin/hosted-mcp").await;
    let r = app
        .client
        .put(app.url("/api/v1/admin/hosted-mcp/settings"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"enabled": true, "allow_write": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .put(app.url("/api/v1/admin/hosted-mcp/settings"))
        .json(&json!({"enabled": true, "allow_write": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "JSON route needs the CSRF token");
    let html = app.get(&path).await.text().await.unwrap();
    assert!(
        html.contains("name=\"access\" value=\"write\" required>")
            && html.contains("name=\"access\" value=\"read\" required>"),
        "read only or read and write, neither chosen: {html}"
    );
    // Choose read and write, untick one tool: the grant remembers exactly that.
    let to = consent(&app, &path, "approve", |f| {
        f.push(("access".into(), "write".into()));
        f.retain(|(k, v)| {
            !(k == "grant_tool" && (v == "get_incident" || v == "add_incident_update"))
        });
    })
    .await;
    let code = query(&to, "code").unwrap();
    let (s, body, _) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["scope"]
        .as_str()
        .unwrap()
        .contains("mcp.incidents.write"));
    let oauth =
        statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
    let live = oauth
        .verify_access(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(live.can_write);
    assert_eq!(live.client_name, "Test client");
    assert_eq!(
        live.principal(None).actor.actor_type(),
        statusgate::domain::ActorType::Mcp
    );
    assert!(live.tools.iter().any(|t| t == "create_incident"));
    assert!(!live
        .tools
        .iter()
        .any(|t| t == "get_incident" || t == "add_incident_update"));
    // Re-consent replaces the earlier grant.
    let p2 = pkce();
    let to = consent(
        &app,
        &authorize_path(&client, CALLBACK, &p2.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    assert!(query(&to, "code").is_some());
    assert!(oauth
        .verify_access(body["access_token"].as_str().unwrap())
        .await
        .is_err());
});

both_backends!(
    claude_code_metadata_document_with_a_random_port,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let client = "https://claude.ai/oauth/claude-code-client-metadata";
        let redirect = "http://localhost:49536/callback";
        let p = pkce();
        let html = app
            .get(&authorize_path(client, redirect, &p.challenge, &[]))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Verified domain: claude.ai")
                && html.contains("only receives answers on this computer")
        );
        let to = consent(
            &app,
            &authorize_path(client, redirect, &p.challenge, &[]),
            "approve",
            |_| {},
        )
        .await;
        assert!(to.as_str().starts_with(redirect));
        let code = query(&to, "code").unwrap();
        let (s, body, _) = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &p.verifier),
                ("client_id", client),
                ("redirect_uri", redirect),
            ],
        )
        .await;
        assert_eq!(s, 200, "{body}");
        // localhost and 127.0.0.1 stay distinct hosts.
        let r = app
            .get(&authorize_path(
                client,
                "http://127.0.0.1:5/other",
                &p.challenge,
                &[],
            ))
            .await;
        assert_eq!(r.status(), 400);
    }
);

both_backends!(connections_can_be_listed_and_revoked, |db| async move {
    let app = TestApp::spawn(db).await;
    let t = tokens(&app).await;
    let html = app.get("/account/connections").await.text().await.unwrap();
    assert!(html.contains("Test client"));
    let grant = html
        .split("/account/connections/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let admin = app.get("/admin/hosted-mcp").await.text().await.unwrap();
    assert!(admin.contains("Test client") && admin.contains("self-registered"));
    let csrf = crate::helpers::csrf_in(&html).unwrap();
    let r = app
        .post_form(
            &format!("/account/connections/{grant}/revoke"),
            &[("csrf", "wrong")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(accepted(&app, &t.access).await);
    let r = app
        .post_form(
            &format!("/account/connections/{grant}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        !accepted(&app, &t.access).await,
        "revoked on the next request"
    );
});

both_backends!(admins_pre_register_clients, |db| async move {
    let app = TestApp::spawn(db).await;
    app.sign_in_as_owner().await;
    let html = app.get("/admin/hosted-mcp").await.text().await.unwrap();
    let csrf = crate::helpers::csrf_in(&html).unwrap();
    let org = super::form_fields(&html)
        .into_iter()
        .find(|(k, _)| k == "org")
        .unwrap()
        .1;
    let r = app
        .post_form(
            "/admin/hosted-mcp/clients",
            &[
                ("csrf", &csrf),
                ("org", &org),
                ("name", "Ops bot"),
                (
                    "redirect_uris",
                    "https://bot.example/cb\nhttp://evil.example/cb",
                ),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        422,
        "an unacceptable URI is refused outright for admins"
    );
    let r = app
        .post_form(
            "/admin/hosted-mcp/clients",
            &[
                ("csrf", &csrf),
                ("org", &org),
                ("name", "Ops bot"),
                ("redirect_uris", "https://bot.example/cb"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app
        .get(r.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let at = page.find("class=\"created-client\">").unwrap() + "class=\"created-client\">".len();
    let client = &page[at..at + page[at..].find('<').unwrap()];
    let p = pkce();
    let html = app
        .get(&authorize_path(
            client,
            "https://bot.example/cb",
            &p.challenge,
            &[],
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Registered by an administrator") && html.contains("Ops bot"));
});
