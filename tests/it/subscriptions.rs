//! Subscribing safely: webhooks must echo a signed challenge before they get anything, pages cap their
//! subscribers, each client address may only subscribe so often, and a receiver that never answers
//! holds up nobody else's delivery.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use statusgate::clock::SystemClock;
use statusgate::config::Config;
use statusgate::domain::subscriber::SubscriberKind;
use statusgate::ratelimit::ClientAddr;
use statusgate::service::subscribers::Subscribed;
use statusgate::service::{ServiceError, Services};

use crate::both_backends;
use crate::helpers::{form_token_in, TestApp, TestDb};
use crate::loopback::{eventually, receiver_on, smtp_sink, Echo, Receiver};
use crate::monitors::owner;
use crate::notifications::{fast_delivery, page_of, update, visitor};

async fn subscribe_hook(s: &Services, r: &Receiver) -> Result<Subscribed, ServiceError> {
    s.subscribe(&visitor(), "api", SubscriberKind::Webhook, &r.url)
        .await
}

/// Where the demo page's subscribers (confirmed or not) receive.
async fn targets(s: &Services) -> Vec<String> {
    let page = page_of(s).await;
    s.subscribers(&owner(s).await, &page, Some(200))
        .await
        .unwrap()
        .into_iter()
        .map(|sub| sub.target)
        .collect()
}

async fn subscriber_count(s: &Services) -> usize {
    targets(s).await.len()
}

/// Raises an incident with notify: true and returns when it did.
async fn notify_all(s: &Services) -> Instant {
    let page = page_of(s).await;
    s.create_incident(&owner(s).await, &page, "Queue delays", update(true))
        .await
        .unwrap();
    Instant::now()
}

both_backends!(
    a_webhook_that_does_not_echo_its_challenge_is_never_subscribed_nor_notified,
    |db: TestDb| async move {
        let app = TestApp::spawn_with(db, fast_delivery, Arc::new(SystemClock)).await;
        let s = &app.services;
        let silent = receiver_on("127.0.0.1", Echo::Nothing, false).await;
        let json = receiver_on("127.0.0.1", Echo::Json, false).await;
        let bare = receiver_on("127.0.0.1", Echo::Bare, false).await;

        // Act: the silent endpoint is challenged and refused; the echoing ones are subscribed.
        let e = subscribe_hook(s, &silent).await.unwrap_err();
        assert!(matches!(e, ServiceError::Invalid(_)), "{e:?}");
        assert!(e.to_string().contains("challenge"), "{e}");
        assert_eq!(silent.challenges.lock().unwrap().len(), 1);
        assert_eq!(subscriber_count(s).await, 0, "nothing kept");
        let Subscribed::Webhook { secret } = subscribe_hook(s, &json).await.unwrap() else {
            panic!("webhook subscription");
        };
        subscribe_hook(s, &bare).await.unwrap();
        assert_eq!(subscriber_count(s).await, 2);

        // The challenge is signed like a delivery, with the secret the subscriber is then shown.
        let got = json.challenges.lock().unwrap()[0].clone();
        assert!(got.signed_with(&secret));
        let body: serde_json::Value = serde_json::from_str(&got.body).unwrap();
        assert_eq!(body["type"], "subscription.verify");
        assert!(body["challenge"].as_str().is_some_and(|c| c.len() >= 32));

        // A notify reaches the verified two and never the silent one.
        notify_all(s).await;
        let (j, b) = (json.clone(), bare.clone());
        assert!(eventually(10, || j.keys().len() == 1 && b.keys().len() == 1).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(silent.all.lock().unwrap().is_empty(), "no notification");

        // Nobody listening at all: refused the same way, nothing kept.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let e = s
            .subscribe(&visitor(), "api", SubscriberKind::Webhook, &url)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("challenge"), "{e}");
        assert_eq!(subscriber_count(s).await, 2);
    }
);

/// Subscribes every receiver from its own address (so the per-address limit stays out of the way).
async fn subscribe_all(s: &Services, receivers: &[&Receiver]) {
    for (i, r) in receivers.iter().enumerate() {
        let from = ClientAddr(IpAddr::from([10, 0, 0, i as u8 + 1]));
        s.subscribe(&from, "api", SubscriberKind::Webhook, &r.url)
            .await
            .unwrap();
    }
}

/// Healthy receivers on 127.0.0.2 and receivers on 127.0.0.1 that take notifications and never answer.
async fn healthy_and_hung(healthy: usize, hung: usize) -> (Vec<Receiver>, Vec<Receiver>) {
    let mut ok = Vec::new();
    for _ in 0..healthy {
        ok.push(receiver_on("127.0.0.2", Echo::Json, false).await);
    }
    let mut stuck = Vec::new();
    for _ in 0..hung {
        stuck.push(receiver_on("127.0.0.1", Echo::Json, true).await);
    }
    (ok, stuck)
}

