//! A way back in after a forgotten password. With SMTP set, "Forgot your password?" emails a link
//! valid one hour, used once, kept only as its SHA-256; without it an operator runs
//! `statusgate user set-password`. Either way the new password ends every browser session of that
//! person, withdraws their other links and forgets their counted sign-in attempts.
//!
//! Asking for a link answers the same, as fast, whether or not the email has an account: the request
//! spends a token of its client address's bucket and nothing else before it is answered; looking the
//! person up, the per-person limit, the stored link and the mail all happen after the answer.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::accounts::{check_password_shape, hash_password};
use super::{Principal, Result, ServiceError, Services};
use crate::domain::{ActorType, Email, User};
use crate::ids::{random_hex, sha256_hex, UserId};
use crate::ratelimit::{ClientAddr, RateLimiter};
use crate::store::{AuditRecord, StoreError, Tx};

/// How long an emailed link works.
pub const LINK_MINUTES: i64 = 60;
/// Links one person may be sent per hour, whoever asks: a mailbox cannot be flooded with them.
const LINKS_PER_PERSON_PER_HOUR: i64 = 3;
/// Requests one client address may make at once, then one every six minutes (per instance).
const REQUEST_BURST: u32 = 5;
const REQUESTS_PER_HOUR: u32 = 10;

/// What a wrong, forged, expired or used link is: all the same to whoever holds it.
const LINK: &str = "password reset link";

/// The per-address bucket of reset requests.
pub(super) fn request_limiter() -> RateLimiter {
    RateLimiter::per_hour(REQUESTS_PER_HOUR, REQUEST_BURST)
}

