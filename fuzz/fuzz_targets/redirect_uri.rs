//! Redirect-URI policy: what `check` accepts is https with a host, http on a loopback host, or on the
//! allowlist; `matches` lets a requested URI differ from the registered one only in a loopback port.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statusgate::oauth::redirect::{all_loopback, check, host_of, is_private_use, matches};

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

fuzz_target!(|input: (&str, &str)| {
    let (registered, requested) = input;
    let allow = vec!["cursor://anysphere.cursor-mcp/oauth/callback".to_owned()];
    if check(registered, &allow).is_ok() && !allow.iter().any(|a| a == registered) {
        let u = url::Url::parse(registered).expect("accepted URIs parse");
        assert!(!registered.contains('#') && u.username().is_empty() && u.password().is_none());
        let host = u.host_str().unwrap_or_default();
        match u.scheme() {
            "https" => assert!(!host.is_empty()),
            "http" => assert!(LOOPBACK.contains(&host)),
            other => panic!("scheme {other} accepted"),
        }
    }
    if registered != requested && matches(registered, requested) {
        let (a, b) = (
            url::Url::parse(registered).expect("matched URIs parse"),
            url::Url::parse(requested).expect("matched URIs parse"),
        );
        assert_eq!((a.scheme(), b.scheme()), ("http", "http"));
        assert_eq!(a.host_str(), b.host_str());
        assert!(LOOPBACK.contains(&b.host_str().unwrap_or_default()));
        assert_eq!((a.path(), a.query()), (b.path(), b.query()));
        assert!(b.fragment().is_none() && b.username().is_empty() && b.password().is_none());
    }
    let _ = (host_of(registered), is_private_use(requested));
    let _ = all_loopback(&[registered.to_owned(), requested.to_owned()]);
});