/// Spawns with a 2 s delivery timeout (and `slots` = (concurrency, per host) when given), subscribes
/// `healthy` receivers on 127.0.0.2 and `hung` ones on 127.0.0.1 that take notifications and never
/// answer, notifies, and returns how long until every healthy one had its notification.
async fn race(
    db: TestDb,
    slots: Option<(usize, usize)>,
    healthy: usize,
    hung: usize,
) -> (TestApp, Duration, Vec<Receiver>) {
    let tweak = |c: &mut Config| {
        fast_delivery(c);
        c.delivery.timeout_ms = 2_000;
        if let Some((all, per_host)) = slots {
            c.delivery.concurrency = all;
            c.delivery.per_host_concurrency = per_host;
        }
    };
    let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
    let s = &app.services;
    let (ok, stuck) = healthy_and_hung(healthy, hung).await;
    let all: Vec<&Receiver> = stuck.iter().chain(ok.iter()).collect();
    subscribe_all(s, &all).await;
    let since = notify_all(s).await;
    let delivered = eventually(15, || ok.iter().all(|r| r.keys().len() == 1)).await;
    assert!(delivered, "every healthy receiver got its notification");
    (app, since.elapsed(), stuck)
}

both_backends!(
    a_subscriber_that_never_answers_delays_nobody_else_by_more_than_one_timeout,
    |db: TestDb| async move {
        // Five endpoints that never answer, four healthy ones. One worker sending one at a time
        // would make a healthy receiver wait 2 s for each hung endpoint ahead of it.
        let (_app, took, hung) = race(db, None, 4, 5).await;
        assert!(
            took < Duration::from_secs(2),
            "healthy receivers waited {took:?}"
        );
        let tried = || hung.iter().all(|r| !r.all.lock().unwrap().is_empty());
        assert!(
            eventually(10, tried).await,
            "the hung receivers were tried too"
        );
    }
);

both_backends!(
    one_slow_host_cannot_take_every_delivery_slot,
    |db: TestDb| async move {
        // Two slots, one per host; three hung endpoints share a host.
        let (_app, took, hung) = race(db, Some((2, 1)), 2, 3).await;
        assert!(
            took < Duration::from_millis(1_500),
            "healthy receivers waited {took:?}"
        );
        let in_flight = hung
            .iter()
            .filter(|r| !r.all.lock().unwrap().is_empty())
            .count();
        assert!(
            in_flight <= 1,
            "{in_flight} hung deliveries to one host at once"
        );
    }
);

/// Fast delivery with email through the sink on `port`.
fn with_mail(c: &mut Config, port: u16) {
    fast_delivery(c);
    c.smtp.host = "127.0.0.1".into();
    c.smtp.port = port;
}

/// The confirmation token in a confirmation message.
fn confirm_token(mail: &str) -> String {
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/confirm/"))
        .unwrap();
    link.rsplit('/').next().unwrap().to_owned()
}

