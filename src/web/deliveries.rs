//! Admin page for a status page's subscribers and the state of every notification sent to them.

use super::form::SignedForm;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};

use super::admin::{parse_id, SignedIn};
use super::form::Fields;
use super::status_page::human_time;
use super::{render, WebError};
use crate::domain::{Page, Permission};
use crate::ids::{NotificationId, PageId, SubscriberId};
use crate::service::Services;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/pages/{page_id}/deliveries", get(list))
        .route("/admin/subscribers/{id}/remove", post(remove))
        .route("/admin/deliveries/{id}/retry", post(retry))
}

pub struct SubscriberRow {
    pub id: String,
    pub kind: &'static str,
    pub target: String,
    pub confirmed: bool,
    pub since: String,
}

pub struct DeliveryRow {
    pub id: String,
    pub to: String,
    pub state: &'static str,
    pub attempts: i64,
    pub last_error: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "admin/deliveries.html")]
struct DeliveriesPage {
    email: String,
    csrf: String,
    chrome: super::chrome::Chrome,
    page: Page,
    subscribers: Vec<SubscriberRow>,
    confirmed: usize,
    deliveries: Vec<DeliveryRow>,
}

async fn list(
    State(services): State<Services>,
    me: SignedIn,
    Path(page_id): Path<String>,
) -> Result<Response, WebError> {
    let page_id = parse_id(&page_id, PageId::parse, "page")?;
    let page = services
        .page_for(&me.principal, &page_id, Permission::SubscriberManage)
        .await?;
    let subs = services
        .subscribers(&me.principal, &page_id, Some(200))
        .await?;
    let notes = services
        .deliveries(&me.principal, &page_id, Some(100))
        .await?;
    let deliveries = notes
        .iter()
        .map(|n| DeliveryRow {
            id: n.id.to_string(),
            to: subs
                .iter()
                .find(|s| s.id == n.subscriber_id)
                .map(|s| s.target.clone())
                .unwrap_or_else(|| "(removed)".into()),
            state: n.state.as_str(),
            attempts: n.attempts,
            last_error: n.last_error.clone().unwrap_or_default(),
            at: human_time(n.created_at),
        })
        .collect();
    let subscribers: Vec<SubscriberRow> = subs
        .iter()
        .map(|s| SubscriberRow {
            id: s.id.to_string(),
            kind: s.kind.as_str(),
            target: s.target.clone(),
            confirmed: s.confirmed,
            since: human_time(s.created_at),
        })
        .collect();
    Ok(render(&DeliveriesPage {
        email: me.email,
        csrf: me.csrf,
        chrome: me.chrome,
        page,
        confirmed: subscribers.iter().filter(|s| s.confirmed).count(),
        subscribers,
        deliveries,
    }))
}

async fn remove(
    State(services): State<Services>,
    Path(id): Path<String>,
    SignedForm { me, .. }: SignedForm,
) -> Result<Response, WebError> {
    let id = parse_id(&id, SubscriberId::parse, "subscriber")?;
    let page_id = services.subscriber_page(&me.principal, &id).await?;
    services.remove_subscriber(&me.principal, &id).await?;
    super::chrome::saved(
        &me.session,
        "Subscriber removed.",
        &format!("/admin/pages/{page_id}/deliveries"),
    )
    .await
}

async fn retry(
    State(services): State<Services>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    me.session.check_csrf(Fields(form).get("csrf")).await?;
    let id = parse_id(&id, NotificationId::parse, "delivery")?;
    let page_id = services.retry_delivery(&me.principal, &id).await?;
    super::chrome::saved(
        &me.session,
        "Delivery queued again.",
        &format!("/admin/pages/{page_id}/deliveries"),
    )
    .await
}
