//! One error shape for the whole REST API, `{"error": {"code", "status", "message"}}`, with a stable
//! set of codes. `ServiceError` maps to it in one `match`; axum's own rejections (bad JSON, bad query)
//! are converted by the `Body` and `Query` extractors so nothing answers in another shape.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::domain::DomainError;
use crate::service::ServiceError;

/// The stable codes, one per kind of refusal.
pub const CODES: [&str; 11] = [
    "malformed",
    "too_large",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "unprocessable",
    "rate_limited",
    "internal",
    "unavailable",
];

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, "forbidden", m),
            ServiceError::Invalid(DomainError::Transition(m)) | ServiceError::Conflict(m) => {
                Self::new(StatusCode::CONFLICT, "conflict", m)
            }
            ServiceError::Invalid(e) => Self::unprocessable(e.to_string()),
            ServiceError::TooManyAttempts { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many requests",
                )
            },
            ServiceError::BadCredentials => Self::unauthorized("bad credentials"),
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, "api request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

/// A value the domain refused while parsing a request: 422 (or 409 for a lifecycle transition).
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ServiceError::Invalid(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": {
            "code": self.code,
            "status": self.status.as_u16(),
            "message": self.message,
        }});
        let mut r = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"statusgate\""),
            );
        }
        r
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON request body; syntax errors are 400 `malformed`, well-formed JSON of the wrong shape 422.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::unprocessable(e.body_text())),
            Err(JsonRejection::BytesRejection(_)) => Err(too_large()),
            Err(e) => Err(ApiError::malformed(e.body_text())),
        }
    }
}

/// Query parameters; anything that does not parse is 400 `malformed`, naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| ApiError::malformed(e.body_text()))
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "request body too large (256 KiB at most)",
    )
}

/// The body limit sits outside every router and answers 413 in plain text; for `/api/v1` this gives
/// that answer the API's shape. Installed outside the limit, in `app.rs`.
pub async fn shape_too_large(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = req.uri().path().starts_with("/api/v1/");
    let r = next.run(req).await;
    let plain = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() != b"application/json");
    if api && r.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return too_large().into_response();
    }
    r
}

/// An id from the path in the shape we generate; anything else cannot exist, so 404.
pub fn path_id<T>(raw: &str, parse: fn(&str) -> Option<T>, what: &str) -> ApiResult<T> {
    parse(raw).ok_or_else(|| ApiError::not_found(what))
}
