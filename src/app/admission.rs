//! Admission: at most `[server] max_concurrent_requests` requests are worked on at once. The others wait
//! here, holding only their parsed head (the body is not read yet, no credential is checked, nothing
//! is allocated for the answer), up to `[server] request_queue` of them; past that a request is answered
//! 503 with `Retry-After` at once. Without this bound every open connection could hold a request's
//! whole working set while it waits for the cores or the database pool.
//!
//! A slot is held until the handler has produced its response head, not while a streamed body is being
//! sent, so a long download or an event stream never keeps a slot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::config::ServerConfig;

/// Seconds a refused client is told to wait before trying again.
const RETRY_AFTER_SECS: &str = "1";

#[derive(Clone)]
pub(super) struct Admission(Arc<Inner>);

struct Inner {
    slots: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
}

/// One place in the queue, given back however the wait ends (admitted, or the client went away).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    pub(super) fn new(server: &ServerConfig) -> Self {
        Self(Arc::new(Inner {
            slots: Semaphore::new(server.max_concurrent_requests as usize),
            waiting: AtomicUsize::new(0),
            queue: server.request_queue as usize,
        }))
    }

    /// Runs `req` once a slot is free; answers 503 when the queue is full.
    pub(super) async fn admit(self, req: Request, next: Next) -> Response {
        let inner = &self.0;
        let _slot = match inner.slots.try_acquire() {
            Ok(slot) => slot,
            Err(_) => {
                if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.queue {
                    inner.waiting.fetch_sub(1, Ordering::AcqRel);
                    let refused = busy();
                    crate::telemetry::queue_full(&req, refused.status().as_u16());
                    return refused;
                }
                let _place = Waiting(&inner.waiting);
                match inner.slots.acquire().await {
                    Ok(slot) => slot,
                    // The semaphore is never closed; answer as if full rather than panic.
                    Err(_) => return busy(),
                }
            }
        };
        next.run(req).await
    }
}

fn busy() -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        "statusgate is at capacity; retry shortly\n",
    )
        .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn router(slots: u32, queue: u32, gate: Arc<tokio::sync::Notify>) -> Router {
        let admission = Admission::new(&ServerConfig {
            max_concurrent_requests: slots,
            request_queue: queue,
            ..ServerConfig::default()
        });
        Router::new()
            .route(
                "/",
                get(move || async move {
                    gate.notified().await;
                    "done"
                }),
            )
            .layer(axum::middleware::from_fn(move |req, next| {
                admission.clone().admit(req, next)
            }))
    }

    fn get_root() -> Request {
        axum::http::Request::get("/")
            .body(Body::empty())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn past_the_slots_requests_queue_and_past_the_queue_they_get_503() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let app = router(1, 1, gate.clone());
        let first = tokio::spawn(app.clone().oneshot(get_root()));
        let second = tokio::spawn(app.clone().oneshot(get_root()));
        // Let both reach the admission check: one holds the slot, one waits.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let third = app.clone().oneshot(get_root()).await;
        let third = third.map_err(|e| e.to_string());
        assert!(third.as_ref().is_ok_and(|r| r.status() == 503));
        assert!(third.is_ok_and(|r| r.headers()[header::RETRY_AFTER] == "1"));
        gate.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        gate.notify_one();
        for done in [first, second] {
            let status = done.await.ok().and_then(Result::ok).map(|r| r.status());
            assert_eq!(status, Some(StatusCode::OK));
        }
    }

    #[tokio::test]
    async fn a_client_that_leaves_the_queue_gives_its_place_back() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let app = router(1, 1, gate.clone());
        let first = tokio::spawn(app.clone().oneshot(get_root()));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let gone = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            app.clone().oneshot(get_root()),
        )
        .await;
        assert!(gone.is_err(), "the second request waits");
        let waiting = tokio::spawn(app.clone().oneshot(get_root()));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(
            !waiting.is_finished(),
            "the freed place is taken, not refused"
        );
        gate.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        gate.notify_one();
        assert!(first.await.is_ok() && waiting.await.is_ok());
    }
}
