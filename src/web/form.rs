//! Form bodies as name/value pairs: repeated names and unknown fields are fine, and a missing field is a
//! clear error rather than a deserializer's message.

use super::WebError;

pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, WebError> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| WebError::BadRequest(format!("{name} is required")))
    }

    /// A checkbox: present means on.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
    }

    /// Every pair whose name starts with `prefix`, with the prefix cut off.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}

/// A form posted by a signed-in member, its CSRF token already checked against the session: the one
/// extractor every state-changing admin form goes through, so none can forget the check. Not signed in
/// is the sign-in redirect, a bad body axum's 4xx, a missing or wrong token 403.
pub struct SignedForm {
    pub me: super::admin::SignedIn,
    pub form: Fields,
}

impl axum::extract::FromRequest<crate::state::AppState> for SignedForm {
    type Rejection = axum::response::Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRequestParts;
        use axum::response::IntoResponse;
        let (mut parts, body) = req.into_parts();
        let me = super::admin::SignedIn::from_request_parts(&mut parts, state).await?;
        let req = axum::extract::Request::from_parts(parts, body);
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Fields(pairs);
        me.session
            .check_csrf(form.get("csrf"))
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { me, form })
    }
}
