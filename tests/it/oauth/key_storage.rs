//! Signing keys at rest: encrypted in the database under STATUSGATE_KEY_ENCRYPTION_KEY (passed here
//! through `Config`, as config loading puts it there), migrated from clear text, rotated, and a start
//! with a wrong or missing key refused with one line.

use std::sync::Arc;

use sqlx::Row;
use statusgate::app::App;
use statusgate::clock::SystemClock;
use statusgate::config::{Config, EncryptionKey, KEY_ENV, OLD_KEY_ENV};

use super::*;
use crate::both_backends;
use crate::helpers::{test_config, Backend, TestApp, TestDb};

/// Every start here serves the same issuer, so tokens from before a restart are still for this server.
const PUBLIC: &str = "http://statusgate.test";

fn config(db: &TestDb, key: Option<&EncryptionKey>, old: Option<&EncryptionKey>) -> Config {
    let mut c = test_config(&db.url);
    c.public_url = PUBLIC.into();
    c.oauth.key_encryption_key = key.cloned();
    c.oauth.key_encryption_key_old = old.cloned();
    c
}

/// A server on `db` (which the caller keeps owning) with these keys.
async fn spawn(db: &TestDb, key: Option<&EncryptionKey>, old: Option<&EncryptionKey>) -> TestApp {
    let oauth = config(db, key, old).oauth;
    let tweak = |c: &mut Config| {
        c.public_url = PUBLIC.into();
        c.oauth = oauth;
    };
    TestApp::spawn_with(db.alias(), tweak, Arc::new(SystemClock)).await
}

/// The one line a refused start prints after "statusgate: ".
async fn refused(db: &TestDb, key: Option<&EncryptionKey>, old: Option<&EncryptionKey>) -> String {
    match App::build(config(db, key, old)).await {
        Ok(_) => panic!("start-up should have been refused"),
        Err(e) => {
            let line = format!("{e:#}");
            assert_eq!(line.lines().count(), 1, "{line}");
            line
        }
    }
}

/// The `oauth_keys` rows as stored: (kid, secret column).
async fn stored(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query("select kid, secret from oauth_keys order by kid")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("kid"), r.get::<String, _>("secret")))
        .collect()
}

/// The live keys as the server reads them, decrypted: (kid, secret).
async fn decrypted(app: &TestApp) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc();
    let keys = app.store.signing_keys(now).await.unwrap();
    keys.into_iter()
        .map(|(kid, secret, _)| (kid, secret))
        .collect()
}

/// Every stored row is sealed, and no live secret appears in any of them.
async fn assert_sealed(app: &TestApp) {
    let rows = stored(app).await;
    let secrets = decrypted(app).await;
    assert!(!rows.is_empty() && !secrets.is_empty());
    for (kid, column) in &rows {
        assert!(column.starts_with("sealed1:"), "{kid} is not sealed");
        for (_, secret) in &secrets {
            assert!(
                !column.contains(secret.as_str()),
                "{kid} holds a secret in clear"
            );
        }
        assert!(!column.contains("PRIVATE KEY"));
    }
}

/// A first server under `key`: a connector's tokens and the rows as stored, checked sealed; then stopped.
async fn first_start(db: &TestDb, key: &EncryptionKey) -> (Tokens, Vec<(String, String)>) {
    let app = spawn(db, Some(key), None).await;
    let t = tokens(&app).await;
    assert_sealed(&app).await;
    let rows = stored(&app).await;
    app.stop().await;
    (t, rows)
}

both_backends!(
    signing_keys_are_stored_encrypted_and_a_restart_with_the_key_verifies_old_tokens,
    |db: TestDb| async move {
        let key = EncryptionKey::generate();
        let (t, _) = first_start(&db, &key).await;

        let again = spawn(&db, Some(&key), None).await;
        assert!(accepted(&again, &t.access).await);
        assert_sealed(&again).await;
    }
);

