//! Enterprise-managed sign-in: an identity provider on loopback publishes a JWKS (the fixture keys in
//! tests/fixtures/id_jag, test-only) and signs ID-JAGs with RS256 and ES256; the token endpoint turns
//! a good one into a one-hour token that calls tools on /mcp, refuses every bad one with
//! `invalid_grant`, and the connection it makes is revoked from the console like any other. The
//! outbound guard is relaxed for loopback by `[oauth] jwks_allow_private_targets`, as the metadata
//! document tests relax theirs.

use std::sync::Arc;

use axum::routing::get;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use statusgate::config::OAuthConfig;
use statusgate::domain::Role;
use statusgate::ids::{OrgId, UserId};
use statusgate::service::Principal;

use super::*;
use crate::both_backends;
use crate::helpers::{TestApp, TestDb, ADMIN_EMAIL};

const RSA_PEM: &str = include_str!("../../fixtures/id_jag/rsa.pem");
const EC_PEM: &str = include_str!("../../fixtures/id_jag/ec.pem");
const JWKS: &str = include_str!("../../fixtures/id_jag/jwks.json");
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCEPT: &str = "application/json, text/event-stream";

fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// Serves the fixture JWKS at `/jwks.json` on loopback; returns the provider's base URL.
async fn identity_provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let jwks: Value = serde_json::from_str(JWKS).unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Signs `claims` as an ID-JAG with the fixture key for `alg`.
fn sign(alg: Algorithm, claims: &Value) -> String {
    let (kid, key) = match alg {
        Algorithm::RS256 => ("rsa-1", EncodingKey::from_rsa_der(&der(RSA_PEM))),
        _ => ("ec-1", EncodingKey::from_ec_der(&der(EC_PEM))),
    };
    let mut header = Header::new(alg);
    header.typ = Some("oauth-id-jag+jwt".into());
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

struct Setup {
    app: TestApp,
    /// The issuer acme trusts, and the one globex trusts (same keys, another organisation).
    acme_iss: String,
    globex_iss: String,
    acme: OrgId,
    owner: UserId,
    client: String,
}

async fn setup(db: TestDb) -> Setup {
    let app = TestApp::spawn_with(
        db,
        |c| c.oauth.jwks_allow_private_targets = true,
        Arc::new(statusgate::clock::SystemClock),
    )
    .await;
    let config = OAuthConfig {
        jwks_allow_private_targets: true,
        ..Default::default()
    };
    let oauth = statusgate::oauth::AuthServer::new(app.services.clone(), config, &app.base);
    let owner = app.store.user_credentials(ADMIN_EMAIL).await.unwrap().0.id;
    let acme = app.services.org_by_slug("acme").await.unwrap().id;
    let globex = app
        .services
        .create_org("globex", "Globex")
        .await
        .unwrap()
        .id;
    let mut tx = app.store.begin().await.unwrap();
    app.store
        .upsert_membership(
            &mut tx,
            &globex,
            &owner,
            Role::Owner,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let idp = identity_provider().await;
    let (acme_iss, globex_iss) = (format!("{idp}/acme"), format!("{idp}/globex"));
    let jwks = format!("{idp}/jwks.json");
    let who = Principal::user(owner.clone());
    // acme's owner trusts its issuer on the Hosted MCP page; a bad URL is refused and adds nothing.
    app.sign_in_as_owner().await;
    let add = |issuer: String| {
        let (app, org, jwks) = (&app, acme.to_string(), jwks.clone());
        async move {
            let fields = [
                ("org", org.as_str()),
                ("issuer", issuer.as_str()),
                ("jwks_uri", jwks.as_str()),
                ("role_cap", "editor"),
            ];
            app.submit("/admin/hosted-mcp", "/admin/hosted-mcp/issuers", &fields)
                .await
                .0
        }
    };
    assert_ne!(
        add("ftp://idp.example".into()).await,
        303,
        "a non-https issuer is refused"
    );
    assert_eq!(add(acme_iss.clone()).await, 303);
    assert_eq!(add(acme_iss.clone()).await, 409, "trusted once");
    let page = app.get("/admin/hosted-mcp").await.text().await.unwrap();
    assert!(
        page.contains(&acme_iss) && !page.contains("ftp://idp.example"),
        "listed once, alone"
    );
    oauth
        .add_trusted_issuer(&who, &globex, &globex_iss, &jwks, "editor")
        .await
        .unwrap();
    // The owner leaves globex, so globex's issuer vouching for them names a non-member there.
    let mut tx = app.store.begin().await.unwrap();
    app.store
        .delete_membership(
            &mut tx,
            &globex,
            &owner,
            &owner,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let client = register_public(&app, CALLBACK).await;
    Setup {
        app,
        acme_iss,
        globex_iss,
        acme,
        owner,
        client,
    }
}

impl Setup {
    /// Good claims for the owner, from acme's issuer, for this server and client.
    fn claims(&self) -> Value {
        json!({
            "iss": self.acme_iss,
            "sub": self.owner.as_str(),
            "aud": self.app.base,
            "resource": format!("{}/mcp", self.app.base),
            "client_id": self.client,
            "jti": statusgate::ids::random_hex(12),
            "iat": now(),
            "exp": now() + 300,
            "scope": "mcp.pages.read mcp.incidents.read mcp.incidents.write",
        })
    }

    async fn redeem(&self, assertion: &str) -> (u16, Value) {
        let (s, b, _) = token(
            &self.app,
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("client_id", &self.client),
            ],
        )
        .await;
        (s, b)
    }

    async fn refused(&self, what: &str, assertion: &str) {
        let (s, b) = self.redeem(assertion).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}: {b}"
        );
    }
}

