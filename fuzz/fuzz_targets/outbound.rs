//! The outbound guard: an IPv6 address carrying an internal IPv4 one is internal, and a webhook URL that
//! is accepted is https (or http when private targets are allowed) with a host and no credentials.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use statusgate::outbound::{is_internal, parse_webhook_url};

fuzz_target!(|input: ([u8; 4], [u8; 16], &str, bool)| {
    let (v4, v6, raw, allow_private) = input;
    let v4 = Ipv4Addr::from(v4);
    let inside = is_internal(IpAddr::V4(v4));
    assert_eq!(is_internal(IpAddr::V6(v4.to_ipv6_mapped())), inside);
    if inside {
        let bits = u128::from(u32::from(v4));
        for carrier in [
            bits,
            (0x0064_ff9b_u128 << 96) | bits,
            (0x2002_u128 << 112) | (bits << 80),
        ] {
            assert!(is_internal(IpAddr::V6(Ipv6Addr::from(carrier))));
        }
    }
    let _ = is_internal(IpAddr::V6(Ipv6Addr::from(v6)));
    if let Ok(url) = parse_webhook_url(raw, allow_private) {
        assert!(url.scheme() == "https" || (allow_private && url.scheme() == "http"));
        assert!(url.host_str().is_some_and(|h| !h.is_empty()));
        assert!(url.username().is_empty() && url.password().is_none());
    }
});