both_backends!(
    a_wrong_or_missing_key_stops_start_up_with_one_line_and_changes_nothing,
    |db: TestDb| async move {
        let key = EncryptionKey::generate();
        let (t, before) = first_start(&db, &key).await;

        let wrong = EncryptionKey::generate();
        let line = refused(&db, Some(&wrong), None).await;
        assert!(
            line.contains(KEY_ENV) && line.contains("does not decrypt"),
            "{line}"
        );
        let line = refused(&db, Some(&wrong), Some(&EncryptionKey::generate())).await;
        assert!(line.contains(&format!("nor {OLD_KEY_ENV}")), "{line}");
        // Without the variable: PostgreSQL always refuses; SQLite finds no key file to fall back on.
        let line = refused(&db, None, None).await;
        assert!(line.contains(&format!("{KEY_ENV} is not set")), "{line}");
        if db.backend == Backend::Sqlite {
            assert!(line.contains("statusgate.key does not exist"), "{line}");
        }

        let again = spawn(&db, Some(&key), None).await;
        assert_eq!(stored(&again).await, before);
        assert!(accepted(&again, &t.access).await);
    }
);

both_backends!(
    keys_stored_in_clear_are_encrypted_in_place_at_start_up,
    |db: TestDb| async move {
        let app = spawn(&db, Some(&EncryptionKey::generate()), None).await;
        let t = tokens(&app).await;
        // Put the database back as an earlier statusgate left it: secrets in clear.
        for (kid, secret) in decrypted(&app).await {
            sqlx::query("update oauth_keys set secret = $1 where kid = $2")
                .bind(&secret)
                .bind(&kid)
                .execute(app.store.pool())
                .await
                .unwrap();
        }
        assert!(stored(&app)
            .await
            .iter()
            .all(|(_, s)| !s.starts_with("sealed1:")));
        app.stop().await;

        let key = EncryptionKey::generate();
        let again = spawn(&db, Some(&key), None).await;
        assert_sealed(&again).await;
        assert!(accepted(&again, &t.access).await);
        again.stop().await;
        // Sealed under the new key: the previous one no longer opens them.
        refused(&db, Some(&EncryptionKey::generate()), None).await;
        assert!(accepted(&spawn(&db, Some(&key), None).await, &t.access).await);
    }
);

both_backends!(
    rotation_reencrypts_every_key_under_the_new_encryption_key,
    |db: TestDb| async move {
        let (old, new) = (EncryptionKey::generate(), EncryptionKey::generate());
        let (t, before) = first_start(&db, &old).await;

        let rotated = spawn(&db, Some(&new), Some(&old)).await;
        let after = stored(&rotated).await;
        assert_eq!(after.len(), before.len());
        assert!(before
            .iter()
            .zip(&after)
            .all(|(b, a)| b.0 == a.0 && b.1 != a.1));
        assert!(accepted(&rotated, &t.access).await);
        rotated.stop().await;

        let line = refused(&db, Some(&old), None).await;
        assert!(line.contains("does not decrypt"), "{line}");
        let done = spawn(&db, Some(&new), None).await;
        assert!(accepted(&done, &t.access).await);
    }
);

/// A first start without the variable on SQLite (the demo: `cargo run` with no environment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_start_without_the_variable_keeps_a_private_key_file_beside_the_database() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let dir = std::path::PathBuf::from(db.url.trim_start_matches("sqlite://"))
        .parent()
        .unwrap()
        .to_owned();
    let file = dir.join("statusgate.key");
    let app = spawn(&db, None, None).await;
    let t = tokens(&app).await;
    assert_sealed(&app).await;
    let written = EncryptionKey::parse(&std::fs::read_to_string(&file).unwrap());
    assert!(written.is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    app.stop().await;

    let again = spawn(&db, None, None).await;
    assert!(accepted(&again, &t.access).await);
    again.stop().await;
    // The file is the key: the variable set to its content opens the rows too.
    assert!(accepted(&spawn(&db, written.as_ref(), None).await, &t.access).await);

    std::fs::remove_file(&file).unwrap();
    let line = refused(&db, None, None).await;
    assert!(
        line.contains(KEY_ENV) && line.contains(&file.display().to_string()),
        "{line}"
    );
    assert!(!file.exists(), "a refused start writes no new key");
}
