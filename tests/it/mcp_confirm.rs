//! Confirmation before anyone is notified, over raw JSON-RPC at 2026-07-28 (the wire the suite's
//! `input-required-result-*` scenarios use): `notify: true` from a client that can elicit answers
//! `input_required` with the per-channel counts, the retry publishes only on "confirm", and a sealed
//! state works once, on any instance, for this grant and these arguments only.

use std::sync::Arc;

use serde_json::{json, Value};
use statusgate::clock::SystemClock;
use statusgate::config::Config;

use crate::both_backends;
use crate::helpers::{TestApp, TestDb};
use crate::loopback::receiver;
use crate::mcp_http::write_token_with;
use crate::monitors::owner;
use crate::notifications::{fast_delivery, page_of, update_notifications, webhooks};

const ACCEPT: &str = "application/json, text/event-stream";

/// Both servers: one public URL (tokens are for either), loopback webhooks, nothing delivered.
fn config(c: &mut Config) {
    fast_delivery(c);
    c.delivery.tick_ms = 600_000;
    c.public_url = "http://statusgate.test".into();
}

/// A `tools/call` at 2026-07-28 declaring `caps`, with `extra` params (requestState, inputResponses).
async fn call(app: &TestApp, token: &str, caps: Value, args: &Value, extra: Value) -> Value {
    let mut params = json!({
        "name": "create_incident",
        "arguments": args,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": caps,
            "io.modelcontextprotocol/clientInfo": { "name": "t", "version": "1" },
        },
    });
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let body = json!({ "jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": params });
    let r = crate::oauth::plain()
        .post(app.url("/mcp"))
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "create_incident")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn elicits() -> Value {
    json!({ "elicitation": { "form": {} } })
}

fn answer(state: &str, action: &str, confirm: bool) -> Value {
    json!({
        "requestState": state,
        "inputResponses": { "confirm_notify": { "action": action, "content": { "confirm": confirm } } },
    })
}

struct Setup {
    app: TestApp,
    twin: TestApp,
    token: String,
    args: Value,
    /// Active incidents the demo data starts with.
    base: usize,
}

/// Two servers on one database, two confirmed webhook subscribers and no email one, a write token.
async fn setup(db: TestDb) -> Setup {
    let twin_db = db.alias();
    let app = TestApp::spawn_with(db, config, Arc::new(SystemClock)).await;
    let r = receiver(0, false).await;
    webhooks(&app.services, &r.url, 2).await;
    let token = write_token_with(&app, &["mcp.incidents.write"]).await;
    let twin = TestApp::spawn_with(twin_db, config, Arc::new(SystemClock)).await;
    let page = page_of(&app.services).await;
    let args = json!({ "page_id": page, "title": "Checkout errors", "stage": "investigating",
        "message": "Card payments fail for some customers.", "notify": true });
    let base = incidents(&app).await;
    Setup {
        app,
        twin,
        token,
        args,
        base,
    }
}

async fn incidents(app: &TestApp) -> usize {
    let s = &app.services;
    let me = owner(s).await;
    s.active_incidents(&me, &page_of(s).await)
        .await
        .unwrap()
        .len()
}

/// The first round: asked, nothing written.
async fn asked(t: &Setup) -> String {
    let before = incidents(&t.app).await;
    let v = call(&t.app, &t.token, elicits(), &t.args, json!({})).await;
    let r = &v["result"];
    assert_eq!(r["resultType"], "input_required", "{v}");
    let ask = &r["inputRequests"]["confirm_notify"];
    assert_eq!(ask["method"], "elicitation/create", "{v}");
    assert_eq!(ask["params"]["mode"], "form", "{v}");
    let text = ask["params"]["message"].as_str().unwrap();
    for shown in [
        "Checkout errors",
        "Card payments fail for some customers.",
        "Investigating",
        "email 0",
        "webhook 2",
    ] {
        assert!(text.contains(shown), "{shown} in {text}");
    }
    assert_eq!(
        r["_meta"]["statusgate/notify"]["channels"],
        json!({ "email": 0, "webhook": 2 })
    );
    assert_eq!(
        ask["params"]["requestedSchema"]["required"],
        json!(["confirm"])
    );
    assert_eq!(incidents(&t.app).await, before, "asking publishes nothing");
    assert!(
        update_notifications(&t.app.services, &page_of(&t.app.services).await)
            .await
            .is_empty()
    );
    r["requestState"].as_str().unwrap().to_owned()
}

fn refusal(v: &Value) -> &str {
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was published"),
        "{v}"
    );
    v["error"]["data"]["confirmation"].as_str().unwrap()
}

