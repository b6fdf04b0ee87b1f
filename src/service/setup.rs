//! First run: while nobody can sign in, each start issues a one-time set-up token (only its hash is
//! kept) whose page creates the organisation and its owner. Completing set-up consumes the token in
//! the same transaction that creates them, so a double submit creates one of each.

use serde_json::json;
use subtle::ConstantTimeEq;

use super::accounts::{check_password_shape, hash_password};
use super::{Result, ServiceError, Services};
use crate::domain::{ActorType, DomainError, Email, Name, Org, Role, Slug, User};
use crate::ids::{sha256_hex, OrgId, UserId};
use crate::store::{AuditRecord, StoreError};

/// What the set-up form asks for.
pub struct SetupInput<'a> {
    pub org_name: &'a str,
    pub org_slug: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub password_repeat: &'a str,
}

/// The set-up input once every field has been checked.
struct Checked {
    org: Org,
    user: User,
    password: String,
}

impl SetupInput<'_> {
    fn check(&self) -> Result<Checked, DomainError> {
        let org = Org {
            id: OrgId::generate(),
            name: Name::parse("org_name", self.org_name)?.into_inner(),
            slug: Slug::parse("org_slug", self.org_slug)?.as_str().to_owned(),
        };
        let email = Email::parse(self.email)?;
        check_password_shape(self.password)?;
        if self.password != self.password_repeat {
            return Err(DomainError::invalid(
                "password_repeat",
                "does not match the password",
            ));
        }
        Ok(Checked {
            org,
            user: User {
                id: UserId::generate(),
                email: email.as_str().to_owned(),
            },
            password: self.password.to_owned(),
        })
    }
}

impl Services {
    /// At start-up: a fresh set-up token when no user exists yet (replacing any earlier one), else
    /// none, and any leftover token is dropped.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        if self.store.count_users().await? > 0 {
            self.store.clear_setup_token().await?;
            return Ok(None);
        }
        let token = crate::ids::random_hex(32);
        self.store
            .replace_setup_token(&sha256_hex(&token), self.clock.now())
            .await?;
        Ok(Some(token))
    }

    /// Whether `token` is the current set-up token and nobody has signed up yet; anything else is
    /// "not found", so the page does not tell a wrong token from a used one.
    pub async fn check_setup_token(&self, token: &str) -> Result<()> {
        let stored = self.store.setup_token_hash().await?;
        let matches =
            stored.is_some_and(|s| bool::from(s.as_bytes().ct_eq(sha256_hex(token).as_bytes())));
        if !matches || self.store.count_users().await? > 0 {
            return Err(ServiceError::NotFound("set-up page"));
        }
        Ok(())
    }

    /// Creates the organisation and its owner, consuming the token. Bad input is refused before
    /// anything changes and leaves the token usable.
    #[tracing::instrument(skip_all)]
    pub async fn complete_setup(&self, token: &str, input: &SetupInput<'_>) -> Result<(Org, User)> {
        self.check_setup_token(token).await?;
        let Checked {
            org,
            user,
            password,
        } = input.check()?;
        let hash = hash_password(password).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // First, so a second submit waits here and then finds the token gone.
        if !self
            .store
            .take_setup_token(&mut tx, &sha256_hex(token))
            .await?
            || self.store.count_users_in(&mut tx).await? > 0
        {
            return Err(ServiceError::NotFound("set-up page"));
        }
        match self.store.insert_org(&mut tx, &org, now).await {
            Err(StoreError::Conflict) => {
                return Err(DomainError::invalid("org_slug", "is already taken").into())
            }
            other => other?,
        }
        self.store.insert_user(&mut tx, &user, &hash, now).await?;
        self.store
            .upsert_membership(&mut tx, &org.id, &user.id, Role::Owner, now)
            .await?;
        let rec = AuditRecord {
            org_id: &org.id,
            actor_type: ActorType::System,
            actor_id: "setup",
            user_id: Some(&user.id),
            action: "org.set_up",
            target_type: "org",
            target_id: org.id.as_str(),
            detail: json!({ "slug": org.slug, "owner": user.email }).to_string(),
        };
        self.store.insert_audit(&mut tx, &rec, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((org, user))
    }
}
