//! The typed browser session: who is signed in and the CSRF token every form carries.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::WebError;
use crate::ids::{OrgId, UserId};

const USER_KEY: &str = "user_id";
const CSRF_KEY: &str = "csrf";
const ORG_KEY: &str = "current_org";
const FLASH_KEY: &str = "flash";

pub struct WebSession(Session);

impl<S: Send + Sync> FromRequestParts<S> for WebSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Session::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(|(_, why)| WebError::Internal(format!("session: {why}")))
    }
}

fn internal<E: std::fmt::Display>(e: E) -> WebError {
    WebError::Internal(format!("session store failed: {e}"))
}

impl WebSession {
    pub fn new(session: Session) -> Self {
        Self(session)
    }

    /// Leaves a message for the next page shown; it is read once (taken) and never put in a URL.
    pub async fn set_flash(&self, flash: &super::chrome::Flash) -> Result<(), WebError> {
        self.0.insert(FLASH_KEY, flash).await.map_err(internal)
    }

    /// The waiting message, removed as it is read, so a reload does not show it again.
    pub async fn take_flash(&self) -> Result<Option<super::chrome::Flash>, WebError> {
        self.0.remove(FLASH_KEY).await.map_err(internal)
    }

    pub async fn user_id(&self) -> Result<Option<UserId>, WebError> {
        let raw: Option<String> = self.0.get(USER_KEY).await.map_err(internal)?;
        let user = raw.and_then(|s| UserId::parse(&s));
        if user.is_some() {
            crate::telemetry::record_principal_kind(crate::telemetry::PrincipalKind::User);
        }
        Ok(user)
    }

    /// The session's id, once it has been stored (a signed-in session always has one).
    pub fn id(&self) -> Option<String> {
        self.0.id().map(|i| i.to_string())
    }

    /// The session's CSRF token, made on first use.
    pub async fn csrf_token(&self) -> Result<String, WebError> {
        if let Some(t) = self.0.get::<String>(CSRF_KEY).await.map_err(internal)? {
            return Ok(t);
        }
        let t = crate::ids::random_hex(32);
        self.0.insert(CSRF_KEY, &t).await.map_err(internal)?;
        Ok(t)
    }

    /// Compares the submitted token with the session's in constant time.
    pub async fn check_csrf(&self, submitted: Option<&str>) -> Result<(), WebError> {
        let expected: Option<String> = self.0.get(CSRF_KEY).await.map_err(internal)?;
        match (expected, submitted) {
            (Some(e), Some(s)) if bool::from(e.as_bytes().ct_eq(s.as_bytes())) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }

    /// Signs in: a fresh session id (no fixation) and a fresh CSRF token.
    pub async fn sign_in(&self, user: &UserId) -> Result<(), WebError> {
        self.0.cycle_id().await.map_err(internal)?;
        self.0
            .insert(USER_KEY, user.as_str())
            .await
            .map_err(internal)?;
        self.0
            .insert(CSRF_KEY, crate::ids::random_hex(32))
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// The organisation the person chose to work in; `None` shows every one of theirs.
    pub async fn current_org(&self) -> Result<Option<OrgId>, WebError> {
        let raw: Option<String> = self.0.get(ORG_KEY).await.map_err(internal)?;
        Ok(raw.and_then(|s| OrgId::parse(&s)))
    }

    pub async fn set_current_org(&self, org: Option<&OrgId>) -> Result<(), WebError> {
        match org {
            Some(o) => self.0.insert(ORG_KEY, o.as_str()).await.map_err(internal),
            None => self
                .0
                .remove::<String>(ORG_KEY)
                .await
                .map(drop)
                .map_err(internal),
        }
    }

    pub async fn sign_out(&self) -> Result<(), WebError> {
        self.0.flush().await.map_err(internal)
    }
}

/// Only a local path may follow sign-in: no scheme, no host, no `//` or `/\` tricks.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_follow_sign_in() {
        assert_eq!(
            safe_next(Some("/admin/incidents/new")),
            "/admin/incidents/new"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin", "{bad}");
        }
        assert_eq!(safe_next(None), "/admin");
    }
}