both_backends!(
    a_full_page_refuses_new_subscribers_and_stores_and_sends_nothing,
    |db: TestDb| async move {
        let sink = smtp_sink().await;
        let tweak = |c: &mut Config| {
            with_mail(c, sink.port);
            c.delivery.max_subscribers_per_page = 4;
            c.delivery.max_pending_per_page = 2;
            c.delivery.subscribe_burst = 100; // The per-address limit has its own test.
        };
        let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
        let s = &app.services;
        let from = visitor();
        let email = |addr: &'static str| s.subscribe(&from, "api", SubscriberKind::Email, addr);
        let hooks: Vec<Receiver> = vec![
            receiver_on("127.0.0.1", Echo::Json, false).await,
            receiver_on("127.0.0.1", Echo::Json, false).await,
            receiver_on("127.0.0.1", Echo::Json, false).await,
        ];

        // Two unconfirmed addresses fill the pending allowance: a third address, and a webhook (which
        // would be pending while challenged), are refused; no mail, no challenge.
        email("first@example.com").await.unwrap();
        email("second@example.com").await.unwrap();
        let e = email("third@example.com").await.unwrap_err();
        assert!(matches!(e, ServiceError::Conflict(_)), "{e:?}");
        assert!(e.to_string().contains("awaiting confirmation"), "{e}");
        let e = subscribe_hook(s, &hooks[0]).await.unwrap_err();
        assert!(e.to_string().contains("awaiting confirmation"), "{e}");
        assert!(
            hooks[0].challenges.lock().unwrap().is_empty(),
            "not challenged"
        );
        let msgs = sink.messages.clone();
        assert!(eventually(10, || msgs.lock().unwrap().len() == 2).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent = msgs.lock().unwrap().clone();
        assert_eq!(sent.len(), 2, "no mail for the refused address");
        assert!(!sent.iter().any(|m| m.contains("third@")));

        // A confirmation frees pending room; two webhooks then reach the cap of four.
        s.confirm_subscription(&confirm_token(&sent[0]))
            .await
            .unwrap();
        subscribe_hook(s, &hooks[0]).await.unwrap();
        subscribe_hook(s, &hooks[1]).await.unwrap();
        let e = subscribe_hook(s, &hooks[2]).await.unwrap_err();
        assert!(e.to_string().contains("limit of 4 subscribers"), "{e}");
        assert!(
            hooks[2].challenges.lock().unwrap().is_empty(),
            "not challenged"
        );

        let targets = targets(s).await;
        assert_eq!(targets.len(), 4);
        assert!(!targets
            .iter()
            .any(|t| t.contains("third@") || *t == hooks[2].url));
    }
);

both_backends!(
    subscribing_is_rate_limited_per_address,
    |db: TestDb| async move {
        let sink = smtp_sink().await;
        let tweak = |c: &mut Config| {
            with_mail(c, sink.port);
            c.delivery.subscribe_burst = 2;
            c.delivery.subscribe_per_hour = 1;
        };
        let app = TestApp::spawn_with(db, tweak, Arc::new(SystemClock)).await;
        let s = &app.services;
        let visitor_browser = app.new_browser();
        let html = visitor_browser
            .get("/status/api/subscribe")
            .await
            .text()
            .await
            .unwrap();
        let csrf = form_token_in(&html).unwrap();
        let post = |kind: &'static str, target: String| {
            let (b, csrf) = (&visitor_browser, csrf.clone());
            async move {
                let form = [
                    ("form_token", csrf.as_str()),
                    ("kind", kind),
                    ("target", &target),
                ];
                b.post_form("/status/api/subscribe", &form).await
            }
        };

        // Act: two subscriptions use up the burst; the third request, and a webhook, are refused.
        for n in 0..2 {
            let r = post("email", format!("reader{n}@example.com")).await;
            assert_eq!(r.status(), 200);
        }
        let r = post("email", "reader2@example.com".into()).await;
        assert_eq!(r.status(), 429);
        assert!(r.text().await.unwrap().contains("try again in"));
        let hook = receiver_on("127.0.0.1", Echo::Json, false).await;
        let r = post("webhook", hook.url.clone()).await;
        assert_eq!(r.status(), 429);

        // Assert: nothing stored, nothing sent past the limit; another address is unaffected.
        assert!(hook.challenges.lock().unwrap().is_empty());
        assert_eq!(subscriber_count(s).await, 2);
        let msgs = sink.messages.clone();
        assert!(eventually(10, || msgs.lock().unwrap().len() == 2).await);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            msgs.lock().unwrap().len(),
            2,
            "no mail for the refused request"
        );
        let elsewhere = ClientAddr(IpAddr::from([192, 0, 2, 7]));
        s.subscribe(
            &elsewhere,
            "api",
            SubscriberKind::Email,
            "other@example.com",
        )
        .await
        .unwrap();
    }
);

both_backends!(
    an_unconfirmed_address_expires_and_frees_its_place,
    |db: TestDb| async move {
        let sink = smtp_sink().await;
        let clock = statusgate::clock::FixedClock::new(time::OffsetDateTime::now_utc());
        let tweak = |c: &mut Config| {
            with_mail(c, sink.port);
            c.delivery.max_pending_per_page = 1;
            c.delivery.confirm_ttl_hours = 1;
        };
        let app = TestApp::spawn_with(db, tweak, Arc::new(clock.clone())).await;
        let s = &app.services;
        let from = visitor();
        let email = |addr: &'static str| s.subscribe(&from, "api", SubscriberKind::Email, addr);
        email("first@example.com").await.unwrap();
        assert!(
            email("second@example.com").await.is_err(),
            "pending is full"
        );
        let msgs = sink.messages.clone();
        assert!(eventually(10, || msgs.lock().unwrap().len() == 1).await);
        let token = confirm_token(&msgs.lock().unwrap()[0]);

        // Act: the confirmation window passes.
        clock.advance(time::Duration::hours(2));

        // Assert: the old link is dead, and its place goes to a new address.
        let e = s.confirm_subscription(&token).await.unwrap_err();
        assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
        email("second@example.com").await.unwrap();
        let targets = targets(s).await;
        assert_eq!(targets, vec!["second@example.com".to_owned()]);
    }
);
