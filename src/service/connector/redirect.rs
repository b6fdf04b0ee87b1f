//! Redirect-URI policy (RFC 8252, OAuth 2.1, checklist D1 and D3): what may be registered, and whether a
//! requested URI matches a registered one. Loopback URIs match with the port ignored; all else is exact.

use url::Url;

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// At most this many redirect URIs per client (VS Code, the most, registers four).
pub const MAX_URIS: usize = 10;
/// Longest redirect URI accepted, in bytes: a stored client stays small.
pub const MAX_URI_LEN: usize = 2048;

/// Why a URI cannot be registered.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotAUrl,
    Fragment,
    Userinfo,
    Scheme,
    TooLong,
}

/// Accepts https, http on a loopback host, or a private-use URI on the operator's exact allowlist.
pub fn check(uri: &str, private_allowlist: &[String]) -> Result<(), Refusal> {
    if uri.len() > MAX_URI_LEN {
        return Err(Refusal::TooLong);
    }
    // Url::parse would quietly drop tabs and newlines, leaving a stored URI that differs from what is
    // matched later; such a URI is simply not one.
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Refusal::NotAUrl);
    }
    if private_allowlist.iter().any(|a| a == uri) {
        return Ok(());
    }
    let url = Url::parse(uri).map_err(|_| Refusal::NotAUrl)?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(Refusal::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Userinfo);
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err(Refusal::Scheme),
    }
}

fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|h| LOOPBACK_HOSTS.contains(&h))
}

pub use crate::domain::connector::is_private_use;

/// Whether every registered URI is on a loopback host (the consent page warns about those).
pub fn all_loopback(registered: &[String]) -> bool {
    !registered.is_empty()
        && registered
            .iter()
            .all(|r| Url::parse(r).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u)))
}

/// Exact string match, except that two http loopback URIs match when scheme, host, path and query agree.
/// Hosts stay distinct: `localhost` does not match `127.0.0.1`.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(a), Ok(b)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    a.scheme() == "http"
        && b.scheme() == "http"
        && is_loopback(&a)
        && a.host_str() == b.host_str()
        && a.path() == b.path()
        && a.query() == b.query()
        && b.fragment().is_none()
        && b.username().is_empty()
        && b.password().is_none()
}

/// The host shown on the consent page.
pub fn host_of(uri: &str) -> String {
    Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| uri.split(':').next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow() -> Vec<String> {
        vec!["cursor://anysphere.cursor-mcp/oauth/callback".into()]
    }

    #[test]
    fn registration_policy() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://localhost:8787/callback",
            "http://127.0.0.1/",
            "http://[::1]:5000/cb",
            "cursor://anysphere.cursor-mcp/oauth/callback",
        ] {
            assert_eq!(check(ok, &allow()), Ok(()), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "https://x.example/cb#frag",
            "https://user:pw@x.example/cb",
            "javascript:alert(1)",
            "cursor://anysphere.cursor-mcp/oauth/other",
            "vscode://x/y",
            "not a url",
            &format!("https://x.example/{}", "a".repeat(MAX_URI_LEN)),
        ] {
            assert!(check(bad, &allow()).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_are_ignored_but_hosts_and_paths_are_not() {
        assert!(matches(
            "http://localhost/callback",
            "http://localhost:49536/callback"
        ));
        assert!(matches("http://127.0.0.1:33418/", "http://127.0.0.1:5555/"));
        assert!(matches("http://[::1]/cb", "http://[::1]:5000/cb"));
        assert!(!matches(
            "http://localhost/callback",
            "http://127.0.0.1:1/callback"
        ));
        assert!(!matches(
            "http://localhost/callback",
            "http://localhost:1/callback/"
        ));
        assert!(!matches("https://a.example/cb", "https://a.example:444/cb"));
        assert!(!matches("https://a.example/cb", "https://a.example/cb/"));
    }
}
