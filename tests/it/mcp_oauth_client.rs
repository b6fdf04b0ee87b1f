//! The official Rust MCP client's own OAuth support against statusgate, from a bare 401: discovery
//! from the challenge, dynamic registration, PKCE, the real sign-in and consent pages, the `iss` check,
//! the code exchange, and the first tool call through the authorized transport.

use rmcp::model::CallToolRequestParams;
use rmcp::transport::auth::{AuthClient, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, TestDb};
use crate::oauth::consent;

const REDIRECT: &str = "http://127.0.0.1:8765/callback";

both_backends!(
    the_rust_client_connects_from_a_bare_401,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let mcp = app.url("/mcp");

        // What any client sees first: 401 and a challenge naming the resource metadata.
        let r = reqwest::Client::new()
            .post(&mcp)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();

        // The SDK discovers, registers and builds the authorization URL itself.
        let mut oauth = OAuthState::new(mcp.as_str(), None).await.unwrap();
        oauth
            .start_authorization(
                AuthorizationRequest::new(REDIRECT)
                    .with_client_name("rmcp client")
                    .with_challenge(challenge),
            )
            .await
            .unwrap();
        let url = url::Url::parse(&oauth.get_authorization_url().await.unwrap()).unwrap();
        assert_eq!(url.path(), "/mcp/oauth/authorize");
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(q("resource").as_deref(), Some(mcp.as_str()));

        // The person signs in and approves on the real pages.
        app.sign_in_as_owner().await;
        let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
        let back = consent(&app, &path, "approve", |_| {}).await;
        assert!(back.as_str().starts_with(REDIRECT), "{back}");
        assert!(back.query_pairs().any(|(k, _)| k == "iss"));
        oauth.handle_callback_url(back.as_str()).await.unwrap();

        // The authorized transport adds the token; the first call goes through.
        let manager = oauth.into_authorization_manager().unwrap();
        let client = AuthClient::new(reqwest_mcp::Client::default(), manager);
        let transport = StreamableHttpClientTransport::with_client(
            client,
            StreamableHttpClientTransportConfig::with_uri(mcp.as_str()),
        );
        let session = ().serve(transport).await.unwrap();
        let tools = session.list_all_tools().await.unwrap();
        assert!(tools.iter().any(|t| t.name == "list_status_pages"));
        assert!(
            tools.iter().all(|t| !t.name.starts_with("create_")),
            "read scopes by default"
        );
        let params: CallToolRequestParams =
            serde_json::from_value(json!({ "name": "list_status_pages", "arguments": {} }))
                .unwrap();
        let result = session.call_tool(params).await.unwrap();
        assert_eq!(
            result.structured_content.unwrap()["pages"][0]["name"],
            "Acme API"
        );
        let _ = session.cancel().await;

        // The registration it made is the one the console shows.
        let html = app.get("/admin/hosted-mcp").await.text().await.unwrap();
        assert!(html.contains("rmcp client"), "{html}");
    }
);
