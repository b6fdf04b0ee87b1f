//! Users, organisations and sign-in. Passwords are argon2id hashes, checked off the async threads and
//! at most one per core at a time; an unknown email is checked against a dummy hash so timing does not
//! tell which emails exist. Sign-in attempts are counted in the database, so throttling holds across
//! every instance.

use std::sync::LazyLock;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use serde_json::json;
use time::Duration;
use tokio::sync::Semaphore;

use super::{NotFoundAs, Result, ServiceError, Services};
use crate::domain::{DomainError, Email, Membership, Name, Org, Role, Slug, User};
use crate::ids::{OrgId, UserId};
use crate::store::StoreError;

/// A valid argon2 hash of a random password with the current parameters, verified when the email is
/// unknown so that both answers take as long.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=12288,t=3,p=1$Fj5rtTgfzndvDi2VXmtAXw$hiR4rQC7dbWKq1aDcg09cCMxlI+CeVVArut8aEt3b1k";

/// argon2id with 12 MiB, three passes, one lane: one of the equally strong settings OWASP lists (beside
/// the library default's 19 MiB and two passes), chosen for the smaller working set, since a sign-in's
/// hash is the largest thing a server holds in memory. Hashes made with other parameters (the earlier
/// 19 MiB default) carry them in their PHC string and still verify.
fn hasher() -> Argon2<'static> {
    let params = Params::new(12 * 1024, 3, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

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
/// queues here instead of filling the blocking pool with argon2 runs of 12 to 19 MiB each.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
});

/// Runs `work` off the async threads once a hashing slot is free.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = HASHING.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Capacity asked for argon2's working memory: just above glibc's largest dynamic mmap threshold
/// (32 MiB). Such a block is always its own mapping, unmapped when freed, and freeing it does not
/// raise the threshold. A 19 MiB block would instead raise it to 19 MiB after the first hash, so later
/// hashes (and every other allocation below 19 MiB) come from the heap and stay resident after they
/// are freed. Only the blocks the parameters need are ever touched.
const MEMORY_CAPACITY: usize = 33 * 1024 * 1024 / Block::SIZE;

/// argon2's working memory for `params`, zeroed.
fn working_memory(params: &Params) -> Vec<Block> {
    let n = params.block_count();
    let mut blocks = Vec::with_capacity(n.max(MEMORY_CAPACITY));
    blocks.resize(n, Block::new());
    blocks
}

/// What `PasswordHasher::hash_password` does for [`hasher`], in [`working_memory`].
fn hash_new(password: &[u8], salt: &SaltString) -> Option<String> {
    let argon = hasher();
    let params = argon.params().clone();
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut raw_salt).ok()?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut memory = working_memory(&params);
    let output = Output::init_with(len, |out| {
        argon
            .hash_password_into_with_memory(password, salt_bytes, out, &mut memory)
            .map_err(Into::into)
    })
    .ok()?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Some(hash.to_string())
}

/// What `PasswordVerifier::verify_password` does for an argon2 PHC string, in [`working_memory`]; the
/// outputs are compared in constant time (`Output`'s equality).
fn verify(password: &[u8], phc: &str) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let (salt, expected) = (hash.salt?, hash.hash?);
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).ok()?;
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut raw_salt).ok()?;
    let mut memory = working_memory(&params);
    let argon = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon
            .hash_password_into_with_memory(password, salt_bytes, out, &mut memory)
            .map_err(Into::into)
    })
    .ok()?;
    Some(computed == expected)
}

pub async fn hash_password(password: String) -> Result<String> {
    hashing(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).ok()?;
        hash_new(password.as_bytes(), &salt)
    })
    .await
    .flatten()
    .ok_or_else(|| ServiceError::Internal(StoreError::Corrupt("password hashing failed".into())))
}

pub(super) async fn verify_password(password: String, hash: String) -> bool {
    hashing(move || verify(password.as_bytes(), &hash).unwrap_or(false))
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
        let org = Self::new_org("org", slug, name)?;
        let mut tx = self.store.begin().await?;
        self.insert_new_org(&mut tx, &org).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(org)
    }

    /// The organisation `slug` and `name` describe, by the one set of field rules (the CLI's and the
    /// web form's); `slug_field` names the slug as the caller's form does.
    pub(super) fn new_org(slug_field: &'static str, slug: &str, name: &str) -> Result<Org> {
        Ok(Org {
            id: OrgId::generate(),
            slug: Slug::parse(slug_field, slug)?.as_str().to_owned(),
            name: Name::parse("name", name)?.into_inner(),
        })
    }

    /// Inserts `org`; a slug already taken is a conflict that names it.
    pub(super) async fn insert_new_org(&self, tx: &mut crate::store::Tx, org: &Org) -> Result<()> {
        match self.store.insert_org(tx, org, self.clock.now()).await {
            Err(StoreError::Conflict) => Err(ServiceError::Conflict(format!(
                "organisation {} already exists",
                org.slug
            ))),
            other => Ok(other?),
        }
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
    fn hashes_match_the_library_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::encode_b64(b"0123456789abcdef");
        assert!(salt.is_ok());
        let Ok(salt) = salt else { return };
        let ours = hash_new(b"correct horse", &salt).unwrap_or_default();
        let theirs = hasher()
            .hash_password(b"correct horse", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(!ours.is_empty() && ours == theirs);
        assert_eq!(verify(b"correct horse", &theirs), Some(true));
        assert_eq!(verify(b"wrong horse", &theirs), Some(false));
        assert_eq!(verify(b"x", DUMMY_HASH), Some(false));
        let parsed = PasswordHash::new(&ours).map_err(|e| e.to_string());
        assert!(parsed.is_ok_and(|h| hasher().verify_password(b"correct horse", &h).is_ok()));
        // A password set under the earlier 19 MiB default still signs in.
        let earlier = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(earlier.contains("m=19456,t=2"));
        assert_eq!(verify(b"correct horse", &earlier), Some(true));
        assert_eq!(verify(b"wrong horse", &earlier), Some(false));
    }

    #[test]
    fn password_bounds() {
        assert!(check_password_shape("short").is_err());
        assert!(check_password_shape("long enough").is_ok());
        assert!(check_password_shape(&"x".repeat(257)).is_err());
    }
}
