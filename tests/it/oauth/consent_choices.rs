//! The consent page means what it shows: a tool's tick follows its scope's, writing is a plain choice
//! with nothing preselected, approving the defaults grants only reading, and with writing off one
//! sentence says who can turn it on.

use super::{authorize_path, consent, pkce, query, register_public, token, CALLBACK};
use crate::both_backends;
use crate::helpers::TestApp;
use crate::mcp_http::hosted_mcp;

const ASK: &str = "mcp.pages.read mcp.incidents.read mcp.incidents.write";

async fn granted(app: &TestApp, decide: impl FnOnce(&mut Vec<(String, String)>)) -> String {
    let client = register_public(app, CALLBACK).await;
    let p = pkce();
    let path = authorize_path(&client, CALLBACK, &p.challenge, &[("scope", ASK)]);
    let to = consent(app, &path, "approve", decide).await;
    let code = query(&to, "code").unwrap();
    let (s, body, _) = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &p.verifier),
            ("client_id", &client),
        ],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body["scope"].as_str().unwrap().to_owned()
}

/// The consent page a new client asking for `ASK` is shown, as the signed-in owner.
async fn consent_page(app: &TestApp) -> String {
    let client = register_public(app, CALLBACK).await;
    let path = authorize_path(&client, CALLBACK, &pkce().challenge, &[("scope", ASK)]);
    app.get(&path).await.text().await.unwrap()
}

both_backends!(
    approving_the_defaults_grants_reading_and_writing_is_a_plain_choice,
    |db| async move {
        let app = TestApp::spawn(db).await;
        hosted_mcp(&app, true, true).await;
        let html = consent_page(&app).await;
        // Neither side of the choice is preselected, and writes are no longer lone checkboxes.
        assert!(
            html.contains("name=\"access\" value=\"read\" required>"),
            "{html}"
        );
        assert!(
            html.contains("name=\"access\" value=\"write\" required>"),
            "{html}"
        );
        assert!(!html.contains("value=\"mcp.incidents.write\""), "{html}");
        assert!(!html.contains("can only read here"));
        // The stylesheet hides the tools of an unticked scope and the write tools until chosen.
        let css = app.get("/static/style.css").await.text().await.unwrap();
        assert!(css
            .contains(".consent .scope:has(> label > input[type=checkbox]:not(:checked)) .tools"));
        assert!(css.contains(".consent .access:not(:has(input[value=write]:checked)) .writes"));

        // Approving what the page shows, without choosing: read only, whatever the app asked for.
        let scope = granted(&app, |_| {}).await;
        assert!(!scope.contains("write"), "{scope}");
        // "Read only" chosen, even with a write scope slipped into the form: still read only.
        let scope = granted(&app, |f| {
            f.push(("access".into(), "read".into()));
            f.push(("grant_scope".into(), "mcp.incidents.write".into()));
        })
        .await;
        assert!(!scope.contains("write"), "{scope}");
        // "Read and write": the write scopes this person may grant.
        let scope = granted(&app, |f| f.push(("access".into(), "write".into()))).await;
        assert!(scope.contains("mcp.incidents.write"), "{scope}");
        // A read scope unticked: none of its tools comes along, though their boxes were submitted.
        let scope = granted(&app, |f| {
            f.retain(|(k, v)| !(k == "grant_scope" && v == "mcp.incidents.read"));
        })
        .await;
        assert!(!scope.contains("mcp.incidents.read"), "{scope}");
        app.stop().await;
    }
);

both_backends!(
    with_writing_off_one_sentence_says_who_can_turn_it_on,
    |db| async move {
        let app = TestApp::spawn(db).await;
        hosted_mcp(&app, true, false).await;
        let html = consent_page(&app).await;
        assert!(!html.contains("name=\"access\""), "{html}");
        assert!(html.contains("can only read here"), "{html}");
        assert!(html.contains("Allow write scopes"), "{html}");
        // Choosing write by hand-editing the form changes nothing: the organisation does not allow it.
        let scope = granted(&app, |f| f.push(("access".into(), "write".into()))).await;
        assert!(!scope.contains("write"), "{scope}");
        app.stop().await;
    }
);
