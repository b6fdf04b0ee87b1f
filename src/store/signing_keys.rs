//! The token signing keys (`oauth_keys`), encrypted at rest (see `sealed`): unlocking them at start-up,
//! reading the live ones and adding a new one. Every read and write goes through the sealer, so a
//! secret is only ever in clear in this process's memory.

use std::path::PathBuf;
use std::sync::Arc;

use time::OffsetDateTime;

use super::sealed::{
    create_key_file, is_sealed, key_file_for, read_key_file, KeySource, Opened, SealError, Sealer,
};
use super::{row, Backend, Result, Store};
use crate::clock::to_millis;
use crate::domain::secret::EncryptionKey;

impl Store {
    /// Finds the encryption key (`key`, from the environment, or the local fallback), re-encrypts rows
    /// stored in clear or under `old` with it, and from then on seals and opens signing keys with it.
    /// Fails, changing nothing, when a row opens with neither key. Returns where the key came from and
    /// how many rows were (re-)encrypted.
    pub async fn unlock_signing_keys(
        &self,
        key: Option<EncryptionKey>,
        old: Option<EncryptionKey>,
    ) -> std::result::Result<(KeySource, usize), SealError> {
        let rows = self.stored_keys().await?;
        let (current, source) = match key {
            Some(k) => (k, KeySource::Env),
            None => self.local_key(rows.iter().any(|(_, s)| is_sealed(s)))?,
        };
        let sealer = Sealer::new(current, old, source.clone());
        // Every row is checked before any is rewritten, so a wrong key changes nothing.
        for (kid, stored) in &rows {
            sealer.open(kid, stored)?;
        }
        let mut resealed = 0;
        for (kid, stored) in rows {
            resealed += usize::from(self.reseal(&sealer, &kid, stored).await?);
        }
        *self.sealer.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(sealer));
        Ok((source, resealed))
    }

    /// Without the variable: PostgreSQL (shared by many instances) refuses to start; SQLite keeps a
    /// generated key in a file beside the database; an in-memory database keeps one in memory.
    fn local_key(
        &self,
        any_sealed: bool,
    ) -> std::result::Result<(EncryptionKey, KeySource), SealError> {
        if self.backend == Backend::Postgres {
            return Err(SealError::MissingForPostgres);
        }
        let Some(db) = self.sqlite_file() else {
            return Ok((EncryptionKey::generate(), KeySource::Memory));
        };
        let path = key_file_for(&db);
        if let Some(k) = read_key_file(&path)? {
            return Ok((
                k,
                KeySource::File {
                    path,
                    created: false,
                },
            ));
        }
        if any_sealed {
            return Err(SealError::MissingForSealed(path));
        }
        let k = create_key_file(&path)?;
        Ok((
            k,
            KeySource::File {
                path,
                created: true,
            },
        ))
    }

    /// The SQLite database file, if this is a file-backed SQLite store.
    pub(crate) fn sqlite_file(&self) -> Option<PathBuf> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.url.strip_prefix("sqlite://")?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
        (!memory).then(|| PathBuf::from(path))
    }

    /// Seals one row again under the current key, unless it already is. Another instance starting at
    /// the same moment may get there first: the update only applies to the text we read, and on a
    /// miss the row is read again. Answers whether this call rewrote it.
    async fn reseal(
        &self,
        sealer: &Sealer,
        kid: &str,
        mut stored: String,
    ) -> std::result::Result<bool, SealError> {
        const SQL: &str = "update oauth_keys set secret = $1 where kid = $2 and secret = $3";
        for _ in 0..3 {
            let Opened::Stale(secret) = sealer.open(kid, &stored)? else {
                return Ok(false);
            };
            let done = sqlx::query(SQL)
                .bind(sealer.seal(kid, &secret)?)
                .bind(kid)
                .bind(&stored)
                .execute(&self.pool)
                .await
                .map_err(super::StoreError::from)?;
            if done.rows_affected() == 1 {
                return Ok(true);
            }
            match self
                .stored_keys()
                .await?
                .into_iter()
                .find(|(k, _)| k == kid)
            {
                Some((_, now_stored)) => stored = now_stored,
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    /// Every stored key, retired or not, as stored.
    async fn stored_keys(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("select kid, secret from oauth_keys order by kid")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((row::text(r, "kid")?, row::text(r, "secret")?)))
            .collect()
    }

    fn sealer(&self) -> std::result::Result<Arc<Sealer>, SealError> {
        self.sealer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(SealError::Locked)
    }

    /// Signing keys not yet retired, newest first, decrypted.
    pub async fn signing_keys(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, String, OffsetDateTime)>> {
        const SQL: &str = "select kid, secret, created_at from oauth_keys
            where purpose = 'jwt' and (retire_at is null or retire_at > $1) order by created_at desc, kid desc";
        let sealer = self.sealer()?;
        let rows = sqlx::query(SQL)
            .bind(to_millis(now))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let kid = row::text(r, "kid")?;
                let secret = sealer.open_sealed(&kid, &row::text(r, "secret")?)?;
                Ok((kid, secret, row::instant(r, "created_at")?))
            })
            .collect()
    }

    /// Adds a signing key, encrypted; older keys stay valid until `retire_older_at`.
    pub async fn insert_signing_key(
        &self,
        kid: &str,
        secret: &str,
        retire_older_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        let sealed = self.sealer()?.seal(kid, secret)?;
        let mut tx = self.begin().await?;
        sqlx::query("update oauth_keys set retire_at = $1, updated_at = $2 where purpose = 'jwt' and retire_at is null")
            .bind(to_millis(retire_older_at))
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("insert into oauth_keys (kid, purpose, secret, retire_at, created_at, updated_at) values ($1, 'jwt', $2, null, $3, $3)")
            .bind(kid)
            .bind(sealed)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
