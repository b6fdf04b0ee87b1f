//! Subscribers and the outbox against real loopback receivers: the notify guarantee, signed webhooks with
//! retries, email over SMTP with double opt-in and unsubscribe, dead letters, and a worker killed
//! mid-delivery.

use std::sync::Arc;

use statusgate::clock::SystemClock;
use statusgate::config::Config;
use statusgate::domain::subscriber::{DeliveryState, SubscriberKind};
use statusgate::domain::{
    IncidentStage, MaintenanceState, MaintenanceWindow, Message, NewIncidentUpdate,
};
use statusgate::ids::PageId;
use statusgate::ratelimit::ClientAddr;
use statusgate::service::maintenances::NewMaintenance;
use statusgate::service::subscribers::Subscribed;
use statusgate::service::Services;

use crate::both_backends;
use crate::helpers::{demo_ids, form_token_in, TestApp, TestDb};
use crate::loopback::{eventually, receiver, smtp_sink};
use crate::monitors::owner;

pub fn update(notify: bool) -> NewIncidentUpdate {
    NewIncidentUpdate {
        stage: IncidentStage::Investigating,
        message: Message::parse("message", "Checking the queue.").unwrap(),
        affected: Vec::new(),
        notify,
    }
}

/// Delivery settings for tests: loopback receivers allowed, fast ticks, no backoff wait.
pub fn fast_delivery(c: &mut Config) {
    c.delivery.allow_private_targets = true;
    c.delivery.tick_ms = 50;
    c.delivery.backoff_secs = 0;
    c.delivery.timeout_ms = 2_000;
    c.smtp.timeout_ms = 2_000;
    c.monitors.scheduler_tick_ms = 600_000;
}

