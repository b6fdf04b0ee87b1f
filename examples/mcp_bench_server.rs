//! The server side of `bench/mcp.sh`: statusgate with the demo organisation (one page, its components)
//! on a loopback port, plus one Hosted MCP grant minted in-process (registration, approval and code
//! exchange through the authorization server itself). Prints one line,
//! `ready <port> <access token> <pid>`, then serves until killed. The load comes from another process.
//!
//! `STATUSGATE_BENCH_DATABASE_URL=postgres://... ./target/release/examples/mcp_bench_server`
//! (default: SQLite in a temp folder).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

use base64::Engine;
use sha2::{Digest, Sha256};
use statusgate::app::App;
use statusgate::oauth::scope::ScopeSet;
use statusgate::oauth::token::TokenRequest;

mod common;

use common::{CALLBACK, EMAIL, PASSWORD};

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("STATUSGATE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let config = common::bench_config(&url);
    let app = App::build(config).await.unwrap();
    let port = app.local_addr().unwrap().port();
    let oauth = app.state.oauth.clone();
    let services = app.state.services.clone();

    let user = services.authenticate(EMAIL, PASSWORD).await.unwrap();
    let org = services.memberships(&user.id).await.unwrap()[0]
        .org
        .id
        .clone();
    let registered = oauth
        .register(&serde_json::json!({ "client_name": "mcp bench", "redirect_uris": [CALLBACK] }))
        .await
        .unwrap();
    let client_id = registered.client.id.clone();
    let verifier = format!("v{}", statusgate::ids::random_hex(32));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let Ok(request) = oauth.check_authorize(&params).await else {
        panic!("authorization request refused");
    };
    let scopes = ScopeSet::parse_known("mcp.pages.read mcp.incidents.read");
    let tools: Vec<String> = scopes.tools().into_iter().map(str::to_owned).collect();
    let redirect = oauth
        .approve(&request, &user.id, &org, &scopes, &tools)
        .await
        .unwrap();
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let issued = oauth
        .token(&TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some(code),
            redirect_uri: Some(CALLBACK.into()),
            code_verifier: Some(verifier),
            refresh_token: None,
            scope: None,
            resource: None,
            client_id: Some(client_id),
            client_secret: None,
            basic: None,
        })
        .await
        .unwrap();
    println!(
        "ready {port} {} {}",
        issued.access_token,
        std::process::id()
    );
    app.run_until(std::future::pending()).await.unwrap();
}
