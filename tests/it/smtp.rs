//! Email through lettre against a local relay: a line holding only a dot is stuffed, so the message
//! cannot end early, and the headers arrive as written.

use statusgate::config::{SmtpConfig, SmtpTls};
use statusgate::outbound::smtp::{send, Email};

use crate::loopback::smtp_sink;

#[tokio::test]
async fn a_lone_dot_in_the_body_is_stuffed_and_the_whole_message_arrives() {
    let sink = smtp_sink().await;
    let cfg = SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        tls: SmtpTls::None,
        from: "Status <status@acme.test>".into(),
        timeout_ms: 2_000,
        ..SmtpConfig::default()
    };
    let mail = Email {
        to: "reader@example.com",
        subject: "Résolu: queue delays",
        body: "one\n.\ntwo\r\n.\r\nthree",
        message_id: "ntf_42",
        date: time::OffsetDateTime::UNIX_EPOCH,
    };
    send(&cfg, &mail).await.unwrap();
    let got = sink.messages.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(m.contains("\none\n..\ntwo\n..\nthree\n"), "{m}");
    assert!(m.contains("From: Status <status@acme.test>"), "{m}");
    assert!(m.contains("To: reader@example.com"), "{m}");
    assert!(m.contains("Message-ID: <ntf_42@statusgate>"), "{m}");
    // A non-ASCII subject is an encoded word, never raw 8-bit in a header.
    assert!(m.contains("Subject: =?utf-8?"), "{m}");
}
