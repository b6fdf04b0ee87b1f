//! The README's per-client setup guides, each followed against a real statusgate: the client's own
//! registration body and redirect, the 401 that sends it to the metadata, sign-in, consent, the code
//! exchange with the `resource` it sends, and one tool call. A guide whose client cannot get through
//! here fails here first.

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{TestApp, TestDb};
use crate::oauth::{authorize_path, consent, pkce, plain, query, register, token};

struct Guide {
    name: &'static str,
    registration: Value,
    redirect: &'static str,
    /// What the client asks for at the authorization endpoint (`None`: no `scope`).
    scope: Scope,
}

enum Scope {
    None,
    /// The protected resource's `scopes_supported` (ChatGPT, the SDK clients).
    FromResource,
    /// The authorization server's `scopes_supported` (Codex reads that list, not the resource's).
    FromServer,
}

fn guides() -> Vec<Guide> {
    vec![
        Guide {
            name: "Claude.ai and Claude Desktop connectors",
            registration: json!({"client_name":"Claude","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"client_secret_post","redirect_uris":["https://claude.ai/api/mcp/auth_callback"]}),
            redirect: "https://claude.ai/api/mcp/auth_callback",
            scope: Scope::None,
        },
        Guide {
            name: "Claude Code",
            registration: json!({"client_name":"Claude Code (statusgate)","redirect_uris":["http://localhost:53127/callback"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}),
            redirect: "http://localhost:53127/callback",
            scope: Scope::FromResource,
        },
        Guide {
            name: "Claude Desktop through mcp-remote",
            registration: json!({"redirect_uris":["http://localhost:3334/oauth/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"MCP CLI Proxy","client_uri":"https://github.com/modelcontextprotocol/mcp-cli"}),
            redirect: "http://localhost:3334/oauth/callback",
            scope: Scope::FromResource,
        },
        Guide {
            name: "Cursor",
            registration: json!({"client_name":"Cursor","redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"]}),
            redirect: "cursor://anysphere.cursor-mcp/oauth/callback",
            scope: Scope::FromResource,
        },
        Guide {
            name: "VS Code",
            registration: json!({"client_name":"Visual Studio Code","client_uri":"https://code.visualstudio.com","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"redirect_uris":["http://127.0.0.1:33418/","https://vscode.dev/redirect"],"token_endpoint_auth_method":"none","application_type":"native"}),
            redirect: "http://127.0.0.1:33418/",
            scope: Scope::FromResource,
        },
        Guide {
            name: "ChatGPT developer mode",
            registration: json!({"client_name":"ChatGPT","redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"]}),
            redirect: "https://chatgpt.com/connector_platform_oauth_redirect",
            scope: Scope::FromResource,
        },
        Guide {
            name: "Codex CLI",
            registration: json!({"client_name":"Codex","redirect_uris":["http://127.0.0.1:47125/callback"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}),
            redirect: "http://127.0.0.1:47125/callback",
            scope: Scope::FromServer,
        },
        Guide {
            name: "Gemini CLI",
            registration: json!({"client_name":"Gemini CLI MCP Client","redirect_uris":["http://localhost:7777/oauth/callback"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none","code_challenge_method":["S256"]}),
            redirect: "http://localhost:7777/oauth/callback",
            scope: Scope::FromResource,
        },
    ]
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = plain().get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

fn joined(list: &Value) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

both_backends!(
    every_setup_guide_in_the_readme_connects_and_calls_a_tool,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let configured = app.url("/mcp");

        // What every client does first: call /mcp, follow the 401 to the resource's metadata.
        let r = plain()
            .post(&configured)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let resource = get_json(&app, "/.well-known/oauth-protected-resource/mcp").await;
        // Gemini CLI refuses a resource that is not exactly the URL it was configured with.
        assert_eq!(resource["resource"], json!(configured), "{resource}");
        let server = get_json(&app, "/.well-known/oauth-authorization-server").await;
        let issuer = server["issuer"].as_str().unwrap().to_owned();

        for guide in guides() {
            let (s, client) = register(&app, guide.registration.clone()).await;
            assert_eq!(s, 201, "{}: {client}", guide.name);
            let client_id = client["client_id"].as_str().unwrap().to_owned();
            let p = pkce();
            let scope = match guide.scope {
                Scope::None => None,
                Scope::FromResource => Some(joined(&resource["scopes_supported"])),
                Scope::FromServer => Some(joined(&server["scopes_supported"])),
            };
            let mut extra = vec![("resource", configured.as_str())];
            if let Some(s) = &scope {
                extra.push(("scope", s));
            }
            let path = authorize_path(&client_id, guide.redirect, &p.challenge, &extra);
            let to = consent(&app, &path, "approve", |_| {}).await;
            assert!(
                to.as_str().starts_with(guide.redirect),
                "{}: back at {to}",
                guide.name
            );
            // RFC 9207: Codex refuses an answer without the issuer.
            assert_eq!(
                query(&to, "iss").as_deref(),
                Some(issuer.as_str()),
                "{}",
                guide.name
            );
            let code = query(&to, "code").unwrap();
            let mut form = vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", code),
                ("code_verifier", p.verifier.clone()),
                ("client_id", client_id.clone()),
                ("redirect_uri", guide.redirect.to_owned()),
                ("resource", configured.clone()),
            ];
            if let Some(secret) = client["client_secret"].as_str() {
                form.push(("client_secret", secret.to_owned()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, tokens, _) = token(&app, &form).await;
            assert_eq!(s, 200, "{}: {tokens}", guide.name);
            assert!(tokens["refresh_token"].is_string(), "{}", guide.name);

            let r = plain()
                .post(&configured)
                .header("accept", "application/json, text/event-stream")
                .bearer_auth(tokens["access_token"].as_str().unwrap())
                .json(&json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_status_pages","arguments":{}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", guide.name);
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                body["result"]["isError"],
                json!(false),
                "{}: {body}",
                guide.name
            );
            assert!(
                body.to_string().contains("Acme API"),
                "{}: {body}",
                guide.name
            );
        }
        app.stop().await;
    }
);

both_backends!(
    the_hosted_mcp_page_shows_each_guide_with_this_instances_url,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let html = app.get("/admin/hosted-mcp").await.text().await.unwrap();
        let url = app.url("/mcp");
        for line in [
            format!("claude mcp add --transport http --scope user statusgate {url}"),
            format!("codex mcp add statusgate --url {url}"),
            format!("\"httpUrl\": \"{url}\""),
            format!("\"mcp-remote\", \"{url}\""),
        ] {
            assert!(html.contains(&line), "missing {line}");
        }
        assert!(html.contains("Add custom connector"));
        app.stop().await;
    }
);
