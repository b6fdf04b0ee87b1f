//! Checklist 1.1 and 1.2: discovery documents.

use serde_json::Value;

use super::plain;
use crate::both_backends;
use crate::helpers::TestApp;

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

async fn json(app: &TestApp, path: &str) -> Value {
    let r = plain()
        .get(app.url(path))
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    r.json().await.unwrap()
}

both_backends!(documents_agree_and_carry_no_nulls, |db| async move {
    let app = TestApp::spawn(db).await;
    let issuer = app.base.clone();
    let resource = format!("{issuer}/mcp");
    let root = json(&app, "/.well-known/oauth-protected-resource").await;
    let pathed = json(&app, "/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(root, pathed, "one resource, one document");
    assert_eq!(pathed["resource"], resource.as_str());
    assert_eq!(pathed["authorization_servers"][0], issuer.as_str());
    let asm = json(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(
        asm,
        json(&app, "/.well-known/oauth-authorization-server/mcp").await
    );
    assert_eq!(asm["issuer"], issuer.as_str());
    assert_eq!(asm["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        asm["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        asm["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ])
    );
    let methods = asm["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for m in ["none", "client_secret_post", "client_secret_basic"] {
        assert!(methods.iter().any(|x| x == m), "{m}");
    }
    assert_eq!(asm["authorization_response_iss_parameter_supported"], true);
    assert_eq!(asm["client_id_metadata_document_supported"], true);
    for ep in [
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
    ] {
        assert!(
            asm[ep].as_str().unwrap().starts_with(&issuer),
            "{ep} absolute"
        );
    }
    assert_eq!(
        asm["scopes_supported"], pathed["scopes_supported"],
        "same scope list"
    );
    assert!(!pathed["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "offline_access"));
    assert!(!has_null(&asm) && !has_null(&pathed));
});

both_backends!(preflights_are_answered_before_auth, |db| async move {
    let app = TestApp::spawn(db).await;
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/mcp/oauth/register",
        "/mcp/oauth/token",
        "/mcp/oauth/revoke",
    ] {
        let r = plain()
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "http://localhost:6274")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "mcp-protocol-version, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let allowed = r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(allowed.contains("mcp-protocol-version") && allowed.contains("authorization"));
        assert!(r
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
    }
    let r = plain()
        .post(app.url("/mcp/oauth/token"))
        .form(&[("grant_type", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-expose-headers"],
        "WWW-Authenticate"
    );
});

both_backends!(
    bearer_challenges_point_at_absolute_metadata,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let oauth =
            statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
        let meta = format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            app.base
        );
        assert_eq!(oauth.bearer_challenge(None), format!("Bearer {meta}"));
        let e = oauth.verify_access("not.a.jwt").await.unwrap_err();
        let c = oauth.bearer_challenge(Some(&e));
        assert!(c.contains(&meta) && c.contains("error=\"invalid_token\""));
        let c = oauth.insufficient_scope_challenge("mcp.incidents.write");
        assert!(
            c.contains("error=\"insufficient_scope\"")
                && c.contains("scope=\"mcp.incidents.write\"")
        );
    }
);