/// The client address tests subscribe from.
pub fn visitor() -> ClientAddr {
    ClientAddr(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// Subscribes `n` webhooks (`url?n=0`, `url?n=1`, …) to the demo page `api`.
pub async fn webhooks(s: &Services, url: &str, n: usize) {
    for i in 0..n {
        s.subscribe(
            &visitor(),
            "api",
            SubscriberKind::Webhook,
            &format!("{url}?n={i}"),
        )
        .await
        .unwrap();
    }
}

pub async fn page_of(s: &Services) -> PageId {
    PageId::parse(&demo_ids(s, "REST API").await.0).unwrap()
}

pub async fn update_notifications(
    s: &Services,
    page: &PageId,
) -> Vec<statusgate::domain::subscriber::Notification> {
    let me = owner(s).await;
    s.deliveries(&me, page, Some(200))
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.source_id != "confirm")
        .collect()
}

both_backends!(
    notify_false_enqueues_nothing_and_notify_true_one_per_confirmed_subscriber,
    |db: TestDb| async move {
        let sink = smtp_sink().await;
        let app = TestApp::spawn_with(
            db,
            |c| {
                fast_delivery(c);
                c.delivery.tick_ms = 600_000; // Keep everything queued for counting.
                c.smtp.host = "127.0.0.1".into();
                c.smtp.port = sink.port;
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = &app.services;
        let me = owner(s).await;
        let page = page_of(s).await;
        let r = receiver(0, false).await;
        for n in 0..2 {
            let url = format!("{}?n={n}", r.url);
            assert!(matches!(
                s.subscribe(&visitor(), "api", SubscriberKind::Webhook, &url)
                    .await
                    .unwrap(),
                Subscribed::Webhook { .. }
            ));
        }
        // Unconfirmed: gets a confirmation, never updates.
        s.subscribe(
            &visitor(),
            "api",
            SubscriberKind::Email,
            "reader@example.com",
        )
        .await
        .unwrap();

        let (incident, _) = s
            .create_incident(&me, &page, "Queue delays", update(false))
            .await
            .unwrap();
        s.add_incident_update(&me, &incident.id, update(false))
            .await
            .unwrap();
        assert!(
            update_notifications(s, &page).await.is_empty(),
            "notify = false queues nothing"
        );

        s.add_incident_update(&me, &incident.id, update(true))
            .await
            .unwrap();
        let queued = update_notifications(s, &page).await;
        assert_eq!(queued.len(), 2, "one per confirmed subscriber");
        assert!(queued.iter().all(|n| n.state == DeliveryState::Pending));
        assert_ne!(queued[0].subscriber_id, queued[1].subscriber_id);

        // Maintenance updates follow the same rule.
        let start = s.clock.now() + time::Duration::days(1);
        let window =
            MaintenanceWindow::new(start, start + time::Duration::hours(1), s.clock.now()).unwrap();
        let new = |notify| NewMaintenance {
            title: "Disk swap",
            window,
            components: Vec::new(),
            message: Message::parse("message", "Swapping disks.").unwrap(),
            notify,
        };
        let (quiet, _) = s
            .schedule_maintenance(&me, &page, new(false))
            .await
            .unwrap();
        assert_eq!(
            update_notifications(s, &page).await.len(),
            2,
            "notify = false queues nothing"
        );
        let msg = Message::parse("message", "Starting now.").unwrap();
        s.add_maintenance_update(&me, &quiet.id, MaintenanceState::InProgress, msg, true)
            .await
            .unwrap();
        s.schedule_maintenance(&me, &page, new(true)).await.unwrap();
        assert_eq!(
            update_notifications(s, &page).await.len(),
            6,
            "two per notifying update"
        );
    }
);

both_backends!(
    webhooks_are_signed_retried_after_a_failure_and_delivered,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(db, fast_delivery, Arc::new(SystemClock)).await;
        let s = &app.services;
        let me = owner(s).await;
        let page = page_of(s).await;
        let r = receiver(1, false).await;
        let Subscribed::Webhook { secret } = s
            .subscribe(&visitor(), "api", SubscriberKind::Webhook, &r.url)
            .await
            .unwrap()
        else {
            panic!("webhook subscription");
        };
        s.create_incident(&me, &page, "Queue delays", update(true))
            .await
            .unwrap();

        let rr = r.clone();
        assert!(
            eventually(15, || rr.keys().len() == 1).await,
            "delivered after a retry"
        );
        let all = r.all.lock().unwrap().clone();
        assert_eq!(all.len(), 2, "first attempt failed, second succeeded");
        let key = |i: usize| {
            all[i].headers["idempotency-key"]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(key(0), key(1), "the retry carries the same idempotency key");
        for got in &all {
            assert!(got.signed_with(&secret), "signature verifies");
            assert!(!got.signed_with("wrong secret"));
            let body: serde_json::Value = serde_json::from_str(&got.body).unwrap();
            assert_eq!(body["title"], "Queue delays");
            assert_eq!(body["id"], key(0));
        }
        let ok = {
            let s = s.clone();
            let page = page.clone();
            async move {
                for _ in 0..40 {
                    let n = update_notifications(&s, &page).await;
                    if n.len() == 1 && n[0].state == DeliveryState::Delivered {
                        return n[0].attempts;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                0
            }
        };
        assert_eq!(ok.await, 2, "delivered on the second attempt");
    }
);

both_backends!(
    email_subscribers_confirm_by_link_get_updates_and_unsubscribe,
    |db: TestDb| async move {
        let sink = smtp_sink().await;
        let app = TestApp::spawn_with(
            db,
            |c| {
                fast_delivery(c);
                c.smtp.host = "127.0.0.1".into();
                c.smtp.port = sink.port;
                c.smtp.from = "status@acme.test".into();
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = &app.services;
        let visitor = app.new_browser();
        let html = visitor.get("/status/api").await.text().await.unwrap();
        assert!(html.contains("Get updates") && html.contains("/status/api/subscribe"));
        let html = visitor
            .get("/status/api/subscribe")
            .await
            .text()
            .await
            .unwrap();
        let token = form_token_in(&html).unwrap();
        let r = visitor
            .post_form(
                "/status/api/subscribe",
                &[
                    ("form_token", &token),
                    ("kind", "email"),
                    ("target", "reader@example.com"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Check your inbox"));

        let msgs = sink.messages.clone();
        assert!(
            eventually(10, || msgs.lock().unwrap().len() == 1).await,
            "confirmation sent"
        );
        let confirm = msgs.lock().unwrap()[0].clone();
        assert!(confirm.contains("To: reader@example.com") && confirm.contains("Subject: Confirm"));
        let link = confirm
            .split_whitespace()
            .find(|w| w.contains("/confirm/"))
            .unwrap()
            .to_owned();
        let path = &link[link.find("/status/").unwrap()..];
        let r = visitor.get(path).await;
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Subscription confirmed"));

        let me = owner(s).await;
        let page = page_of(s).await;
        s.create_incident(&me, &page, "Queue delays", update(true))
            .await
            .unwrap();
        assert!(
            eventually(10, || msgs.lock().unwrap().len() == 2).await,
            "update sent"
        );
        let mail = msgs.lock().unwrap()[1].clone();
        assert!(
            mail.contains("Subject: [Acme API] Queue delays: Investigating"),
            "{mail}"
        );
        assert!(mail.contains("Checking the queue."));
        let unsub = mail
            .split_whitespace()
            .find(|w| w.contains("/unsubscribe/"))
            .unwrap()
            .to_owned();
        let path = &unsub[unsub.find("/unsubscribe/").unwrap()..];
        let form = visitor.get(path).await.text().await.unwrap();
        assert!(form.contains("reader@example.com"));
        let token = form_token_in(&form).unwrap();
        let r = visitor.post_form(path, &[("form_token", &token)]).await;
        assert!(r.text().await.unwrap().contains("Unsubscribed"));
        assert!(s.subscribers(&me, &page, None).await.unwrap().is_empty());
    }
);

both_backends!(
    an_unreachable_relay_keeps_the_message_and_dead_letters_it_after_max_attempts,
    |db: TestDb| async move {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let app = TestApp::spawn_with(
            db,
            |c| {
                fast_delivery(c);
                c.smtp.host = "127.0.0.1".into();
                c.smtp.port = port;
                c.delivery.max_attempts = 2;
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = &app.services;
        let st = &app.store;
        s.subscribe(
            &visitor(),
            "api",
            SubscriberKind::Email,
            "reader@example.com",
        )
        .await
        .unwrap();
        let me = owner(s).await;
        let page = page_of(s).await;
        let mut state = None;
        for _ in 0..100 {
            let all = s.deliveries(&me, &page, None).await.unwrap();
            if all.first().is_some_and(|n| n.state == DeliveryState::Dead) {
                state = all.into_iter().next();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let dead = state.expect("dead-lettered");
        assert_eq!(dead.attempts, 2);
        assert!(dead
            .last_error
            .unwrap()
            .contains("cannot connect to SMTP relay"));

        // An admin retries it from the deliveries page: one more attempt, audited; a second click
        // while it is queued again is refused.
        app.sign_in_as_owner().await;
        let html = app
            .get(&format!("/admin/pages/{page}/deliveries"))
            .await
            .text()
            .await
            .unwrap();
        let action = format!("/admin/deliveries/{}/retry", dead.id);
        assert!(html.contains(&action), "{html}");
        let csrf = crate::helpers::csrf_in(&html).unwrap();
        assert_eq!(app.post_form(&action, &[]).await.status(), 403, "CSRF");
        assert_eq!(
            app.post_form(&action, &[("csrf", &csrf)]).await.status(),
            303
        );
        let mut retried = None;
        for _ in 0..100 {
            let all = s.deliveries(&me, &page, None).await.unwrap();
            if all
                .first()
                .is_some_and(|n| n.state == DeliveryState::Dead && n.attempts == 3)
            {
                retried = all.into_iter().next();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(retried.expect("tried once more").id, dead.id);
        let org = s.org_by_slug("acme").await.unwrap();
        let audit = st
            .audit_entries(&org.id, Some(statusgate::domain::ActorType::User), 20)
            .await
            .unwrap();
        assert!(audit.iter().any(|a| a.action == "notification.retried"));
        let other = app
            .post_form(
                "/admin/deliveries/ntf_ffffffffffffffffffffffff/retry",
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(other.status(), 404);
    }
);

both_backends!(
    a_worker_killed_mid_delivery_still_delivers_exactly_once_per_subscriber,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                fast_delivery(c);
                c.delivery.tick_ms = 600_000; // This test drives the worker itself.
                c.delivery.timeout_ms = 300;
                c.smtp.timeout_ms = 300;
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = app.services.clone();
        let me = owner(&s).await;
        let page = page_of(&s).await;
        let r = receiver(0, true).await;
        webhooks(&s, &r.url, 3).await;
        s.create_incident(&me, &page, "Queue delays", update(true))
            .await
            .unwrap();

        // Start a worker, and kill it while the receiver holds its first request open.
        let worker = {
            let s = s.clone();
            tokio::spawn(async move { s.deliver_due().await })
        };
        let all = r.all.clone();
        assert!(eventually(10, || !all.lock().unwrap().is_empty()).await);
        worker.abort();
        let _ = worker.await;

        // A restarted worker picks everything up once the dead worker's lease lapses.
        let mut rounds = 0;
        while update_notifications(&s, &page)
            .await
            .iter()
            .any(|n| n.state != DeliveryState::Delivered)
        {
            rounds += 1;
            assert!(rounds < 100, "delivery finishes");
            s.deliver_due().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut keys = r.keys();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            3,
            "each subscriber's notification processed exactly once"
        );
        let seen = r.all.lock().unwrap().len();
        assert!(
            seen >= 4,
            "the interrupted one was sent again ({seen} requests)"
        );
        let first_key = r.all.lock().unwrap()[0].headers["idempotency-key"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            keys.contains(&first_key),
            "the redelivery reused the interrupted key"
        );
    }
);

both_backends!(
    visitor_webhooks_must_be_public_https,
    |db: TestDb| async move {
        let app = TestApp::spawn(db).await;
        let s = &app.services;
        for url in [
            "http://example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.0.0.8/x",
            "https://[::1]/x",
        ] {
            let e = s
                .subscribe(&visitor(), "api", SubscriberKind::Webhook, url)
                .await
                .unwrap_err();
            assert!(e.to_string().starts_with("url:"), "{url}: {e}");
        }
        let e = s
            .subscribe(
                &visitor(),
                "api",
                SubscriberKind::Email,
                "reader@example.com",
            )
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("not offered"),
            "no relay configured: {e}"
        );
    }
);

#[tokio::test]
async fn smtp_tls_modes_fail_clearly_against_a_plain_relay() {
    use statusgate::config::{SmtpConfig, SmtpTls};
    use statusgate::outbound::smtp::{send, Email};
    let sink = smtp_sink().await;
    let mail = Email {
        to: "reader@example.com",
        subject: "Hi",
        body: "Hello",
        message_id: "ntf_1",
        date: time::OffsetDateTime::UNIX_EPOCH,
    };
    let cfg = |tls| SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        tls,
        timeout_ms: 2_000,
        ..SmtpConfig::default()
    };
    send(&cfg(SmtpTls::None), &mail).await.unwrap();
    assert_eq!(sink.messages.lock().unwrap().len(), 1);
    let e = send(&cfg(SmtpTls::Starttls), &mail).await.unwrap_err();
    assert!(e.to_string().contains("does not offer STARTTLS"), "{e}");
    let e = send(&cfg(SmtpTls::Tls), &mail).await.unwrap_err();
    assert!(e.to_string().contains("TLS with SMTP relay"), "{e}");
    assert_eq!(
        sink.messages.lock().unwrap().len(),
        1,
        "nothing sent in the clear"
    );
}

both_backends!(
    mcp_write_tools_report_how_many_subscribers_were_queued,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(
            db,
            |c| {
                fast_delivery(c);
                c.delivery.tick_ms = 600_000; // Keep everything queued for counting.
            },
            Arc::new(SystemClock),
        )
        .await;
        let s = &app.services;
        let page = page_of(s).await;
        let r = receiver(0, false).await;
        webhooks(s, &r.url, 3).await;
        let owner = owner(s).await;
        let actor = crate::helpers::mcp_actor(s, &owner.user_id, None).await;
        let caller = statusgate::mcp::McpCaller {
            principal: statusgate::service::Principal {
                user_id: owner.user_id,
                actor,
            },
            scopes: statusgate::mcp::McpScope::ALL.to_vec(),
            allowed_tools: None,
        };
        let call = |notify: bool| {
            let args = serde_json::json!({
                "page_id": page, "title": "Checkout errors", "stage": "investigating",
                "message": "Looking into it", "notify": notify,
            });
            let (s, caller) = (s.clone(), caller.clone());
            async move {
                statusgate::mcp::tools::call(
                    &s,
                    &caller,
                    "http://h",
                    "create_incident",
                    args.as_object().unwrap(),
                )
                .await
                .unwrap()
            }
        };
        assert_eq!(call(false).await["subscribers_notified"], 0);
        assert!(
            update_notifications(s, &page).await.is_empty(),
            "notify: false queues nothing"
        );
        assert_eq!(call(true).await["subscribers_notified"], 3);
        assert_eq!(
            update_notifications(s, &page).await.len(),
            3,
            "one per subscriber"
        );
    }
);
