//! The Hosted MCP authorization server, driven over HTTP like real clients drive it.

mod cache_instances;
mod consent;
mod consent_choices;
mod console;
mod document_budget;
mod documents;
mod flow;
mod id_jag;
mod in_browser;
mod key_reload;
mod key_storage;
mod metadata;
mod multi;
mod per_org_grants;
mod registration;
mod rollout;
mod tokens;
mod upkeep;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{Browser, TestApp};

pub const CALLBACK: &str = "http://127.0.0.1/callback";

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = format!("v{}", statusgate::ids::random_hex(32));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

/// A client that follows no redirects and keeps no cookies: what a native MCP client looks like.
pub fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn register(app: &Browser, body: Value) -> (u16, Value) {
    let r = plain()
        .post(app.url("/mcp/oauth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Registers a new public client. Each call is a different application (its own `client_uri`): an
/// identical registration would be answered with the existing client.
pub async fn register_public(app: &TestApp, redirect: &str) -> String {
    let uri = format!("https://{}.example", statusgate::ids::random_hex(6));
    let (s, body) = register(app, json!({ "client_name": "Test client", "client_uri": uri, "redirect_uris": [redirect], "token_endpoint_auth_method": "none" })).await;
    assert_eq!(s, 201, "{body}");
    body["client_id"].as_str().unwrap().to_owned()
}

pub async fn token(
    app: &TestApp,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = plain()
        .post(app.url("/mcp/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = tag.find(&key)? + key.len();
    let rest = &tag[at..];
    Some(decode_entities(&rest[..rest.find('"')?]))
}

/// What a browser would submit from the page's first POST form: hidden fields, checked boxes, selects.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in html.split('<').skip(1) {
        let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
        if tag.starts_with("input") {
            let kind = attr(tag, "type").unwrap_or_default();
            let (Some(name), value) = (attr(tag, "name"), attr(tag, "value").unwrap_or_default())
            else {
                continue;
            };
            if kind == "hidden" || (kind == "checkbox" && tag.contains(" checked")) {
                out.push((name, value));
            }
        } else if tag.starts_with("option") && out.iter().all(|(k, _)| k != "org") {
            if let Some(v) = attr(tag, "value") {
                out.push(("org".into(), v));
            }
        }
    }
    out
}

/// The authorize URL for a public client.
pub fn authorize_path(
    client_id: &str,
    redirect: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "st+/%ate");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/mcp/oauth/authorize?{}", q.finish())
}

/// Opens the consent page (signed in) and submits it with `decision`; returns the 303 `Location`.
pub async fn consent(
    browser: &Browser,
    path: &str,
    decision: &str,
    tweak: impl FnOnce(&mut Vec<(String, String)>),
) -> url::Url {
    let page = browser.get(path).await;
    assert_eq!(page.status(), 200, "consent page for {path}");
    let html = page.text().await.unwrap();
    let mut fields = form_fields(&html);
    tweak(&mut fields);
    fields.push(("decision".into(), decision.into()));
    let r = browser
        .client
        .post(browser.url("/mcp/oauth/authorize"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "consent answers 303");
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    url::Url::parse(&to).unwrap()
}

pub fn query(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signed-in owner approves a fresh public client; returns (client_id, code, verifier).
pub async fn approved_code(app: &TestApp) -> (String, String, String) {
    if app.get("/admin").await.status() != 200 {
        app.sign_in_as_owner().await;
    }
    let client = register_public(app, CALLBACK).await;
    let p = pkce();
    let to = consent(
        app,
        &authorize_path(&client, CALLBACK, &p.challenge, &[]),
        "approve",
        |_| {},
    )
    .await;
    (client, query(&to, "code").unwrap(), p.verifier)
}

/// Exchanges the code in the consent redirect `to` for an access token, asserting it is issued.
pub async fn access_from(app: &TestApp, client: &str, to: &url::Url, verifier: &str) -> String {
    let code = query(to, "code").unwrap();
    let (s, body, _) = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", verifier),
            ("client_id", client),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A client with a token pair, through the real endpoints.
pub struct Tokens {
    pub client: String,
    pub access: String,
    pub refresh: String,
}

pub async fn tokens(app: &TestApp) -> Tokens {
    let (client, code, verifier) = approved_code(app).await;
    let (s, body, _) = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", &client),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    Tokens {
        client,
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

pub async fn refresh(app: &TestApp, client: &str, rt: &str) -> (u16, Value) {
    let (s, b, _) = token(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", client),
        ],
    )
    .await;
    (s, b)
}

/// Whether the resource server would accept `access` right now.
pub async fn accepted(app: &TestApp, access: &str) -> bool {
    let oauth =
        statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
    oauth.verify_access(access).await.is_ok()
}