both_backends!(
    confirming_publishes_and_notifies_and_the_state_works_once_on_any_instance,
    |db: TestDb| async move {
        let t = setup(db).await;
        let state = asked(&t).await;
        let v = call(
            &t.app,
            &t.token,
            elicits(),
            &t.args,
            answer(&state, "accept", true),
        )
        .await;
        let r = &v["result"];
        assert_eq!(r["resultType"], "complete", "{v}");
        assert_eq!(r["isError"], false, "{v}");
        let out = &r["structuredContent"];
        assert_eq!(out["subscribers_notified"], 2, "{v}");
        assert_eq!(out["confirmation"]["outcome"], "confirmed", "{v}");
        let id = out["confirmation"]["id"].as_str().unwrap().to_owned();
        let s = &t.app.services;
        let page = page_of(s).await;
        assert_eq!(update_notifications(s, &page).await.len(), 2);
        assert_eq!(incidents(&t.app).await, t.base + 1);

        // The audit row names the confirmation.
        let me = owner(s).await;
        let org = s.memberships(&me.user_id).await.unwrap()[0].org.id.clone();
        let log = s.audit_log(&me, &org, None, 0, 20).await.unwrap();
        let created = log
            .iter()
            .find(|e| e.action == "incident.created")
            .expect("an audit row");
        assert!(created.detail.contains(&id), "{}", created.detail);

        // Replayed, here and on the other instance: refused, nothing more sent.
        for server in [&t.app, &t.twin] {
            let again = call(
                server,
                &t.token,
                elicits(),
                &t.args,
                answer(&state, "accept", true),
            )
            .await;
            assert_eq!(refusal(&again), "used");
        }
        assert_eq!(update_notifications(s, &page).await.len(), 2);
        assert_eq!(incidents(&t.app).await, t.base + 1);
    }
);

both_backends!(
    declining_publishes_nothing_and_cannot_be_turned_into_a_yes,
    |db: TestDb| async move {
        let t = setup(db).await;
        for action in ["decline", "cancel"] {
            let state = asked(&t).await;
            let v = call(
                &t.app,
                &t.token,
                elicits(),
                &t.args,
                answer(&state, action, false),
            )
            .await;
            let out = &v["result"]["structuredContent"];
            assert_eq!(out["published"], false, "{v}");
            assert_eq!(out["subscribers_notified"], 0, "{v}");
            assert!(out["message"]
                .as_str()
                .unwrap()
                .contains("nobody was notified"));
            let yes = call(
                &t.twin,
                &t.token,
                elicits(),
                &t.args,
                answer(&state, "accept", true),
            )
            .await;
            assert_eq!(refusal(&yes), "used");
        }
        // Accepting without ticking the box is no confirmation either.
        let state = asked(&t).await;
        let v = call(
            &t.app,
            &t.token,
            elicits(),
            &t.args,
            answer(&state, "accept", false),
        )
        .await;
        assert_eq!(v["result"]["structuredContent"]["published"], false, "{v}");
        assert_eq!(incidents(&t.app).await, t.base);
        let s = &t.app.services;
        assert!(update_notifications(s, &page_of(s).await).await.is_empty());
    }
);

both_backends!(
    a_tampered_or_misapplied_state_publishes_nothing,
    |db: TestDb| async move {
        let t = setup(db).await;
        let state = asked(&t).await;
        let tampered = call(
            &t.app,
            &t.token,
            elicits(),
            &t.args,
            answer(&format!("{state}-TAMPERED"), "accept", true),
        )
        .await;
        assert_eq!(refusal(&tampered), "tampered");
        let mut other = t.args.clone();
        other["title"] = json!("Something else");
        let v = call(
            &t.app,
            &t.token,
            elicits(),
            &other,
            answer(&state, "accept", true),
        )
        .await;
        assert_eq!(refusal(&v), "other_call");
        let second = write_token_with(&t.app, &["mcp.incidents.write"]).await;
        let v = call(
            &t.app,
            &second,
            elicits(),
            &t.args,
            answer(&state, "accept", true),
        )
        .await;
        assert_eq!(refusal(&v), "other_credential");
        // A retry whose answer went missing is asked again, not failed.
        let v = call(
            &t.app,
            &t.token,
            elicits(),
            &t.args,
            json!({ "requestState": state }),
        )
        .await;
        assert_eq!(v["result"]["resultType"], "input_required", "{v}");
        // An answer that is no elicitation result is refused.
        let v = call(
            &t.app,
            &t.token,
            elicits(),
            &t.args,
            json!({ "requestState": state, "inputResponses": { "confirm_notify": 12345 } }),
        )
        .await;
        assert_eq!(v["error"]["code"], -32602, "{v}");
        assert_eq!(incidents(&t.app).await, t.base);
        let s = &t.app.services;
        assert!(update_notifications(s, &page_of(s).await).await.is_empty());
    }
);

both_backends!(
    a_client_that_cannot_elicit_is_answered_as_before,
    |db: TestDb| async move {
        let t = setup(db).await;
        let v = call(&t.app, &t.token, json!({}), &t.args, json!({})).await;
        assert_eq!(v["result"]["resultType"], "complete", "{v}");
        assert_eq!(v["result"]["structuredContent"]["subscribers_notified"], 2);
        // notify: false never asks, whatever the client can do.
        let mut quiet = t.args.clone();
        quiet["notify"] = json!(false);
        quiet["title"] = json!("Quiet one");
        let v = call(&t.app, &t.token, elicits(), &quiet, json!({})).await;
        assert_eq!(v["result"]["resultType"], "complete", "{v}");
        assert_eq!(incidents(&t.app).await, t.base + 2);
    }
);
