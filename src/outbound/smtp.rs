//! Email through the configured relay, one message at a time, with lettre's SMTP client. `starttls`
//! requires the upgrade (a relay that does not offer it gets nothing) and `tls` speaks TLS from the
//! first byte; both check the relay's certificate against the web PKI roots (webpki-roots) and never
//! fall back to plain text. `none` is plain SMTP, only when configured. The whole exchange is bounded
//! by the relay timeout.

use std::time::Duration;

use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::OutboundError;
use crate::config::{SmtpConfig, SmtpTls};

pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// Unique per notification, so a resent message can be recognised as the same one.
    pub message_id: &'a str,
    pub date: time::OffsetDateTime,
}

pub async fn send(cfg: &SmtpConfig, mail: &Email<'_>) -> Result<(), OutboundError> {
    let message = message(cfg, mail)?;
    let transport = transport(cfg)?;
    let timeout = Duration::from_millis(cfg.timeout_ms);
    tokio::time::timeout(timeout, transport.send(message))
        .await
        .map_err(|_| fail(format!("SMTP relay {}:{} timed out", cfg.host, cfg.port)))?
        .map(|_| ())
        .map_err(|e| fail(describe(cfg, &e)))
}

fn transport(cfg: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, OutboundError> {
    let params = || {
        // TlsParameters::new verifies against webpki-roots (lettre's `rustls-tls` feature).
        TlsParameters::new(cfg.host.clone())
            .map_err(|e| fail(format!("{} is not a valid TLS server name: {e}", cfg.host)))
    };
    let tls = match cfg.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(params()?),
        SmtpTls::Tls => Tls::Wrapper(params()?),
    };
    // "Dangerous" only means lettre leaves the TLS choice to us; it is set just above.
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
        .port(cfg.port)
        .tls(tls)
        .timeout(Some(Duration::from_millis(cfg.timeout_ms)))
        .hello_name(ClientId::Domain("statusgate".into()));
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    Ok(builder.build())
}

/// One line naming what went wrong, in the words the delivery log and the tests use.
fn describe(cfg: &SmtpConfig, e: &lettre::transport::smtp::Error) -> String {
    let text = super::error_chain(e);
    let io_kind = io_kind(e);
    use std::io::ErrorKind as K;
    if cfg.tls == SmtpTls::Starttls && e.is_client() && text.contains("STARTTLS") {
        return format!("SMTP relay {} does not offer STARTTLS", cfg.host);
    }
    let unreachable = matches!(
        io_kind,
        Some(
            K::ConnectionRefused
                | K::AddrNotAvailable
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::NotFound
        )
    ) || text.contains("could not resolve");
    if unreachable {
        return format!(
            "cannot connect to SMTP relay {}:{}: {text}",
            cfg.host, cfg.port
        );
    }
    if e.is_timeout() {
        return format!("SMTP relay {}:{} timed out", cfg.host, cfg.port);
    }
    if cfg.tls != SmtpTls::None && (e.is_tls() || io_kind == Some(K::InvalidData)) {
        return format!("TLS with SMTP relay {} failed: {text}", cfg.host);
    }
    format!("SMTP relay {}:{}: {text}", cfg.host, cfg.port)
}

fn io_kind(e: &dyn std::error::Error) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

fn fail(msg: String) -> OutboundError {
    OutboundError::Failed(msg)
}

/// Header values lose CR and LF (and every other control character), so nothing can inject a header.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// The body's lines, split at CRLF, bare LF and bare CR alike: each is sent ending in CRLF, so no bare
/// CR or LF reaches the relay (a relay that read one as a line end could be made to see a
/// `<CR><LF>.<CR><LF>` the sender never meant, RFC 5321 2.3.8 and 4.1.1.4). Dot-stuffing is lettre's.
fn body_text(body: &str) -> String {
    body.split("\r\n")
        .flat_map(|l| l.split(['\r', '\n']))
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn mailbox(what: &str, s: &str) -> Result<Mailbox, OutboundError> {
    clean(s)
        .parse()
        .map_err(|e| fail(format!("{what} address `{}` is not valid: {e}", clean(s))))
}

fn message(cfg: &SmtpConfig, mail: &Email<'_>) -> Result<Message, OutboundError> {
    let text = body_text(mail.body);
    // Sent as written (7bit, or 8bit with non-ASCII text, as relays offering 8BITMIME accept) while every
    // line fits SMTP's 998 octets: lettre would otherwise wrap lines past 76 characters in
    // quoted-printable, breaking the links people copy from plain-text readers. Longer lines are left
    // to lettre's encoder.
    let fits = text.split("\r\n").all(|l| l.len() <= 998) && !text.contains('\0');
    let body = if fits {
        let encoding = if text.is_ascii() {
            ContentTransferEncoding::SevenBit
        } else {
            ContentTransferEncoding::EightBit
        };
        Body::dangerous_pre_encoded(text.into_bytes(), encoding)
    } else {
        Body::new(text)
    };
    Message::builder()
        .from(mailbox("from", &cfg.from)?)
        .to(mailbox("recipient", mail.to)?)
        .subject(clean(mail.subject))
        .date(mail.date.into())
        .message_id(Some(format!("<{}@statusgate>", clean(mail.message_id))))
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| fail(format!("cannot build the message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(to: &str, subject: &str, body: &str, id: &str) -> Result<String, OutboundError> {
        let cfg = SmtpConfig::default();
        let m = message(
            &cfg,
            &Email {
                to,
                subject,
                body,
                message_id: id,
                date: time::OffsetDateTime::UNIX_EPOCH,
            },
        )?;
        Ok(String::from_utf8_lossy(&m.formatted()).into_owned())
    }

    #[test]
    fn long_lines_keep_their_links_whole() {
        let link = format!("https://status.example.com/invite/{}", "ab".repeat(40));
        let m = formatted("a@example.com", "Hi", &format!("Accept: {link}\nbye"), "i").unwrap();
        assert!(
            m.contains(&link) && m.contains("Content-Transfer-Encoding: 7bit"),
            "{m}"
        );
        let m = formatted("a@example.com", "Hi", &format!("Résolu: {link}"), "i").unwrap();
        assert!(
            m.contains(&link) && m.contains("Content-Transfer-Encoding: 8bit"),
            "{m}"
        );
    }

    #[test]
    fn a_recipient_with_a_smuggled_header_is_refused_or_kept_on_its_line() {
        match formatted("a@example.com\r\nBcc: x@evil.test", "Hi", "one", "ntf_1") {
            Ok(m) => assert!(!m.contains("\r\nBcc:"), "{m:?}"),
            Err(e) => assert!(e.to_string().contains("recipient"), "{e}"),
        }
    }

    #[test]
    fn bare_cr_and_lf_become_crlf_and_headers_stay_on_their_line() {
        let m = formatted(
            "a@example.com",
            "Down\rRCPT TO:<x@evil.test>\nBcc: y@evil.test",
            "one\r.\rMAIL FROM:<x@evil.test>\n.\nthree\r\nfour",
            "ntf_1\r\n",
        )
        .unwrap();
        // Every CR is followed by LF and every LF preceded by CR.
        let bytes = m.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\r' {
                assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}: {m:?}");
            }
            if *b == b'\n' {
                assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i}: {m:?}");
            }
        }
        assert!(m.contains("\r\none\r\n.\r\nMAIL FROM:<x@evil.test>\r\n.\r\nthree\r\nfour"));
        assert!(!m.contains("\r\nBcc:") && !m.contains("\r\nRCPT"), "{m:?}");
        assert!(m.contains("Message-ID: <ntf_1@statusgate>"), "{m:?}");
    }
}
