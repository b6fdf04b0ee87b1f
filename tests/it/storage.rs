//! Migrations, demo seeding and constraint handling on each engine.

use statusgate::app::connect;
use statusgate::service::ServiceError;

use crate::both_backends;
use crate::helpers::{test_config, TestApp, TestDb};

both_backends!(migrations_apply_from_empty_once, |db: TestDb| async move {
    let store = connect(&test_config(&db.url)).await.unwrap();
    assert!(store.migrate().await.unwrap() >= 1);
    assert_eq!(
        store.migrate().await.unwrap(),
        0,
        "second run applies nothing"
    );
    assert!(store.ping().await);
    assert_eq!(store.count_orgs().await.unwrap(), 0);
});

both_backends!(
    concurrent_migrations_do_not_collide,
    |db: TestDb| async move {
        let a = connect(&test_config(&db.url)).await.unwrap();
        let b = connect(&test_config(&db.url)).await.unwrap();
        let (x, y) = tokio::join!(a.migrate(), b.migrate());
        assert_eq!(
            x.unwrap() + y.unwrap(),
            statusgate_migration_count(),
            "each migration applied exactly once"
        );
    }
);

fn statusgate_migration_count() -> usize {
    std::fs::read_dir("migrations/sqlite").unwrap().count()
}

both_backends!(demo_seeding_is_idempotent, |db: TestDb| async move {
    let first = TestApp::spawn(db).await;
    assert!(first.store.count_orgs().await.unwrap() == 1);
    let org = first.services.org_by_slug("acme").await.unwrap();
    let audit_before = first
        .store
        .audit_entries(&org.id, None, 1000)
        .await
        .unwrap()
        .len();
    first.store.close().await;
    let url = first.db.url.clone();
    // A second start against the same database changes nothing.
    let store = connect(&test_config(&url)).await.unwrap();
    store.migrate().await.unwrap();
    let services = statusgate::service::Services::new(
        store.clone(),
        std::sync::Arc::new(statusgate::clock::SystemClock),
        Default::default(),
    );
    assert!(services
        .seed_demo("other@acme.test", Some("another password"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.count_orgs().await.unwrap(), 1);
    assert_eq!(
        store
            .audit_entries(&org.id, None, 1000)
            .await
            .unwrap()
            .len(),
        audit_before
    );
    assert!(store.user_credentials("other@acme.test").await.is_err());
    first.stop().await;
});

both_backends!(
    duplicate_slugs_are_conflicts_and_write_nothing,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let err = app
            .services
            .create_org("acme", "Acme again")
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");
        let owner = app
            .store
            .user_credentials(crate::helpers::ADMIN_EMAIL)
            .await
            .unwrap()
            .0;
        let me = statusgate::service::Principal::user(owner.id);
        let org = app.services.org_by_slug("acme").await.unwrap();
        let err = app
            .services
            .create_page(&me, &org.id, "api", "api-2", "Dup", &[])
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");
        let err = app
            .services
            .create_page(&me, &org.id, "api-2", "api", "Dup", &[])
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");
        assert_eq!(app.store.pages_of_org(&org.id).await.unwrap().len(), 1);
        let err = app
            .services
            .create_user(
                crate::helpers::ADMIN_EMAIL,
                "some password",
                &org,
                statusgate::domain::Role::Viewer,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");
    }
);
