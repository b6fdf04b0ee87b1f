//! Grants are per (person, client, organisation): one person in two organisations approving the same
//! client for each keeps both connections, and re-approving for one replaces only that one's.

use statusgate::domain::Role;

use super::*;
use crate::both_backends;
use crate::helpers::{TestApp, ADMIN_EMAIL};

/// Approves `client` for the organisation `org` (by id) and exchanges the code: the access token.
async fn approve_for(app: &TestApp, client: &str, org: &str) -> String {
    let p = pkce();
    let path = authorize_path(client, CALLBACK, &p.challenge, &[]);
    let to = consent(app, &path, "approve", |fields| {
        fields.retain(|(k, _)| k != "org");
        fields.push(("org".into(), org.to_owned()));
    })
    .await;
    access_from(app, client, &to, &p.verifier).await
}

both_backends!(
    approving_for_one_organisation_leaves_the_other_connected,
    |db| async move {
        let app = TestApp::spawn(db).await;
        app.sign_in_as_owner().await;
        let user = app.store.user_credentials(ADMIN_EMAIL).await.unwrap().0;
        let acme = app.services.org_by_slug("acme").await.unwrap();
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let mut tx = app.store.begin().await.unwrap();
        app.store
            .upsert_membership(
                &mut tx,
                &globex.id,
                &user.id,
                Role::Owner,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let client = register_public(&app, CALLBACK).await;

        let for_acme = approve_for(&app, &client, acme.id.as_str()).await;
        let for_globex = approve_for(&app, &client, globex.id.as_str()).await;
        assert!(
            accepted(&app, &for_acme).await,
            "A's connection survives B's approval"
        );
        assert!(accepted(&app, &for_globex).await);

        // A new approval for A supersedes A's grant only.
        let again = approve_for(&app, &client, acme.id.as_str()).await;
        assert!(
            !accepted(&app, &for_acme).await,
            "A's earlier grant is replaced"
        );
        assert!(accepted(&app, &again).await);
        assert!(accepted(&app, &for_globex).await, "B's connection survives");
    }
);

both_backends!(
    a_connector_key_is_revoked_only_from_its_own_organisation,
    |db| async move {
        let app = TestApp::spawn(db).await;
        let t = tokens(&app).await;
        let oauth =
            statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base);
        let live = oauth.verify_access(&t.access).await.unwrap();
        // The owner of another organisation names this organisation's connector key.
        let globex = app.services.create_org("globex", "Globex").await.unwrap();
        let boss = app
            .services
            .create_user(
                "boss@globex.test",
                "correct horse battery",
                &globex,
                Role::Owner,
            )
            .await
            .unwrap();
        let r = app
            .services
            .revoke_api_key(&statusgate::service::Principal::user(boss.id), &live.key_id)
            .await;
        assert!(
            matches!(r, Err(statusgate::service::ServiceError::NotFound(_))),
            "{r:?}"
        );
        assert!(
            accepted(&app, &t.access).await,
            "the connection is untouched"
        );
    }
);