/// A link's token is 64 lowercase hex digits; anything else is refused before the database is asked.
fn well_formed(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Services {
    /// Whether "Forgot your password?" can email a link on this server.
    pub fn reset_by_email(&self) -> bool {
        self.monitoring.smtp.enabled()
    }

    /// Asks for a link for `email`. The answer is `Ok` whether or not an account has that email; only
    /// a malformed address or the client address's empty bucket is refused. The link is made and mailed after the answer.
    #[tracing::instrument(skip(self, email))]
    pub async fn request_password_reset(&self, from: &ClientAddr, email: &str) -> Result<()> {
        if !self.reset_by_email() {
            return Err(ServiceError::NotFound("password reset by email"));
        }
        // A malformed address is the visitor's typo, said as such: it tells nothing about accounts.
        let email = Email::parse(email)?;
        self.reset_limiter
            .take(&from.key())
            .map_err(|retry_after_secs| ServiceError::TooManyAttempts { retry_after_secs })?;
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.send_reset_link(&email).await {
                tracing::warn!(error = %e, "password reset link not sent");
            }
        });
        Ok(())
    }

    /// Stores and mails a link when `email` has an account whose hourly allowance is not used up.
    async fn send_reset_link(&self, email: &Email) -> Result<(), String> {
        let user = match self.store.user_id_by_email(email.as_str()).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let token = random_hex(32);
        let now = self.clock.now();
        if !self
            .store_reset(&user, &sha256_hex(&token), now)
            .await
            .map_err(|e| e.to_string())?
        {
            tracing::info!(user = %user, "password reset link not sent: hourly limit for this person");
            return Ok(());
        }
        let link = format!("{}/login/reset/{token}", self.monitoring.public_url);
        let body = format!(
            "Someone asked to reset the statusgate password of {email} at {base}.\r\n\r\n\
             Choose a new password within {LINK_MINUTES} minutes: {link}\r\n\r\n\
             The link works once. If you did not ask, ignore this message: your password stays as \
             it is.\r\n",
            email = email.as_str(),
            base = self.monitoring.public_url,
        );
        let id = format!("pwreset_{}", random_hex(12));
        let mail = crate::outbound::smtp::Email {
            to: email.as_str(),
            subject: "Reset your statusgate password",
            body: &body,
            message_id: &id,
            date: now,
        };
        crate::outbound::smtp::send(&self.monitoring.smtp, &mail)
            .await
            .map_err(|e| e.to_string())
    }

    /// Stores a link for `user` unless they were sent their hourly allowance already; the person's
    /// row lock makes concurrent requests (on any instance) count one after the other.
    async fn store_reset(&self, user: &UserId, hash: &str, now: OffsetDateTime) -> Result<bool> {
        let mut tx = self.store.begin_untracked().await?;
        self.store.lock_user(&mut tx, user).await?;
        let recent = self
            .store
            .count_resets_since(&mut tx, user, now - Duration::hours(1))
            .await?;
        if recent >= LINKS_PER_PERSON_PER_HOUR {
            return Ok(false);
        }
        let expires = now + Duration::minutes(LINK_MINUTES);
        self.store
            .insert_reset(&mut tx, hash, user, now, expires)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }

    /// Whether `token` is an open link (for showing its form); anything else is not found.
    pub async fn password_reset_open(&self, token: &str) -> Result<()> {
        if !well_formed(token) {
            return Err(ServiceError::NotFound(LINK));
        }
        match self
            .store
            .open_reset(&sha256_hex(token), self.clock.now())
            .await?
        {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound(LINK)),
        }
    }

    /// Sets a new password through an open link, using the link up. Signs nobody in; answers how many
    /// sessions of the person ended.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(&self, token: &str, new: &str) -> Result<u64> {
        // A wrong link costs no password hash.
        self.password_reset_open(token).await?;
        check_password_shape(new)?;
        let hash = hash_password(new.to_owned()).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The check above was a read: this is the one that counts, once.
        let Some(user) = self
            .store
            .consume_reset(&mut tx, &sha256_hex(token), now)
            .await?
        else {
            return Err(ServiceError::NotFound(LINK));
        };
        let user = self
            .store
            .user_by_id(&user)
            .await
            .map_err(ServiceError::from)?;
        let ended = self.replace_password(&mut tx, &user, &hash, now).await?;
        let who = Principal::user(user.id.clone());
        for m in self.store.memberships_of(&user.id).await? {
            let detail = json!({ "sessions_ended": ended, "via": "emailed link" });
            self.audit(
                &mut tx,
                &who,
                &m.org.id,
                "account.password_reset",
                ("user", user.id.as_str()),
                detail,
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ended)
    }

    /// The operator's reset (`statusgate user set-password`): the same rules as creating a user,
    /// audited as `system`. Answers the person and how many of their sessions ended.
    pub async fn set_password_as_operator(&self, email: &str, new: &str) -> Result<(User, u64)> {
        let email = Email::parse(email)?;
        let user = self.user_by_email(email.as_str()).await?;
        check_password_shape(new)?;
        let hash = hash_password(new.to_owned()).await?;
        let now = self.clock.now();
        let orgs = self.store.memberships_of(&user.id).await?;
        let mut tx = self.store.begin().await?;
        let ended = self.replace_password(&mut tx, &user, &hash, now).await?;
        for m in &orgs {
            let rec = AuditRecord {
                org_id: &m.org.id,
                actor_type: ActorType::System,
                actor_id: "cli",
                user_id: None,
                action: "account.password_set",
                target_type: "user",
                target_id: user.id.as_str(),
                detail: json!({ "sessions_ended": ended }).to_string(),
            };
            self.store.insert_audit(&mut tx, &rec, now).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok((user, ended))
    }

    /// What a new password set from outside a session does: stores it, ends every session of the
    /// person, withdraws their links and forgets their counted sign-in attempts.
    async fn replace_password(
        &self,
        tx: &mut Tx,
        user: &User,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<u64> {
        self.store
            .set_password_hash(tx, &user.id, hash, now)
            .await?;
        let ended = self.store.end_sessions_of(tx, &user.id).await?;
        self.store.delete_resets_of(tx, &user.id).await?;
        self.store
            .clear_login_attempts_of(tx, &user.email.to_lowercase())
            .await?;
        Ok(ended)
    }

    /// Deletes links past their hour.
    pub async fn prune_password_resets(&self) -> Result<u64> {
        Ok(self.store.prune_resets(self.clock.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn only_64_lowercase_hex_digits_are_a_token() {
        assert!(well_formed(&"a1".repeat(32)));
        assert!(!well_formed(&"A1".repeat(32)));
        assert!(!well_formed(&"a1".repeat(31)));
        assert!(!well_formed(&format!("{}g", "a".repeat(63))));
        assert!(!well_formed(""));
    }
}
