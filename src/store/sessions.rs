//! tower-sessions storage in our own database, so every instance serves every browser.

use async_trait::async_trait;
use sqlx::Row;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::{ExpiredDeletion, SessionStore};

use super::Store;
use crate::clock::{from_millis, to_millis, Clock, SystemClock};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// The signed-in user a session belongs to, kept in its own column so a person's sessions can be
/// found (and ended) without reading every session's data.
fn user_of(record: &Record) -> Option<String> {
    record
        .data
        .get("user_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        const SQL: &str =
            "insert into sessions (session_id, data, expires_at, created_at, updated_at, user_id)
            values ($1, $2, $3, $4, $4, $5) on conflict (session_id) do nothing";
        // A colliding id (128 random bits: never in practice) is redrawn, as the trait asks.
        for _ in 0..4 {
            let data =
                serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
            let expires = to_millis(record.expiry_date);
            let done = sqlx::query(SQL)
                .bind(record.id.to_string())
                .bind(data)
                .bind(expires)
                .bind(expires)
                .bind(user_of(record))
                .execute(self.store.pool())
                .await
                .map_err(backend)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend("could not allocate a session id".into()))
    }

    /// Updates an existing session only: tower-sessions creates new ones through `create`, so a row
    /// missing here was deleted while the request ran (signed out, or ended by a password change), and
    /// must stay deleted rather than come back with the request's copy.
    async fn save(&self, record: &Record) -> Result<()> {
        const SQL: &str =
            "update sessions set data = $2, expires_at = $3, updated_at = $4, user_id = $5
            where session_id = $1";
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        sqlx::query(SQL)
            .bind(record.id.to_string())
            .bind(data)
            .bind(to_millis(record.expiry_date))
            .bind(to_millis(SystemClock.now()))
            .bind(user_of(record))
            .execute(self.store.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        const SQL: &str = "select data, expires_at from sessions where session_id = $1";
        let row = sqlx::query(SQL)
            .bind(id.to_string())
            .fetch_optional(self.store.pool())
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let expiry_date = from_millis(row.try_get::<i64, _>("expires_at").map_err(backend)?);
        if expiry_date <= SystemClock.now() {
            return Ok(None);
        }
        let data: String = row.try_get("data").map_err(backend)?;
        let data = serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("delete from sessions where session_id = $1")
            .bind(id.to_string())
            .execute(self.store.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        sqlx::query("delete from sessions where expires_at < $1")
            .bind(to_millis(SystemClock.now()))
            .execute(self.store.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
