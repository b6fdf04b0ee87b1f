//! Users, organisations and sign-in. Passwords are argon2id hashes, checked off the async threads and
//! at most one per core at a time; an unknown email is checked against a dummy hash so timing does not
//! tell which emails exist. Sign-in attempts are counted in the database, so throttling holds across
//! every instance.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde_json::json;
use time::Duration;
use tokio::sync::Semaphore;

use super::{NotFoundAs, Result, ServiceError, Services};
use crate::domain::{DomainError, Email, Membership, Name, Org, Role, Slug, User};
use crate::ids::{OrgId, UserId};
use crate::store::StoreError;

/// A valid argon2 hash of a random password, verified when the email is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2dhdGVkdW1teXNhbHQ$0d1S4aJ8fNwCqkDWq0k6n5bYyoDeCkDnVXmU2CwP5jE";

pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 256;

pub fn check_password_shape(p: &str) -> Result<(), DomainError> {
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(DomainError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(DomainError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// Password hashing is CPU-bound; at most one hash per core runs at a time, so a flood of sign-ins
/// queues here instead of filling the blocking pool with 19 MiB argon2 runs.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
});

/// Runs `work` off the async threads once a hashing slot is free.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = HASHING.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

pub async fn hash_password(password: String) -> Result<String> {
    hashing(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).ok()?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .ok()
    })
    .await
    .flatten()
    .ok_or_else(|| ServiceError::Internal(StoreError::Corrupt("password hashing failed".into())))
}

pub(super) async fn verify_password(password: String, hash: String) -> bool {
    hashing(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

impl Services {
    /// Signs a user in from `client` (the client address's bucket key). Each address has a bucket of
    /// attempts across all emails. Each (email, address) pair gets `login_max_failures` attempts per
    /// window, counted before the password is checked, so parallel guesses cannot all get through;
    /// a success clears the pair. Attempts from elsewhere are unaffected, so nobody can lock an
    /// owner out by guessing at their email.
    #[tracing::instrument(skip(self, password))]
    pub async fn authenticate(&self, email: &str, password: &str, client: &str) -> Result<User> {
        if let Err(wait) = self.login_limiter.take(client) {
            return Err(ServiceError::TooManyAttempts {
                retry_after_secs: wait,
            });
        }
        let key = format!("{}|{client}", email.trim().to_lowercase());
        self.count_password_attempt(&key).await?;
        let found = match Email::parse(email) {
            Ok(e) => match self.store.user_credentials(e.as_str()).await {
                Ok(found) => Some(found),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        // An unknown email costs the same hash as a known one, so timing does not tell them apart.
        let hash = found
            .as_ref()
            .map_or(DUMMY_HASH.to_owned(), |(_, h)| h.clone());
        let ok = verify_password(password.to_owned(), hash).await;
        match (found, ok) {
            (Some((user, _)), true) => {
                self.store.clear_login_attempts(&key).await?;
                Ok(user)
            }
            _ => Err(ServiceError::BadCredentials),
        }
    }

    /// Counts one password attempt for `key` before the password is checked, so parallel guesses
    /// cannot all get through; past `login_max_failures` in the window it is refused until the window
    /// ends. A success clears the key (`clear_login_attempts`).
    pub(super) async fn count_password_attempt(&self, key: &str) -> Result<()> {
        let now = self.clock.now();
        let window = Duration::minutes(i64::from(self.security.login_window_minutes));
        let (attempts, opened) = self
            .store
            .count_login_attempt(key, now, now - window)
            .await?;
        if attempts > i64::from(self.security.login_max_failures) {
            let left = (opened + window - now).whole_seconds().max(1);
            return Err(ServiceError::TooManyAttempts {
                retry_after_secs: u64::try_from(left).unwrap_or(1),
            });
        }
        Ok(())
    }

    /// Deletes attempt counts whose window has passed.
    pub async fn prune_login_attempts(&self) -> Result<u64> {
        let window = Duration::minutes(i64::from(self.security.login_window_minutes));
        Ok(self
            .store
            .prune_login_attempts(self.clock.now() - window)
            .await?)
    }

    pub async fn user(&self, id: &UserId) -> Result<User> {
        self.store.user_by_id(id).await.or_not_found("user")
    }

    pub async fn memberships(&self, user: &UserId) -> Result<Vec<Membership>> {
        Ok(self.store.memberships_of(user).await?)
    }

    /// Creates an organisation (no caller: this is for set-up and the CLI).
    pub async fn create_org(&self, slug: &str, name: &str) -> Result<Org> {
        let org = Org {
            id: OrgId::generate(),
            slug: Slug::parse("org", slug)?.as_str().to_owned(),
            name: Name::parse("name", name)?.into_inner(),
        };
        let mut tx = self.store.begin().await?;
        match self.store.insert_org(&mut tx, &org, self.clock.now()).await {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(format!(
                    "organisation {} already exists",
                    org.slug
                )))
            }
            other => other?,
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(org)
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Org> {
        self.store
            .org_by_slug(slug)
            .await
            .or_not_found("organisation")
    }

    /// Creates a user with a role in `org`; an existing user is refused. Set-up and CLI only.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        org: &Org,
        role: Role,
    ) -> Result<User> {
        let email = Email::parse(email)?;
        check_password_shape(password)?;
        let hash = hash_password(password.to_owned()).await?;
        let user = User {
            id: UserId::generate(),
            email: email.as_str().to_owned(),
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        match self.store.insert_user(&mut tx, &user, &hash, now).await {
            Err(StoreError::Conflict) => {
                return Err(ServiceError::Conflict(format!(
                    "a user with email {} already exists",
                    user.email
                )))
            }
            other => other?,
        }
        self.store
            .upsert_membership(&mut tx, &org.id, &user.id, role, now)
            .await?;
        let rec = crate::store::AuditRecord {
            org_id: &org.id,
            actor_type: crate::domain::ActorType::System,
            actor_id: "cli",
            user_id: None,
            action: "user.created",
            target_type: "user",
            target_id: user.id.as_str(),
            detail: json!({ "email": user.email, "role": role.as_str() }).to_string(),
        };
        self.store.insert_audit(&mut tx, &rec, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_one_hash_per_core_runs_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..cores * 4 {
            let (running, peak) = (running.clone(), peak.clone());
            all.spawn(hashing(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        let done = all.join_all().await;
        assert!(done.iter().all(Option::is_some));
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (1..=cores).contains(&peak),
            "{peak} at once on {cores} cores"
        );
    }

    #[test]
    fn password_bounds() {
        assert!(check_password_shape("short").is_err());
        assert!(check_password_shape("long enough").is_ok());
        assert!(check_password_shape(&"x".repeat(257)).is_err());
    }
}
