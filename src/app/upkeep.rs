//! What keeps a running instance healthy and says so: the periodic upkeep (retention and other
//! clean-up) and the readiness answer for load balancers.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::service::Services;

/// Readiness for a load balancer: 200 when this instance can serve, 503 when the database does not
/// answer (within two seconds) or lacks a migration this build needs: a newer instance's migrations
/// still running elsewhere, or an older backup restored underneath. A starting instance binds its
/// port only after its own migrations, so until then it refuses connections, which proxies read as
/// not ready too. `/mcp/health` stays the MCP connector's liveness answer.
pub(super) async fn readyz(State(services): State<Services>) -> Response {
    let check = tokio::time::timeout(Duration::from_secs(2), services.schema_current());
    let (status, reason) = match check.await {
        Ok(Ok(true)) => (StatusCode::OK, "ready"),
        Ok(Ok(false)) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Ok(Err(_)) | Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    };
    (status, Json(json!({ "status": reason }))).into_response()
}

/// Periodic clean-up: retention (`[retention]`: page views, finished notifications, expired codes,
/// tokens, sessions, invitations and, when configured, the audit log), spent sign-in attempt counts,
/// abandoned client registrations, and signing-key rotation.
/// Every instance may run it; each step is idempotent and bounded.
pub(super) async fn run(
    services: Services,
    oauth: crate::oauth::AuthServer,
    retention: crate::config::RetentionConfig,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match services.prune_retention(&retention).await {
            Ok(p) if p.total() > 0 => tracing::info!(pruned = ?p, "retention removed old rows"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention clean-up failed"),
        }
        if let Err(e) = services.prune_login_attempts().await {
            tracing::warn!(error = %e, "sign-in attempt clean-up failed");
        }
        if let Err(e) = services.prune_password_resets().await {
            tracing::warn!(error = %e, "password reset link clean-up failed");
        }
        if let Err(e) = oauth.reap_registrations().await {
            tracing::warn!(error = %e, "registration clean-up failed");
        }
        if let Err(e) = oauth.ensure_signing_key().await {
            tracing::warn!(error = %e, "signing-key rotation failed");
        }
    }
}