/// A `tools/call list_status_pages` on /mcp: the HTTP status and the JSON-RPC answer.
async fn list_pages(app: &TestApp, access: &str) -> (u16, Value) {
    let r = plain()
        .post(app.url("/mcp"))
        .header("accept", ACCEPT)
        .bearer_auth(access)
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "list_status_pages", "arguments": {} } }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

both_backends!(
    an_assertion_from_a_trusted_issuer_calls_tools_until_the_console_revokes_it,
    |db: TestDb| async move {
        let s = setup(db).await;
        let mut last = String::new();
        for alg in [Algorithm::RS256, Algorithm::ES256] {
            let (status, body) = s.redeem(&sign(alg, &s.claims())).await;
            assert_eq!(status, 200, "{alg:?}: {body}");
            assert_eq!(body["expires_in"], 3600, "{body}");
            assert!(
                body.get("refresh_token").is_none(),
                "no refresh token: {body}"
            );
            assert!(
                !body["scope"].as_str().unwrap().contains("write"),
                "acme does not allow writes, so none is granted: {body}"
            );
            let access = body["access_token"].as_str().unwrap().to_owned();
            let (status, answer) = list_pages(&s.app, &access).await;
            assert_eq!(status, 200, "{answer}");
            assert!(
                answer["result"]["structuredContent"]["pages"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty()),
                "{answer}"
            );
            last = access;
        }
        // A verified email stands for the member too.
        let mut by_email = s.claims();
        by_email["sub"] = json!("idp-user-123");
        by_email["email"] = json!(ADMIN_EMAIL);
        by_email["email_verified"] = json!(true);
        let (status, body) = s.redeem(&sign(Algorithm::ES256, &by_email)).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            !accepted(&s.app, &last).await,
            "a new assertion replaces the earlier connection"
        );
        let access = body["access_token"].as_str().unwrap().to_owned();

        // Listed in the console (the owner signed in during setup), and revoked there at once.
        let grants = s
            .app
            .store
            .live_grant_ids_like(&s.client, Some(&s.acme), Some(&s.owner))
            .await
            .unwrap();
        assert_eq!(grants.len(), 1);
        let page = s.app.get("/admin/hosted-mcp").await.text().await.unwrap();
        assert!(
            page.contains(grants[0].as_str()),
            "the console lists the connection"
        );
        let (status, _, _) = s
            .app
            .submit(
                "/admin/hosted-mcp",
                &format!("/admin/hosted-mcp/connections/{}/revoke", grants[0]),
                &[],
            )
            .await;
        assert_eq!(status, 303);
        let (status, _) = list_pages(&s.app, &access).await;
        assert_eq!(status, 401, "the revoked connection's token stops at once");
        let audit = s.app.store.audit_entries(&s.acme, None, 50).await.unwrap();
        for action in ["hosted_mcp.issuer_trusted", "oauth.assertion_granted"] {
            assert!(
                audit.iter().any(|e| e.action == action),
                "{action} is audited"
            );
        }
    }
);

both_backends!(
    bad_assertions_are_refused_with_invalid_grant,
    |db: TestDb| async move {
        let s = setup(db).await;
        let good = s.claims();
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c["jti"] = json!(statusgate::ids::random_hex(12));
            c
        };
        let rs = |c: &Value| sign(Algorithm::RS256, c);
        s.refused(
            "wrong audience",
            &rs(&with("aud", json!("https://other.example"))),
        )
        .await;
        s.refused(
            "wrong resource",
            &rs(&with("resource", json!("https://other.example/mcp"))),
        )
        .await;
        s.refused(
            "untrusted issuer",
            &rs(&with("iss", json!("https://idp.untrusted.example"))),
        )
        .await;
        s.refused(
            "another organisation's issuer",
            &rs(&with("iss", json!(s.globex_iss))),
        )
        .await;
        s.refused(
            "a non-member sub",
            &rs(&with("sub", json!("usr_000000000000000000000000"))),
        )
        .await;
        let unverified = {
            let mut c = with("sub", json!("idp-user-123"));
            c["email"] = json!(ADMIN_EMAIL);
            c
        };
        s.refused("an email the issuer did not verify", &rs(&unverified))
            .await;
        let expired = {
            let mut c = with("exp", json!(now() - 600));
            c["iat"] = json!(now() - 900);
            c
        };
        s.refused("an expired assertion", &rs(&expired)).await;
        s.refused(
            "another client's assertion",
            &rs(&with("client_id", json!("cl_someoneelse"))),
        )
        .await;
        let signed = rs(&with("jti", json!("x")));
        let (head, sig) = signed.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        s.refused("a bad signature", &format!("{head}.{flipped}{}", &sig[1..]))
            .await;
        let mut plain_jwt = Header::new(Algorithm::ES256);
        plain_jwt.kid = Some("ec-1".into());
        let untyped = jsonwebtoken::encode(
            &plain_jwt,
            &with("jti", json!("y")),
            &EncodingKey::from_ec_der(&der(EC_PEM)),
        )
        .unwrap();
        s.refused("a JWT that is not an ID-JAG", &untyped).await;

        // A jti is redeemed once.
        let once = rs(&with("jti", json!("only-once")));
        assert_eq!(s.redeem(&once).await.0, 200);
        s.refused("a replayed jti", &once).await;

        // Nothing above made a connection but the one good assertion.
        let grants = s
            .app
            .store
            .live_grant_ids_like(&s.client, Some(&s.acme), None)
            .await
            .unwrap();
        assert_eq!(grants.len(), 1);
    }
);
