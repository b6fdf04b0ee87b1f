//! The outbound guard (`outbound`) over generated addresses and URLs: every address in a range the guard
//! documents as internal is refused however it is written, and an IPv6 address that carries an IPv4
//! one (mapped, compatible, SIIT, NAT64, 6to4, Teredo) is judged by that IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use statusgate::outbound::{is_internal, parse_webhook_url, resolve_checked, OutboundError};

use super::{check, nasty_text};

/// An IPv4 address inside one of the ranges the guard documents as internal.
fn internal_v4() -> BoxedStrategy<Ipv4Addr> {
    // (network, prefix length)
    let ranges: Vec<(u32, u32)> = vec![
        (0x0000_0000, 8),  // "this network"
        (0x0a00_0000, 8),  // private
        (0x6440_0000, 10), // shared (CGNAT)
        (0x7f00_0000, 8),  // loopback
        (0xa9fe_0000, 16), // link-local, cloud metadata
        (0xac10_0000, 12), // private
        (0xc0a8_0000, 16), // private
        (0xe000_0000, 4),  // multicast
        (0xffff_ffff, 32), // broadcast
    ];
    (prop::sample::select(ranges), any::<u32>())
        .prop_map(|((net, len), r)| {
            let host = if len == 32 { 0 } else { r >> len };
            Ipv4Addr::from(net | host)
        })
        .boxed()
}

/// An IPv6 address inside a range the guard documents as internal.
fn internal_v6() -> BoxedStrategy<Ipv6Addr> {
    let ranges: Vec<(u128, u32)> = vec![
        (1, 128),                 // loopback
        (0, 128),                 // unspecified
        (0xfc00_u128 << 112, 7),  // unique local
        (0xfe80_u128 << 112, 10), // link-local
        (0xff00_u128 << 112, 8),  // multicast
    ];
    (prop::sample::select(ranges), any::<u128>())
        .prop_map(|((net, len), r)| {
            let host = if len == 128 { 0 } else { r >> len };
            Ipv6Addr::from(net | host)
        })
        .boxed()
}

/// The IPv6 forms that carry an IPv4 address and reach it: mapped, compatible, SIIT (RFC 2765),
/// NAT64 (RFC 6052), 6to4 (RFC 3056) and Teredo (RFC 4380: the client's address inverted in the last
/// 32 bits, here behind the server 65.54.227.120 with the cone flag and port 40000).
fn carriers(v4: Ipv4Addr) -> [Ipv6Addr; 6] {
    let bits = u128::from(u32::from(v4));
    [
        v4.to_ipv6_mapped(),
        Ipv6Addr::from(bits),
        siit(v4),
        Ipv6Addr::from((0x0064_ff9b_u128 << 96) | bits),
        Ipv6Addr::from((0x2002_u128 << 112) | (bits << 80)),
        teredo(v4, 0x4136_e378, 0x8000, 40000),
    ]
}

fn siit(v4: Ipv4Addr) -> Ipv6Addr {
    Ipv6Addr::from((0xffff_u128 << 48) | u128::from(u32::from(v4)))
}

fn teredo(client: Ipv4Addr, server: u32, flags: u16, port: u16) -> Ipv6Addr {
    Ipv6Addr::from(
        (0x2001_u128 << 112)
            | (u128::from(server) << 64)
            | (u128::from(flags) << 48)
            | (u128::from(!port) << 32)
            | u128::from(!u32::from(client)),
    )
}

#[test]
fn every_documented_internal_address_is_internal() {
    check(4096, (internal_v4(), internal_v6()), |(v4, v6)| {
        prop_assert!(is_internal(IpAddr::V4(v4)), "{v4}");
        prop_assert!(is_internal(IpAddr::V6(v6)), "{v6}");
        Ok(())
    });
}

#[test]
fn an_ipv6_address_carrying_an_ipv4_one_is_judged_by_it() {
    check(4096, prop_oneof![internal_v4(), any::<Ipv4Addr>()], |v4| {
        let inside = is_internal(IpAddr::V4(v4));
        for v6 in carriers(v4) {
            if inside {
                prop_assert!(is_internal(IpAddr::V6(v6)), "{v6} carries {v4}");
            }
        }
        // The mapped form reaches exactly the IPv4 address, so it is judged exactly as that address.
        prop_assert_eq!(is_internal(IpAddr::V6(v4.to_ipv6_mapped())), inside);
        Ok(())
    });
}

#[test]
fn siit_and_teredo_addresses_are_judged_exactly_as_the_ipv4_address_they_carry() {
    let strategy = (
        prop_oneof![internal_v4(), any::<Ipv4Addr>()],
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
    );
    check(4096, strategy, |(v4, server, flags, port)| {
        let inside = is_internal(IpAddr::V4(v4));
        let siit = siit(v4);
        prop_assert_eq!(
            is_internal(IpAddr::V6(siit)),
            inside,
            "{} carries {}",
            siit,
            v4
        );
        // Whatever the Teredo server, flags and port, the client address decides.
        let t = teredo(v4, server, flags, port);
        prop_assert_eq!(is_internal(IpAddr::V6(t)), inside, "{} carries {}", t, v4);
        Ok(())
    });
}

/// The ways a URL can spell one IPv4 address: dotted, one number, hex, octal, shortened, or as IPv6.
fn spellings(v4: Ipv4Addr) -> Vec<String> {
    let n = u32::from(v4);
    let [a, b, c, d] = v4.octets();
    let mut out = vec![
        v4.to_string(),
        n.to_string(),
        format!("0x{n:x}"),
        format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),
        format!(
            "{a}.{}",
            u32::from(b) << 16 | u32::from(c) << 8 | u32::from(d)
        ),
    ];
    out.extend(carriers(v4).iter().map(|v6| format!("[{v6}]")));
    out
}

#[test]
fn an_internal_address_is_refused_however_the_url_spells_it() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    check(256, (internal_v4(), internal_v6()), |(v4, v6)| {
        let mut hosts = spellings(v4);
        hosts.push(format!("[{v6}]"));
        for host in hosts {
            let Ok(url) = parse_webhook_url(&format!("https://{host}:9/hook"), false) else {
                continue;
            };
            let got = rt.block_on(resolve_checked(&url, false));
            prop_assert!(
                matches!(got, Err(OutboundError::Refused(_))),
                "{url} was {got:?}"
            );
        }
        Ok(())
    });
}

#[test]
fn an_accepted_webhook_url_is_https_with_a_host_and_no_credentials() {
    let url = prop_oneof![
        3 => ("[a-zA-Z]{0,6}", prop::sample::select(vec!["://", ":", ":///"]), "[a-z0-9@:.\\[\\]%-]{0,30}", "[ -~]{0,20}")
            .prop_map(|(s, sep, h, rest)| format!("{s}{sep}{h}{rest}")),
        1 => nasty_text(),
    ];
    check(4096, (url, any::<bool>()), |(raw, allow_private)| {
        let Ok(url) = parse_webhook_url(&raw, allow_private) else {
            return Ok(());
        };
        prop_assert!(
            url.scheme() == "https" || (allow_private && url.scheme() == "http"),
            "{raw:?}"
        );
        prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{raw:?}");
        prop_assert!(
            url.username().is_empty() && url.password().is_none(),
            "{raw:?}"
        );
        Ok(())
    });
}
