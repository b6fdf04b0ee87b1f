//! Retention on both engines, under a pinned clock: rows past their age go, younger rows and unfinished
//! ones stay, the audit log stays unless `audit_days` is set, and one run deletes no more than its cap.

use std::sync::Arc;

use statusgate::clock::{to_millis, FixedClock};
use statusgate::config::RetentionConfig;
use time::macros::datetime;
use time::Duration;

use crate::both_backends;
use crate::helpers::TestApp;

const DAY: i64 = 86_400_000;

async fn exec(pool: &sqlx::AnyPool, sql: &str, binds: &[&str]) {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.to_string());
    }
    q.execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn ids(pool: &sqlx::AnyPool, sql: &str) -> Vec<String> {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

async fn one(pool: &sqlx::AnyPool, sql: &str) -> String {
    ids(pool, sql).await.remove(0)
}

both_backends!(
    old_rows_go_young_rows_and_the_audit_log_stay,
    |db| async move {
        let now = datetime!(2026-06-01 12:00 UTC);
        let clock = FixedClock::new(now);
        // The server's own upkeep keeps everything, so only the runs below prune.
        let keep_all = |c: &mut statusgate::config::Config| {
            c.retention = RetentionConfig {
                page_view_days: 36_500,
                notification_days: 36_500,
                oauth_code_days: 36_500,
                refresh_token_days: 36_500,
                session_days: 36_500,
                invitation_days: 36_500,
                ..RetentionConfig::default()
            }
        };
        let app = TestApp::spawn_with(db, keep_all, Arc::new(clock.clone())).await;
        let pool = app.store.pool().clone();
        let t = to_millis(now);
        let at = |days: i64| (t + days * DAY).to_string();
        let page = one(&pool, "select page_id from pages limit 1").await;
        let org = one(&pool, "select org_id from orgs limit 1").await;
        let user = one(&pool, "select user_id from users limit 1").await;

        // Page views: three days past 400 days, one recent day.
        for day in [-500, -501, -502, -10] {
            let d = ((t + day * DAY) / DAY).to_string();
            let sql = format!(
                "insert into page_views (page_id, day, views, created_at, updated_at)
             values ($1, {d}, 3, {t}, {t})"
            );
            exec(&pool, &sql, &[&page]).await;
        }
        // The outbox: finished long ago (go), finished lately and still pending (stay).
        exec(
        &pool,
        "insert into subscribers (subscriber_id, page_id, kind, target, confirmed, unsubscribe_token,
         created_at, updated_at) values ('sub_r', $1, 'email', 'r@x.test', 1, 'unsub_r', 0, 0)",
        &[&page],
    )
    .await;
        for (id, state, updated) in [
            ("n_old_delivered", "delivered", at(-40)),
            ("n_old_dead", "dead", at(-40)),
            ("n_young_delivered", "delivered", at(-5)),
            ("n_old_pending", "pending", at(-40)),
        ] {
            let sql = format!(
            "insert into notifications (notification_id, page_id, subscriber_id, source_id, payload,
             state, attempts, next_attempt_at, lease_until, created_at, updated_at)
             values ($1, $2, 'sub_r', $1, '{{}}', $3, 1, 0, 0, {updated}, {updated})"
        );
            exec(&pool, &sql, &[id, &page, state]).await;
        }
        // OAuth: one client, a live grant and a grant revoked ten days ago.
        exec(
            &pool,
            "insert into oauth_clients (client_id, kind, client_name, redirect_uris, auth_method,
         fingerprint, metadata, created_at, updated_at)
         values ('cl_r', 'dynamic', 'r', '[]', 'none', 'fp_r', '{}', 0, 0)",
            &[],
        )
        .await;
        for (grant, revoked) in [("g_live", "null".to_owned()), ("g_revoked", at(-10))] {
            let sql = format!(
            "insert into oauth_grants (grant_id, org_id, user_id, client_id, scopes, tools, resource,
             revoked_at, created_at, updated_at)
             values ($1, $2, $3, 'cl_r', 'read', '[]', 'r', {revoked}, 0, 0)"
        );
            exec(&pool, &sql, &[grant, &org, &user]).await;
        }
        for (code, expires) in [("c_expired", at(-2)), ("c_live", (t + 60_000).to_string())] {
            let sql = format!(
            "insert into oauth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge,
             expires_at, created_at, updated_at) values ($1, 'g_live', 'cl_r', 'u', 'c', {expires}, 0, 0)"
        );
            exec(&pool, &sql, &[code]).await;
        }
        for (token, grant, expires) in [
            ("t_expired", "g_live", at(-8)),
            ("t_recently_expired", "g_live", at(-2)),
            ("t_live", "g_live", at(20)),
            ("t_of_revoked", "g_revoked", at(20)),
        ] {
            let sql = format!(
            "insert into oauth_refresh_tokens (token_hash, grant_id, client_id, scopes, expires_at,
             created_at, updated_at) values ($1, $2, 'cl_r', 'read', {expires}, 0, 0)"
        );
            exec(&pool, &sql, &[token, grant]).await;
        }
        for (session, expires) in [("s_old", at(-2)), ("s_lapsed", at(0)), ("s_live", at(1))] {
            let sql = format!(
                "insert into sessions (session_id, data, expires_at, created_at, updated_at)
             values ($1, '{{}}', {expires}, 0, 0)"
            );
            exec(&pool, &sql, &[session]).await;
        }
        for (inv, expires, accepted, revoked) in [
            ("i_expired", at(-40), "null".to_owned(), "null".to_owned()),
            ("i_accepted", at(5), at(-40), "null".to_owned()),
            ("i_open", at(5), "null".to_owned(), "null".to_owned()),
            ("i_withdrawn_lately", at(5), "null".to_owned(), at(-5)),
        ] {
            let sql = format!(
            "insert into invitations (invitation_id, org_id, email, role, token_hash, invited_by,
             created_at, expires_at, accepted_at, revoked_at, updated_at)
             values ($1, $2, $1, 'viewer', $1, 'u', 0, {expires}, {accepted}, {revoked}, 0)"
        );
            exec(&pool, &sql, &[inv, &org]).await;
        }
        let sql = format!(
        "insert into audit_log (audit_id, org_id, actor_type, actor_id, action, target_type, target_id,
         created_at, updated_at) values ('a_ancient', $1, 'user', 'u', 'x', 'page', 'p', {}, 0)",
        at(-1000)
    );
        exec(&pool, &sql, &[&org]).await;

        // A small cap: the first run leaves one of the three old page-view days for the next.
        let tight = RetentionConfig {
            batch_size: 2,
            max_per_run: 2,
            ..RetentionConfig::default()
        };
        let first = app.services.prune_retention(&tight).await.unwrap();
        assert_eq!(first.page_views, 2, "{first:?}");
        let old_days = format!(
            "select cast(day as text) from page_views where day < {}",
            (t - 400 * DAY) / DAY
        );
        assert_eq!(ids(&pool, &old_days).await.len(), 1);
        app.services
            .prune_retention(&RetentionConfig::default())
            .await
            .unwrap();

        assert!(ids(&pool, &old_days).await.is_empty());
        let all_views = ids(&pool, "select cast(day as text) from page_views").await;
        assert!(
            all_views.contains(&((t - 10 * DAY) / DAY).to_string()),
            "{all_views:?}"
        );
        let mut n = ids(&pool, "select notification_id from notifications").await;
        n.sort();
        assert_eq!(n, ["n_old_pending", "n_young_delivered"]);
        assert_eq!(
            ids(&pool, "select code_hash from oauth_codes").await,
            ["c_live"]
        );
        let mut tokens = ids(&pool, "select token_hash from oauth_refresh_tokens").await;
        tokens.sort();
        assert_eq!(tokens, ["t_live", "t_recently_expired"]);
        let mut s = ids(
            &pool,
            "select session_id from sessions where session_id like 's_%'",
        )
        .await;
        s.sort();
        assert_eq!(s, ["s_lapsed", "s_live"]);
        let mut inv = ids(&pool, "select invitation_id from invitations").await;
        inv.sort();
        assert_eq!(inv, ["i_open", "i_withdrawn_lately"]);
        let audit = "select audit_id from audit_log where audit_id = 'a_ancient'";
        assert_eq!(ids(&pool, audit).await, ["a_ancient"]);

        // With `audit_days` set, the audit log is pruned too, but only past its age.
        clock.advance(Duration::days(1));
        let with_audit = RetentionConfig {
            audit_days: Some(365),
            ..RetentionConfig::default()
        };
        let p = app.services.prune_retention(&with_audit).await.unwrap();
        assert!(p.audit >= 1, "{p:?}");
        assert!(ids(&pool, audit).await.is_empty());
        let young = format!(
            "select audit_id from audit_log where created_at >= {}",
            at(-300)
        );
        let before = ids(&pool, &young).await.len();
        app.services.prune_retention(&with_audit).await.unwrap();
        assert_eq!(ids(&pool, &young).await.len(), before);
        app.stop().await;
    }
);
