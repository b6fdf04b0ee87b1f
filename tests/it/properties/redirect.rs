//! Redirect-URI policy (`oauth::redirect`) over generated URIs: what `check` admits is always https with
//! a host, http on a loopback host, or allowlisted; and `matches` never lets a requested URI reach a
//! different host, path or query than the registered one.

use proptest::prelude::*;
use statusgate::oauth::redirect::{all_loopback, check, host_of, is_private_use, matches};

use super::{check as property, nasty_text};

const ALLOWED: &str = "cursor://anysphere.cursor-mcp/oauth/callback";

fn allowlist() -> Vec<String> {
    vec![ALLOWED.to_owned()]
}

/// URIs assembled from parts chosen to sit on the policy's edges, plus arbitrary text.
fn uri() -> BoxedStrategy<String> {
    let scheme = prop::sample::select(vec![
        "https",
        "http",
        "HTTPS",
        "Http",
        "cursor",
        "javascript",
        "file",
        "data",
        "",
    ]);
    let userinfo =
        prop::sample::select(vec!["", "user@", "user:pw@", ":@", "localhost@", "a%40b@"]);
    let host = prop::sample::select(vec![
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "127.1",
        "0x7f.1",
        "2130706433",
        "localhost.",
        "evil.example",
        "claude.ai",
        "xn--e1afmkfd.example",
        "",
        "%6c%6f%63alhost",
        "anysphere.cursor-mcp",
    ]);
    let port = prop::sample::select(vec!["", ":0", ":80", ":443", ":65535", ":65536", ":x", ":"]);
    let path = prop::sample::select(vec![
        "",
        "/",
        "/callback",
        "/callback/",
        "/cb/../cb",
        "/%2e%2e/",
        "/oauth/callback",
        "//evil.example",
        "/\\evil",
        "/a b",
    ]);
    let query = prop::sample::select(vec!["", "?", "?x=1", "?next=https://evil.example"]);
    let fragment = prop::sample::select(vec!["", "#", "#f"]);
    let sep = prop::sample::select(vec!["://", ":", ":/", ":///", ":\\\\"]);
    let built = (scheme, sep, userinfo, host, port, path, query, fragment)
        .prop_map(|(s, sep, u, h, p, pa, q, f)| format!("{s}{sep}{u}{h}{p}{pa}{q}{f}"));
    prop_oneof![4 => built, 1 => nasty_text(), 1 => Just(ALLOWED.to_owned())].boxed()
}

#[test]
fn an_accepted_redirect_uri_is_https_with_a_host_loopback_http_or_allowlisted() {
    property(4096, uri(), |u| {
        let allow = allowlist();
        if check(&u, &allow).is_err() || allow.contains(&u) {
            return Ok(());
        }
        let parsed = url::Url::parse(&u);
        prop_assert!(parsed.is_ok(), "accepted but unparseable: {u:?}");
        let parsed = parsed.unwrap();
        prop_assert!(!u.contains('#'), "accepted with a fragment: {u:?}");
        prop_assert!(
            parsed.username().is_empty() && parsed.password().is_none(),
            "{u:?}"
        );
        let host = parsed.host_str().unwrap_or_default();
        match parsed.scheme() {
            "https" => prop_assert!(!host.is_empty(), "https without a host: {u:?}"),
            "http" => prop_assert!(
                ["localhost", "127.0.0.1", "[::1]"].contains(&host),
                "http off loopback: {u:?}"
            ),
            other => prop_assert!(false, "scheme {other} accepted: {u:?}"),
        }
        // An accepted http(s) URI is one the consent page can name and the CSP can allow.
        prop_assert!(
            !is_private_use(&u) || u.to_ascii_lowercase().starts_with("http"),
            "{u:?}"
        );
        Ok(())
    });
}

#[test]
fn a_requested_uri_matches_only_its_registered_host_path_and_query() {
    property(4096, (uri(), uri()), |(registered, requested)| {
        prop_assert!(matches(&registered, &registered));
        if registered == requested || !matches(&registered, &requested) {
            return Ok(());
        }
        // Only the loopback port may differ; everything else is the registered URI's.
        let (a, b) = (
            url::Url::parse(&registered).unwrap(),
            url::Url::parse(&requested).unwrap(),
        );
        prop_assert_eq!(a.scheme(), "http");
        prop_assert_eq!(b.scheme(), "http");
        prop_assert_eq!(a.host_str(), b.host_str());
        prop_assert!(
            ["localhost", "127.0.0.1", "[::1]"].contains(&b.host_str().unwrap_or_default())
        );
        prop_assert_eq!(a.path(), b.path());
        prop_assert_eq!(a.query(), b.query());
        prop_assert!(b.fragment().is_none() && b.username().is_empty() && b.password().is_none());
        Ok(())
    });
}

#[test]
fn loopback_redirects_match_on_any_port() {
    let host = prop::sample::select(vec!["localhost", "127.0.0.1", "[::1]"]);
    property(
        1024,
        (host, any::<u16>(), "(/[a-z0-9]{0,8}){0,3}"),
        |(h, port, path)| {
            let registered = format!("http://{h}{path}");
            prop_assume!(check(&registered, &[]).is_ok());
            let requested = format!("http://{h}:{port}{path}");
            prop_assert!(
                matches(&registered, &requested),
                "{registered} vs {requested}"
            );
            Ok(())
        },
    );
}

#[test]
fn the_helpers_never_panic_on_any_text() {
    property(4096, prop::collection::vec(uri(), 0..4), |uris| {
        for u in &uris {
            let _ = host_of(u);
            let _ = is_private_use(u);
        }
        // The consent page's warning is for lists of loopback URIs only, never an empty list.
        if all_loopback(&uris) {
            prop_assert!(!uris.is_empty());
            prop_assert!(
                uris.iter()
                    .all(|u| u.to_ascii_lowercase().starts_with("http:")),
                "{uris:?}"
            );
        }
        Ok(())
    });
}

/// A registrable URI with a control character or whitespace slipped in somewhere.
fn uri_with_control() -> BoxedStrategy<String> {
    let base = prop::sample::select(vec![
        "https://client.example/callback",
        "http://127.0.0.1:8080/callback",
        "http://localhost/cb?x=1",
    ]);
    let bad = prop::sample::select(vec![
        '\0', '\t', '\n', '\r', ' ', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}',
    ]);
    (base, bad, any::<prop::sample::Index>())
        .prop_map(|(b, c, at)| {
            let i = 8 + at.index(b.len() - 8);
            format!("{}{c}{}", &b[..i], &b[i..])
        })
        .boxed()
}

#[test]
#[ignore = "check accepts URIs with whitespace or control characters (Url::parse cleans them, the raw text is stored)"]
fn an_accepted_redirect_uri_has_no_whitespace_or_control_characters() {
    property(1024, prop_oneof![uri(), uri_with_control()], |u| {
        if check(&u, &allowlist()).is_ok() {
            prop_assert!(
                !u.chars().any(|c| c.is_control() || c.is_whitespace()),
                "accepted {u:?}"
            );
        }
        Ok(())
    });
}
