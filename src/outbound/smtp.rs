//! A small SMTP client (RFC 5321) for one message at a time through the configured relay: EHLO, STARTTLS
//! (RFC 3207) or implicit TLS when configured, optional AUTH PLAIN, MAIL, RCPT, DATA with dot-stuffing,
//! QUIT. Every step is bounded by the relay timeout.

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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
    let timeout = Duration::from_millis(cfg.timeout_ms);
    let work = async {
        let stream = TcpStream::connect((cfg.host.as_str(), cfg.port))
            .await
            .map_err(|e| {
                fail(format!(
                    "cannot connect to SMTP relay {}:{}: {e}",
                    cfg.host, cfg.port
                ))
            })?;
        match cfg.tls {
            SmtpTls::None => {
                let mut s = BufReader::new(stream);
                greet(&mut s).await?;
                converse(s, cfg, mail).await
            }
            SmtpTls::Tls => {
                let mut s = BufReader::new(tls(stream, &cfg.host).await?);
                greet(&mut s).await?;
                converse(s, cfg, mail).await
            }
            SmtpTls::Starttls => {
                let mut s = BufReader::new(stream);
                let offers = greet(&mut s).await?;
                if !offers.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
                    return Err(fail(format!(
                        "SMTP relay {} does not offer STARTTLS",
                        cfg.host
                    )));
                }
                command(&mut s, "STARTTLS", 220).await?;
                // Nothing the relay sent before the handshake may be trusted or reused.
                let mut s = BufReader::new(tls(s.into_inner(), &cfg.host).await?);
                command(&mut s, "EHLO statusgate", 250).await?;
                converse(s, cfg, mail).await
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| fail(format!("SMTP relay {}:{} timed out", cfg.host, cfg.port)))?
}

/// Wraps the connection in TLS, checking the relay's certificate against the web PKI roots.
async fn tls(
    stream: TcpStream,
    host: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, OutboundError> {
    use tokio_rustls::rustls::{pki_types::ServerName, ClientConfig, RootCertStore};
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| fail(format!("{host} is not a valid TLS server name")))?;
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| fail(format!("TLS with SMTP relay {host} failed: {e}")))
}

/// Reads the greeting and says EHLO; returns the extensions the relay offers.
async fn greet<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
) -> Result<Vec<String>, OutboundError> {
    expect(s, 220).await?;
    write(s, "EHLO statusgate\r\n").await?;
    let lines = reply(s, 250).await?;
    Ok(lines.into_iter().skip(1).collect())
}

fn fail(msg: String) -> OutboundError {
    OutboundError::Failed(msg)
}

async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: BufReader<S>,
    cfg: &SmtpConfig,
    mail: &Email<'_>,
) -> Result<(), OutboundError> {
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
        command(&mut s, &format!("AUTH PLAIN {token}"), 235).await?;
    }
    command(&mut s, &format!("MAIL FROM:<{}>", clean(&cfg.from)), 250).await?;
    command(&mut s, &format!("RCPT TO:<{}>", clean(mail.to)), 250).await?;
    command(&mut s, "DATA", 354).await?;
    let data = message(cfg, mail);
    write(&mut s, &data).await?;
    expect(&mut s, 250).await?;
    // The message is accepted; a failed QUIT does not undo that.
    let _ = command(&mut s, "QUIT", 221).await;
    Ok(())
}

/// Header values and command arguments lose CR and LF (and every other control character), so
/// nothing can inject a header or an SMTP command.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// The body's lines, split at CRLF, bare LF and bare CR alike: each is sent ending in CRLF, so no bare
/// CR or LF reaches the relay (a relay that read one as a line end could be made to see a
/// `<CR><LF>.<CR><LF>` the sender never meant, RFC 5321 2.3.8 and 4.1.1.4).
fn body_lines(body: &str) -> impl Iterator<Item = &str> {
    body.split("\r\n").flat_map(|l| l.split(['\r', '\n']))
}

/// RFC 2047 encoded word when the subject is not plain ASCII.
fn subject(s: &str) -> String {
    let s = clean(s);
    if s.is_ascii() {
        s
    } else {
        format!(
            "=?utf-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }
}

fn message(cfg: &SmtpConfig, mail: &Email<'_>) -> String {
    let date = mail
        .date
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut out = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}@statusgate>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        clean(&cfg.from),
        clean(mail.to),
        subject(mail.subject),
        clean(mail.message_id),
    );
    for line in body_lines(mail.body) {
        // Dot-stuffing (RFC 5321 4.5.2): a line starting with "." gets another.
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    text: &str,
) -> Result<(), OutboundError> {
    s.get_mut()
        .write_all(text.as_bytes())
        .await
        .map_err(|e| fail(format!("SMTP write failed: {e}")))?;
    s.get_mut()
        .flush()
        .await
        .map_err(|e| fail(format!("SMTP write failed: {e}")))
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    line: &str,
    code: u16,
) -> Result<(), OutboundError> {
    write(s, &format!("{line}\r\n")).await?;
    expect(s, code).await
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    code: u16,
) -> Result<(), OutboundError> {
    reply(s, code).await.map(|_| ())
}

/// Reads one reply; returns the text of each line after the code.
async fn reply<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    code: u16,
) -> Result<Vec<String>, OutboundError> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = s
            .read_line(&mut line)
            .await
            .map_err(|e| fail(format!("SMTP read failed: {e}")))?;
        if n == 0 {
            return Err(fail("SMTP relay closed the connection".into()));
        }
        let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if got != code {
            return Err(fail(format!("SMTP relay answered: {}", line.trim_end())));
        }
        lines.push(line.get(4..).unwrap_or_default().trim_end().to_owned());
        // "250-..." continues, "250 ..." ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_dot_stuffed_and_headers_cannot_be_injected() {
        let cfg = SmtpConfig::default();
        let m = message(
            &cfg,
            &Email {
                to: "a@example.com\r\nBcc: x@evil.test",
                subject: "Hi",
                body: "one\n.two",
                message_id: "ntf_1",
                date: time::OffsetDateTime::UNIX_EPOCH,
            },
        );
        assert!(m.contains("\r\n..two\r\n"));
        assert!(!m.contains("\r\nBcc:"));
        assert!(m.ends_with("\r\n.\r\n"));
    }

    #[test]
    fn bare_cr_and_lf_become_crlf_and_cannot_end_the_data_early() {
        let cfg = SmtpConfig::default();
        let m = message(
            &cfg,
            &Email {
                to: "a@example.com",
                subject: "Down\rRCPT TO:<x@evil.test>\nBcc: y@evil.test",
                body: "one\r.\rMAIL FROM:<x@evil.test>\n.\nthree\r\nfour",
                message_id: "ntf_1\r\n",
                date: time::OffsetDateTime::UNIX_EPOCH,
            },
        );
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
        // The smuggled dots are stuffed, so the only end of data is the real one.
        assert_eq!(m.matches("\r\n.\r\n").count(), 1, "{m:?}");
        assert!(
            m.contains("\r\none\r\n..\r\nMAIL FROM:<x@evil.test>\r\n..\r\nthree\r\nfour\r\n.\r\n")
        );
        // Header values stay on their one line.
        assert!(
            m.contains("Subject: DownRCPT TO:<x@evil.test>Bcc: y@evil.test\r\n"),
            "{m:?}"
        );
        assert!(!m.contains("\r\nBcc:") && !m.contains("\r\nRCPT"));
    }
}
