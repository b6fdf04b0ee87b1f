//! The whole flow with a real OAuth client library: discovery by hand, registration, PKCE, the real
//! sign-in and consent forms, code exchange, refresh and revocation.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use serde_json::{json, Value};

use super::*;
use crate::both_backends;
use crate::helpers::{csrf_in, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

both_backends!(oauth2_crate_runs_the_whole_flow, |db| async move {
    let app = TestApp::spawn(db).await;
    let http = plain();
    // Discovery: the protected resource names its authorization server, which describes itself.
    let prm: Value = http
        .get(app.url("/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = prm["authorization_servers"][0].as_str().unwrap().to_owned();
    let meta: Value = http
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], issuer.as_str());
    let redirect = "http://127.0.0.1:4567/callback";
    let reg: Value = http
        .post(meta["registration_endpoint"].as_str().unwrap())
        .json(&json!({"client_name": "oauth2-rs", "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = BasicClient::new(ClientId::new(reg["client_id"].as_str().unwrap().to_owned()))
        .set_auth_uri(
            AuthUrl::new(meta["authorization_endpoint"].as_str().unwrap().to_owned()).unwrap(),
        )
        .set_token_uri(TokenUrl::new(meta["token_endpoint"].as_str().unwrap().to_owned()).unwrap())
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("mcp.pages.read".into()))
        .add_scope(Scope::new("mcp.incidents.read".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_extra_param("resource", prm["resource"].as_str().unwrap())
        .set_pkce_challenge(challenge)
        .url();

    // The browser: authorize, sign in, come back, approve.
    let path = &auth_url.as_str()[issuer.len()..];
    let r = app.get(path).await;
    let login = r.headers()["location"].to_str().unwrap().to_owned();
    let html = app.get(&login).await.text().await.unwrap();
    let next = super::form_fields(&html)
        .into_iter()
        .find(|(k, _)| k == "next")
        .unwrap()
        .1;
    let csrf = csrf_in(&html).unwrap();
    let r = app
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    let to = consent(&app, &back, "approve", |_| {}).await;
    assert_eq!(
        query(&to, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(query(&to, "iss").as_deref(), Some(issuer.as_str()));
    let code = query(&to, "code").unwrap();

    let first = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert!(accepted(&app, first.access_token().secret()).await);
    let scopes: Vec<String> = first
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, vec!["mcp.pages.read", "mcp.incidents.read"]);
    let rt = first.refresh_token().unwrap();
    let second = client
        .exchange_refresh_token(rt)
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(second.refresh_token().unwrap().secret(), rt.secret());
    assert!(accepted(&app, second.access_token().secret()).await);

    // oauth2 refuses a revocation URL that is not https, and the test server is plain http on
    // loopback, so this one request is sent by hand, in the form the library would send.
    let revoked = http
        .post(meta["revocation_endpoint"].as_str().unwrap())
        .form(&[
            ("token", second.refresh_token().unwrap().secret().as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", reg["client_id"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert!(!accepted(&app, second.access_token().secret()).await);
    assert!(client
        .exchange_refresh_token(second.refresh_token().unwrap())
        .request_async(&http)
        .await
        .is_err());
});
