//! Registration reaping and signing-key rotation, with the clock moved by hand.

use std::sync::Arc;

use statusgate::clock::FixedClock;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::both_backends;
use crate::helpers::TestApp;

fn server(app: &TestApp) -> statusgate::oauth::AuthServer {
    statusgate::oauth::AuthServer::new(app.services.clone(), Default::default(), &app.base)
}

both_backends!(
    abandoned_registrations_are_reaped_but_used_ones_stay,
    |db| async move {
        let clock = FixedClock::new(OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(db, |_| {}, Arc::new(clock.clone())).await;
        let abandoned = register_public(&app, CALLBACK).await;
        let used = tokens(&app).await;
        clock.advance(Duration::hours(25));
        let reaped = server(&app).reap_registrations().await.unwrap();
        assert_eq!(reaped, 1);
        let p = pkce();
        assert_eq!(
            app.get(&authorize_path(&abandoned, CALLBACK, &p.challenge, &[]))
                .await
                .status(),
            400
        );
        assert_eq!(
            app.get(&authorize_path(&used.client, CALLBACK, &p.challenge, &[]))
                .await
                .status(),
            200
        );
    }
);

both_backends!(
    rotated_keys_keep_verifying_until_their_tokens_expire,
    |db| async move {
        let clock = FixedClock::new(OffsetDateTime::now_utc());
        let app = TestApp::spawn_with(db, |_| {}, Arc::new(clock.clone())).await;
        let t = tokens(&app).await;
        let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        let old_kid = kid(&t.access);
        // Just before the key is due, a refresh is signed with the old key.
        clock.advance(Duration::days(30) - Duration::minutes(10));
        let (_, fresh) = refresh(&app, &t.client, &t.refresh).await;
        let before = fresh["access_token"].as_str().unwrap().to_owned();
        assert_eq!(kid(&before), old_kid);
        // Twenty minutes later the key is due: a new one signs, the old one still verifies its tokens.
        clock.advance(Duration::minutes(20));
        let oauth = server(&app);
        oauth.ensure_signing_key().await.unwrap();
        let (_, next) = refresh(&app, &t.client, fresh["refresh_token"].as_str().unwrap()).await;
        let after = next["access_token"].as_str().unwrap().to_owned();
        assert_ne!(kid(&after), old_kid, "the new key signs");
        assert!(oauth.verify_access(&after).await.is_ok());
        assert!(
            oauth.verify_access(&before).await.is_ok(),
            "old key valid until its tokens expire"
        );
        // Past its lifetime the token is refused, whichever key signed it.
        clock.advance(Duration::hours(2));
        assert!(oauth.verify_access(&before).await.is_err());
    }
);

both_backends!(
    admin_clients_from_before_owners_belong_to_the_organisation_that_registered_them,
    |db: crate::helpers::TestDb| async move {
        use sqlx::Executor;
        let store = statusgate::app::connect(&crate::helpers::test_config(&db.url))
            .await
            .unwrap();
        let pool = store.pool().clone();
        // The schema as it was before clients had owners: every migration before 0008.
        let dir = match db.backend {
            crate::helpers::Backend::Sqlite => "migrations/sqlite",
            crate::helpers::Backend::Postgres => "migrations/postgres",
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        pool.execute("create table schema_migrations (version bigint primary key, name text not null, applied_at bigint not null)")
            .await
            .unwrap();
        for path in files {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let version: i64 = name[..4].parse().unwrap();
            if version >= 8 {
                continue;
            }
            pool.execute(sqlx::raw_sql(&std::fs::read_to_string(&path).unwrap()))
                .await
                .unwrap();
            sqlx::query(
                "insert into schema_migrations (version, name, applied_at) values ($1, $2, 0)",
            )
            .bind(version)
            .bind(name)
            .execute(&pool)
            .await
            .unwrap();
        }
        let org = "org_0a0a0a0a0a0a0a0a0a0a0a0a";
        pool.execute(sqlx::raw_sql(&format!(
            "insert into orgs (org_id, slug, name, created_at, updated_at) values ('{org}', 'acme', 'Acme', 0, 0);
            insert into oauth_clients (client_id, kind, client_name, redirect_uris, auth_method, fingerprint, metadata, created_at, updated_at)
                values ('cli_000000000000000000000001', 'admin', 'Known', '[\"https://a.example/cb\"]', 'none', 'f1', '{{}}', 0, 0),
                       ('cli_000000000000000000000002', 'admin', 'Unknown', '[\"https://b.example/cb\"]', 'none', 'f2', '{{}}', 0, 0);
            insert into audit_log (audit_id, org_id, actor_type, actor_id, user_id, action, target_type, target_id, detail, created_at, updated_at)
                values ('aud_01', '{org}', 'user', 'usr_01', null, 'oauth.client_registered', 'oauth_client', 'cli_000000000000000000000001', '{{}}', 0, 0);"
        )))
        .await
        .unwrap();

        assert!(store.migrate().await.unwrap() >= 1);
        let known = store.client("cli_000000000000000000000001").await.unwrap();
        assert_eq!(known.owner.as_ref().map(|o| o.as_str()), Some(org));
        let unknown = store.client("cli_000000000000000000000002").await.unwrap();
        assert_eq!(unknown.owner, None, "trusted by no organisation");
        let acme = statusgate::ids::OrgId::parse(org).unwrap();
        assert_eq!(
            unknown.kind_in(&acme),
            statusgate::domain::connector::ClientKind::Dynamic
        );
        assert_eq!(
            known.kind_in(&acme),
            statusgate::domain::connector::ClientKind::Admin
        );
    }
);
