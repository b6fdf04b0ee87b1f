//! Migration 0018 (a webhook URL may be subscribed more than once) on a database that already holds
//! subscribers and their notifications: every row survives the change, notifications still belong to
//! their subscriber (deleting it deletes them), and an email address stays subscribed once per page.

use sqlx::Executor;
use statusgate::app::connect;
use statusgate::store::migrate;

use crate::both_backends;
use crate::helpers::{test_config, Backend, TestDb};

async fn count(pool: &sqlx::AnyPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

const SUBSCRIBER: &str = "insert into subscribers (subscriber_id, page_id, kind, target, confirmed,
    unsubscribe_token, created_at, updated_at) values ($1, 'page_1', $2, $3, 1, $4, 1, 1)";

both_backends!(
    migration_0018_keeps_subscribers_and_their_notifications,
    |db: TestDb| async move {
        let store = connect(&test_config(&db.url)).await.unwrap();
        let pool = store.pool();
        let all = match db.backend {
            Backend::Sqlite => migrate::SQLITE,
            Backend::Postgres => migrate::POSTGRES,
        };
        let before: Vec<_> = all.iter().filter(|m| m.version < 18).collect();
        let pending = all.len() - before.len();
        pool.execute(sqlx::raw_sql(
            "create table schema_migrations (version bigint primary key, name text not null,
             applied_at bigint not null)",
        ))
        .await
        .unwrap();
        for m in &before {
            pool.execute(sqlx::raw_sql(m.sql)).await.unwrap();
            sqlx::query(
                "insert into schema_migrations (version, name, applied_at) values ($1, $2, 1)",
            )
            .bind(m.version)
            .bind(m.name)
            .execute(pool)
            .await
            .unwrap();
        }
        pool.execute(sqlx::raw_sql(
            "insert into orgs (org_id, slug, name, created_at, updated_at) values ('org_1', 'acme', 'Acme', 1, 1);
             insert into pages (page_id, org_id, slug, public_slug, name, created_at, updated_at)
               values ('page_1', 'org_1', 'api', 'api', 'Acme API', 1, 1)",
        ))
        .await
        .unwrap();
        for (id, kind, target, token) in [
            ("sub_1", "email", "reader@example.com", "u1"),
            ("sub_2", "webhook", "https://hooks.example.com/x", "u2"),
        ] {
            sqlx::query(SUBSCRIBER)
                .bind(id)
                .bind(kind)
                .bind(target)
                .bind(token)
                .execute(pool)
                .await
                .unwrap();
        }
        pool.execute(sqlx::raw_sql(
            "insert into notifications (notification_id, page_id, subscriber_id, source_id, payload,
               state, attempts, next_attempt_at, lease_until, created_at, updated_at)
             values ('ntf_1', 'page_1', 'sub_2', 'upd_1', '{}', 'pending', 0, 1, 0, 1, 1)",
        ))
        .await
        .unwrap();

        assert_eq!(
            store.migrate().await.unwrap(),
            pending,
            "0018 and the later ones were pending"
        );
        assert_eq!(count(pool, "subscribers").await, 2);
        assert_eq!(count(pool, "notifications").await, 1, "notifications kept");

        // The same webhook URL again is a subscription of its own; the same email again is not.
        sqlx::query(SUBSCRIBER)
            .bind("sub_3")
            .bind("webhook")
            .bind("https://hooks.example.com/x")
            .bind("u3")
            .execute(pool)
            .await
            .unwrap();
        let twice = sqlx::query(SUBSCRIBER)
            .bind("sub_4")
            .bind("email")
            .bind("reader@example.com")
            .bind("u4")
            .execute(pool)
            .await;
        assert!(
            twice.is_err(),
            "an email address is subscribed once per page"
        );

        // The notification still hangs off its subscriber.
        sqlx::query("delete from subscribers where subscriber_id = 'sub_2'")
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(count(pool, "notifications").await, 0);
        assert_eq!(count(pool, "subscribers").await, 2);
    }
);
