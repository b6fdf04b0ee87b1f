//! Why a database cannot be opened, in one line an operator can act on: `connection refused at
//! 127.0.0.1:5999`, `permission denied: /var/lib/x.db`, `authentication failed for user "u"`, rather
//! than sqlx's "pool timed out" or our own "database error".
//!
//! A pool retries a refused connection until its acquire timeout and then reports only the timeout, so
//! the first connection is made alone, once, within [`CONNECT_TIMEOUT`], and its error is the one told.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::Connection;

use super::StoreError;

/// How long the first connection may take: a PostgreSQL host that never answers (a firewall dropping
/// packets, a wrong address) fails the start within this, instead of after the kernel's TCP timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens and closes one connection to `url`; the error says why it could not be made.
pub(super) async fn probe(options: &AnyConnectOptions, url: &str) -> Result<(), StoreError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect_with(options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(unavailable(&e, url)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no answer from {} within {} s",
            Target::of(url).address(),
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// The error of a failed connection to `url`, with its cause.
pub(super) fn unavailable(e: &sqlx::Error, url: &str) -> StoreError {
    StoreError::Unavailable(describe(e, &Target::of(url)))
}

/// What a URL points at, for messages: a SQLite file or a server's address and user.
enum Target {
    File { path: String, read_only: bool },
    Server { address: String, user: String },
}

impl Target {
    fn of(url: &str) -> Self {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.trim_start_matches("//");
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            return Self::File {
                path: path.to_owned(),
                read_only: query.contains("mode=ro"),
            };
        }
        match url::Url::parse(url) {
            Ok(u) => Self::Server {
                address: format!(
                    "{}:{}",
                    u.host_str().unwrap_or("localhost"),
                    u.port().unwrap_or(5432)
                ),
                user: u.username().to_owned(),
            },
            Err(_) => Self::Server {
                address: "the database server".to_owned(),
                user: String::new(),
            },
        }
    }

    fn address(&self) -> &str {
        match self {
            Self::File { path, .. } => path,
            Self::Server { address, .. } => address,
        }
    }
}

fn describe(e: &sqlx::Error, target: &Target) -> String {
    let at = target.address();
    match e {
        sqlx::Error::Io(io) => io_cause(at, io),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match target {
                // 28P01 wrong password, 28000 no such role or no pg_hba.conf entry.
                Target::Server { user, .. } if code.starts_with("28") => {
                    if db.message().contains("authentication failed") {
                        db.message().to_owned()
                    } else {
                        format!(
                            "authentication failed for user \"{user}\": {}",
                            db.message()
                        )
                    }
                }
                // SQLITE_CANTOPEN says nothing of why; the file system does.
                Target::File { path, read_only } if code == "14" => {
                    file_cause(Path::new(path), *read_only)
                        .unwrap_or_else(|| format!("cannot open {path}: {}", db.message()))
                }
                _ => db.message().to_owned(),
            }
        }
        sqlx::Error::Tls(t) => format!("TLS with {at} failed: {t}"),
        sqlx::Error::Configuration(c) => format!("the URL is not usable: {c}"),
        sqlx::Error::PoolTimedOut => format!("no connection to {at} in time"),
        other => other.to_string(),
    }
}

/// An I/O failure on `at` (a path or an address) as a short cause.
pub fn io_cause(at: &str, e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => format!("connection refused at {at}"),
        ErrorKind::PermissionDenied => format!("permission denied: {at}"),
        ErrorKind::TimedOut => format!("no answer from {at}"),
        ErrorKind::NotFound => format!("{at}: no such file or folder"),
        _ => format!("{at}: {e}"),
    }
}

/// Why the file system refuses `path`, found by trying what SQLite tried; `None` when it does not.
fn file_cause(path: &Path, read_only: bool) -> Option<String> {
    let shown = path.display().to_string();
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(!read_only)
        .open(path);
    match opened {
        Ok(_) => None,
        Err(e) if e.kind() == ErrorKind::NotFound && !read_only => {
            // The file does not exist: whether one may be made here is the question.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(_) => {
                    let _ = std::fs::remove_file(path);
                    None
                }
                Err(e) => Some(io_cause(&shown, &e)),
            }
        }
        Err(e) => Some(io_cause(&shown, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_name_the_address_or_path() {
        let refused = std::io::Error::from(ErrorKind::ConnectionRefused);
        let t = Target::of("postgres://u:secret@127.0.0.1:5999/x");
        assert_eq!(
            describe(&sqlx::Error::Io(refused), &t),
            "connection refused at 127.0.0.1:5999"
        );
        let denied = std::io::Error::from(ErrorKind::PermissionDenied);
        let t = Target::of("sqlite:///var/lib/x.db?mode=rwc");
        assert_eq!(
            describe(&sqlx::Error::Io(denied), &t),
            "permission denied: /var/lib/x.db"
        );
        assert_eq!(Target::of("postgres://db/x").address(), "db:5432");
    }
}
