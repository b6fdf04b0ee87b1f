//! Permission and lifecycle rules through the services, as every front end sees them.

use statusgate::domain::{IncidentStage, Message, NewIncidentUpdate, Role};
use statusgate::ids::{IncidentId, PageId};
use statusgate::service::{Principal, ServiceError};

use crate::both_backends;
use crate::helpers::{TestApp, TestDb};

fn update(stage: IncidentStage, text: &str) -> NewIncidentUpdate {
    NewIncidentUpdate {
        stage,
        message: Message::parse("message", text).unwrap(),
        affected: vec![],
        notify: false,
    }
}

both_backends!(
    outsiders_see_nothing_and_a_demotion_applies_at_once,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let other = s.create_org("globex", "Globex").await.unwrap();
        let outsider = s
            .create_user("out@globex.test", "outsider pass", &other, Role::Owner)
            .await
            .unwrap();
        let outsider = Principal::user(outsider.id);
        let page = st.page_by_public_slug("api").await.unwrap();

        assert!(s.list_pages(&outsider).await.unwrap().is_empty());
        let err = s
            .create_incident(
                &outsider,
                &page.id,
                "x",
                update(IncidentStage::Investigating, "m"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::NotFound("page")), "{err:?}");
        let active = st.active_incidents(&page.id).await.unwrap();
        let err = s
            .incident(&outsider, &active[0].id, None)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::NotFound(_)), "{err:?}");

        let acme = s.org_by_slug("acme").await.unwrap();
        let ed = s
            .create_user("ed@acme.test", "editor pass", &acme, Role::Editor)
            .await
            .unwrap();
        let editor = Principal::user(ed.id.clone());
        s.create_incident(
            &editor,
            &page.id,
            "Editor can",
            update(IncidentStage::Investigating, "m"),
        )
        .await
        .unwrap();
        let owner = Principal::user(
            st.user_credentials(crate::helpers::ADMIN_EMAIL)
                .await
                .unwrap()
                .0
                .id,
        );
        s.set_role(&owner, &acme.id, &ed.id, Role::Viewer)
            .await
            .unwrap();
        let err = s
            .create_incident(
                &editor,
                &page.id,
                "Viewer cannot",
                update(IncidentStage::Investigating, "m"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden(_)), "{err:?}");
        // Reading is still allowed.
        assert_eq!(s.list_pages(&editor).await.unwrap().len(), 1);
    }
);

both_backends!(
    unknown_ids_and_wrong_transitions_are_clear_errors,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        let st = &app.store;
        let owner = Principal::user(
            st.user_credentials(crate::helpers::ADMIN_EMAIL)
                .await
                .unwrap()
                .0
                .id,
        );
        let missing = IncidentId::generate();
        let err = s
            .add_incident_update(&owner, &missing, update(IncidentStage::Monitoring, "m"))
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::NotFound("incident")));
        let err = s
            .create_incident(
                &owner,
                &PageId::generate(),
                "x",
                update(IncidentStage::Investigating, "m"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::NotFound("page")));

        let page = st.page_by_public_slug("api").await.unwrap();
        let resolved = st.resolved_incidents(&page.id, 5).await.unwrap();
        let err = s
            .add_incident_update(
                &owner,
                &resolved[0].id,
                update(IncidentStage::Monitoring, "m"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");
        assert!(err.to_string().contains("reopen"));
        let active = st.active_incidents(&page.id).await.unwrap();
        let err = s
            .reopen_incident(
                &owner,
                &active[0].id,
                update(IncidentStage::Investigating, "m"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");
        let updates_before = st
            .incident_updates(&resolved[0].id, 200)
            .await
            .unwrap()
            .len();
        assert_eq!(updates_before, 2, "the refused update wrote nothing");
    }
);
