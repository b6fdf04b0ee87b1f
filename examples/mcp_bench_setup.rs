//! The set-up step of `bench/mcp.sh`: prepares a database for the `/mcp` load benchmark and prints an
//! access token for it. It migrates the database, seeds the demo organisation (one page and its
//! components), and mints one Hosted MCP grant in-process (registration, approval and code exchange
//! through the authorization server itself), then exits. The script then serves that database with the
//! release `statusgate` binary at `public_url`, which must be the same URL given here (it is the
//! token's issuer and audience).
//!
//! `./target/release/examples/mcp_bench_setup <database url> <public url>` prints the access token on
//! its first line and a read-only API key of the same organisation (`bench/conns.sh`) on its second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark fails loudly.

mod common;

use base64::Engine;
use common::{CALLBACK, EMAIL, PASSWORD};
use sha2::{Digest, Sha256};
use statusgate::app::App;
use statusgate::oauth::scope::ScopeSet;
use statusgate::oauth::token::{ClientCredentials, CodeGrant, GrantRequest, TokenRequest};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, public_url] = args.as_slice() else {
        panic!("usage: mcp_bench_setup <database url> <public url>");
    };
    let mut config = common::bench_config(url);
    config.public_url = public_url.clone();
    let app = App::build(config).await.unwrap();
    let oauth = app.state.oauth.clone();
    let services = app.state.services.clone();

    let user = services
        .authenticate(EMAIL, PASSWORD, "127.0.0.1")
        .await
        .unwrap();
    let org = services.memberships(&user.id).await.unwrap()[0]
        .org
        .id
        .clone();
    let registered = oauth
        .register(
            &serde_json::json!({ "client_name": "mcp bench", "redirect_uris": [CALLBACK] }),
            "127.0.0.1",
        )
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
    let Ok(request) = oauth.check_authorize(&params, "bench").await else {
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
            client: ClientCredentials {
                client_id: Some(client_id),
                ..Default::default()
            },
            grant: GrantRequest::AuthorizationCode(CodeGrant {
                code,
                code_verifier: verifier,
                redirect_uri: Some(CALLBACK.into()),
                resource: None,
            }),
        })
        .await
        .unwrap();
    let (_, api_key) = services
        .create_api_key(
            &statusgate::service::Principal::user(user.id.clone()),
            &org,
            statusgate::service::api_keys::NewKey {
                name: "mcp bench".into(),
                write: false,
                page: None,
                expires_in_days: None,
            },
        )
        .await
        .unwrap();
    println!("{}", issued.access_token);
    println!("{api_key}");
    services.close().await;
}
