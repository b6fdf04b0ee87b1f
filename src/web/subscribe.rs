//! Public subscription pages: subscribe from the status page, confirm an email address, unsubscribe.
//! Unsubscribing asks for one click on a form, so a mail scanner that follows links cannot do it.
//! The forms carry `public_form` tokens rather than a session's, so showing one writes nothing.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};

use super::form::Fields;
use super::public_form;
use super::{render, PublicError};
use crate::config::Config;
use crate::domain::subscriber::SubscriberKind;
use crate::ratelimit::ClientAddr;
use crate::service::subscribers::Subscribed;
use crate::service::Services;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/status/{public_slug}/subscribe",
            get(subscribe_form).post(subscribe),
        )
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
    /// The status page to go back to; none where the page is not known (unsubscribing by token),
    /// as a public page never links to the admin side.
    back: Option<String>,
    form: Option<(String, String)>,
}

fn notice(title: &str, message: String, back: Option<String>) -> Notice {
    Notice {
        title: title.into(),
        message,
        secret: None,
        back,
        form: None,
    }
}

#[derive(Template)]
#[template(path = "status/subscribe.html")]
struct SubscribeForm {
    name: String,
    slug: String,
    token: String,
    email_enabled: bool,
}

async fn subscribe_form(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, PublicError> {
    let page = services.published_page(&slug).await?;
    let guard = public_form::issue(
        &services,
        &headers,
        &format!("subscribe:{slug}"),
        config.is_https(),
    )?;
    let form = SubscribeForm {
        name: page.name,
        slug: page.public_slug,
        token: guard.token.clone(),
        email_enabled: services.monitoring.smtp.enabled(),
    };
    Ok(guard.set_on(render(&form)))
}

async fn subscribe(
    State(services): State<Services>,
    headers: HeaderMap,
    from: ClientAddr,
    Path(slug): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PublicError> {
    let form = Fields(form);
    public_form::check(
        &services,
        &headers,
        &format!("subscribe:{slug}"),
        form.get("form_token"),
    )?;
    let kind = SubscriberKind::parse(form.get("kind").unwrap_or("email"))
        .map_err(crate::service::ServiceError::from)?;
    let target = form.required("target")?;
    let back = Some(format!("/status/{slug}"));
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
) -> Result<Response, PublicError> {
    services.confirm_subscription(&token).await?;
    Ok(render(&notice(
        "Subscription confirmed",
        "You will receive updates from this status page.".into(),
        Some(format!("/status/{slug}")),
    )))
}

async fn unsubscribe_form(
    State(services): State<Services>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PublicError> {
    let sub = services.subscription_by_token(&token).await?;
    let guard = public_form::issue(
        &services,
        &headers,
        &format!("unsubscribe:{token}"),
        config.is_https(),
    )?;
    let page = render(&Notice {
        form: Some((format!("/unsubscribe/{token}"), guard.token.clone())),
        ..notice(
            "Unsubscribe",
            format!("Stop sending status updates to {}?", sub.target),
            None,
        )
    });
    Ok(guard.set_on(page))
}

async fn unsubscribe(
    State(services): State<Services>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PublicError> {
    let form = Fields(form);
    public_form::check(
        &services,
        &headers,
        &format!("unsubscribe:{token}"),
        form.get("form_token"),
    )?;
    services.unsubscribe(&token).await?;
    Ok(render(&notice(
        "Unsubscribed",
        "You will not receive further updates.".into(),
        None,
    )))
}
