//! Public subscription pages: subscribe from the status page, confirm an email address, unsubscribe.
//! Unsubscribing asks for one click on a form, so a mail scanner that follows links cannot do it.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};

use super::form::Fields;
use super::session::WebSession;
use super::{render, WebError};
use crate::app::AppState;
use crate::domain::subscriber::SubscriberKind;
use crate::ratelimit::ClientAddr;
use crate::service::subscribers::Subscribed;
use crate::service::Services;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{public_slug}/subscribe", post(subscribe))
        .route("/status/{public_slug}/confirm/{token}", get(confirm))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_form).post(unsubscribe),
        )
}

#[derive(Template)]
#[template(path = "status/notice.html")]
struct Notice {
    title: String,
    message: String,
    secret: Option<String>,
    back: String,
    form: Option<(String, String)>,
}

fn notice(title: &str, message: String, back: String) -> Notice {
    Notice {
        title: title.into(),
        message,
        secret: None,
        back,
        form: None,
    }
}

async fn subscribe(
    State(services): State<Services>,
    session: WebSession,
    from: ClientAddr,
    Path(slug): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    session.check_csrf(form.get("csrf")).await?;
    let kind = SubscriberKind::parse(form.get("kind").unwrap_or("email"))
        .map_err(crate::service::ServiceError::from)?;
    let target = form.required("target")?;
    let back = format!("/status/{slug}");
    let page = match services.subscribe(&from, &slug, kind, target).await? {
        Subscribed::ConfirmationSent => notice(
            "Check your inbox",
            "We sent a confirmation link. Updates start once you follow it.".into(),
            back,
        ),
        Subscribed::Webhook { secret } => Notice {
            secret: Some(secret),
            ..notice(
                "Webhook subscribed",
                "The endpoint echoed its challenge and is subscribed. Each delivery is a signed JSON \
                 POST. Verify the statusgate-signature header \
                 (HMAC-SHA256 over \"timestamp.body\") with this secret; it is shown only once."
                    .into(),
                back,
            )
        },
    };
    Ok(render(&page))
}

async fn confirm(
    State(services): State<Services>,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, WebError> {
    services.confirm_subscription(&token).await?;
    Ok(render(&notice(
        "Subscription confirmed",
        "You will receive updates from this status page.".into(),
        format!("/status/{slug}"),
    )))
}

async fn unsubscribe_form(
    State(services): State<Services>,
    session: WebSession,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let sub = services.subscription_by_token(&token).await?;
    Ok(render(&Notice {
        form: Some((format!("/unsubscribe/{token}"), session.csrf_token().await?)),
        ..notice(
            "Unsubscribe",
            format!("Stop sending status updates to {}?", sub.target),
            "/".into(),
        )
    }))
}

async fn unsubscribe(
    State(services): State<Services>,
    session: WebSession,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Fields(form);
    session.check_csrf(form.get("csrf")).await?;
    services.unsubscribe(&token).await?;
    Ok(render(&notice(
        "Unsubscribed",
        "You will not receive further updates.".into(),
        "/".into(),
    )))
}
