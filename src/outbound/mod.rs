//! Outbound network calls: monitor checks, signed webhook POSTs and SMTP. Addresses a visitor chose are
//! resolved here, checked, and connected to as checked, so a DNS answer cannot change between the check
//! and the connection. Every address is public, private (allowed only where the operator says so) or
//! forbidden (link-local, cloud metadata, reserved: never).

pub mod check;
pub mod fetch;
pub mod smtp;
pub mod webhook;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an outbound target was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// How far an outbound target may be trusted, judged by its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Globally reachable.
    Public,
    /// Loopback and private networks: intranet services, reached only where an operator allows it.
    Private,
    /// Link-local (where cloud metadata services answer), known metadata endpoints, unspecified,
    /// multicast, broadcast and reserved addresses: never a target, whatever the configuration.
    Forbidden,
}

/// Cloud metadata endpoints outside the link-local ranges: AWS's IPv6 instance metadata (inside
/// fc00::/7), Alibaba Cloud's (inside 100.64.0.0/10) and Azure's wire server (a public address).
const METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)];
const METADATA_V4: [Ipv4Addr; 2] = [
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];

/// Judges an address. IPv6 forms that carry an IPv4 address (mapped, compatible, SIIT ::ffff:0:0/96,
/// NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32) are judged by that IPv4 address, since that
/// is where a translator or relay on the path sends the packets.
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => reach_v4(v4),
            None => reach_v6(v6),
        },
    }
}

/// Anything but a public address: nothing a visitor may point us at.
pub fn is_internal(ip: IpAddr) -> bool {
    reach(ip) != Reach::Public
}

/// Refuses `ip` as a target: forbidden addresses always, private ones unless `allow_private`.
pub fn check_target(ip: IpAddr, allow_private: bool) -> Result<(), OutboundError> {
    match refused_as(ip, allow_private) {
        Some(what) => Err(OutboundError::Refused(format!("{ip} is {what}"))),
        None => Ok(()),
    }
}

/// What kind of refused address `ip` is, if it is refused.
pub(crate) fn refused_as(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    match reach(ip) {
        Reach::Public => None,
        Reach::Private if allow_private => None,
        Reach::Private => Some("a loopback or private address"),
        Reach::Forbidden => {
            Some("a link-local, cloud metadata or reserved address, never a permitted target")
        }
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if ip.is_link_local()
        || METADATA_V4.contains(&ip)
        || a == 0
        || a >= 224 // multicast 224.0.0.0/4, reserved 240.0.0.0/4 and broadcast
        || (a, b, c) == (192, 0, 0)
    {
        Reach::Forbidden
    } else if ip.is_loopback()
        || ip.is_private()
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 198 && (b == 18 || b == 19))
    // benchmarking networks
    {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let first = ip.segments()[0];
    if ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xffc0) == 0xfe80 // link-local
        || METADATA_V6.contains(&ip)
    {
        Reach::Forbidden
    } else if ip.is_loopback()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed inside some sites)
        || ip.segments()[..3] == [0x64, 0xff9b, 1]
    // local-use NAT64 64:ff9b:1::/48
    {
        Reach::Private
    } else {
        Reach::Public
    }
}

/// The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), SIIT
/// IPv4-translated (::ffff:0:a.b.c.d, RFC 2765), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::) or
/// Teredo (2001:0:…) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        // :: and ::1 are IPv6's own unspecified and loopback addresses, not embeddings.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        // Teredo (RFC 4380): a relay delivers to the client's IPv4 address, stored in the last 32
        // bits inverted (the server's address in bits 32..64 only helps the client qualify).
        [0x2001, 0, _, _, _, _, hi, lo] => {
            Some(Ipv4Addr::from(!((u32::from(hi) << 16) | u32::from(lo))))
        }
        _ => None,
    }
}

/// The longest webhook URL taken, as given and as normalised: a visitor's URL is stored and shown to
/// admins, and real endpoints are far shorter.
pub const MAX_WEBHOOK_URL_BYTES: usize = 2048;

/// Parses a visitor-supplied webhook URL: at most [`MAX_WEBHOOK_URL_BYTES`], https only unless
/// `allow_private`, and a host.
pub fn parse_webhook_url(raw: &str, allow_private: bool) -> Result<reqwest::Url, OutboundError> {
    let too_long = || {
        OutboundError::Refused(format!(
            "webhook URL must be at most {MAX_WEBHOOK_URL_BYTES} bytes"
        ))
    };
    if raw.trim().len() > MAX_WEBHOOK_URL_BYTES {
        return Err(too_long());
    }
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| OutboundError::Refused("webhook URL is not a valid URL".into()))?;
    if url.as_str().len() > MAX_WEBHOOK_URL_BYTES {
        return Err(too_long());
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(OutboundError::Refused("webhook URL must use https".into())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(OutboundError::Refused(
            "webhook URL must name a host".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::Refused(
            "webhook URL must not carry credentials".into(),
        ));
    }
    Ok(url)
}

/// Refuses the name when any address it resolved to may not be used: one internal answer among
/// public ones is enough for a rebinding attack to pick it.
fn check_all(host: &str, addrs: &[SocketAddr], allow_private: bool) -> Result<(), OutboundError> {
    match addrs
        .iter()
        .find_map(|a| refused_as(a.ip(), allow_private).map(|what| (a.ip(), what)))
    {
        Some((ip, what)) => Err(OutboundError::Refused(format!(
            "{host} resolves to {ip}, {what}"
        ))),
        None => Ok(()),
    }
}

/// Resolves the URL's host and returns one address that may be used. With `allow_private` false every
/// resolved address must be public: a name that also resolves inside is refused outright. Forbidden
/// addresses (link-local, metadata) are refused even with `allow_private`.
pub async fn resolve_checked(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<SocketAddr, OutboundError> {
    let host = url
        .host_str()
        .ok_or_else(|| OutboundError::Refused("URL has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| OutboundError::Failed(format!("cannot resolve {host}: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(OutboundError::Failed(format!("{host} has no address")));
    }
    check_all(host, &addrs, allow_private)?;
    Ok(addrs[0])
}

/// An error with its causes on one line ("database error: no such table: x").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:101::1",
        ] {
            let ip: IpAddr = s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(is_internal(ip), "{s}");
        }
        for s in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "1.1.1.1",
            "64:ff9b::101:101",
            "2002:101:101::1",
        ] {
            let ip: IpAddr = s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(!is_internal(ip), "{s}");
        }
    }

    fn judged(s: &str) -> Reach {
        reach(s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }

    #[test]
    fn nat64_and_6to4_addresses_are_judged_by_their_ipv4_address() {
        assert_eq!(
            judged("64:ff9b::7f00:1"),
            Reach::Private,
            "NAT64 of 127.0.0.1"
        );
        assert_eq!(
            judged("64:ff9b::a9fe:a9fe"),
            Reach::Forbidden,
            "NAT64 of 169.254.169.254"
        );
        assert_eq!(
            judged("64:ff9b::808:808"),
            Reach::Public,
            "NAT64 of 8.8.8.8"
        );
        assert_eq!(judged("2002:a00:1::1"), Reach::Private, "6to4 of 10.0.0.1");
        assert_eq!(
            judged("2002:a9fe:a9fe::"),
            Reach::Forbidden,
            "6to4 of 169.254.169.254"
        );
        assert_eq!(judged("2002:808:808::1"), Reach::Public, "6to4 of 8.8.8.8");
        assert_eq!(judged("64:ff9b:1::1"), Reach::Private, "local-use NAT64");
    }

    #[test]
    fn ipv4_compatible_addresses_are_judged_by_their_ipv4_address() {
        assert_eq!(judged("::127.0.0.1"), Reach::Private);
        assert_eq!(judged("::169.254.169.254"), Reach::Forbidden);
        assert_eq!(judged("::10.1.2.3"), Reach::Private);
        assert_eq!(judged("::ffff:169.254.169.254"), Reach::Forbidden);
        assert_eq!(judged("::1"), Reach::Private, "IPv6 loopback, not 0.0.0.1");
        assert_eq!(judged("::"), Reach::Forbidden, "unspecified");
    }

    #[test]
    fn siit_and_teredo_addresses_are_judged_by_their_ipv4_address() {
        assert_eq!(
            judged("::ffff:0:10.0.0.1"),
            Reach::Private,
            "SIIT of 10.0.0.1"
        );
        assert_eq!(
            judged("::ffff:0:a9fe:a9fe"),
            Reach::Forbidden,
            "SIIT of metadata"
        );
        assert_eq!(
            judged("::ffff:0:7f00:1"),
            Reach::Private,
            "SIIT of loopback"
        );
        assert_eq!(judged("::ffff:0:808:808"), Reach::Public, "SIIT of 8.8.8.8");
        // 2001:0:4136:e378:8000:63bf:f5ff:fffe is Teredo's client 10.0.0.1 behind server 65.54.227.120.
        assert_eq!(
            judged("2001:0:4136:e378:8000:63bf:f5ff:fffe"),
            Reach::Private,
            "Teredo client 10.0.0.1"
        );
        assert_eq!(
            judged("2001:0:4136:e378:8000:63bf:5601:5601"),
            Reach::Forbidden,
            "Teredo client 169.254.169.254 (inverted a9fe:a9fe)"
        );
        assert_eq!(
            judged("2001:0:4136:e378:8000:63bf:f7f7:f7f7"),
            Reach::Public,
            "Teredo client 8.8.8.8"
        );
        assert_eq!(
            judged("2001:db8::1"),
            Reach::Public,
            "outside 2001::/32: not Teredo"
        );
    }

    #[test]
    fn site_local_ipv6_is_private() {
        assert_eq!(judged("fec0::1"), Reach::Private);
        assert_eq!(judged("feff:ffff::1"), Reach::Private);
        assert_eq!(judged("fe80::1"), Reach::Forbidden, "link-local");
    }

    #[test]
    fn benchmarking_reserved_and_protocol_ranges_are_internal() {
        assert_eq!(judged("198.18.0.1"), Reach::Private);
        assert_eq!(judged("198.19.255.254"), Reach::Private);
        assert_eq!(judged("198.20.0.1"), Reach::Public);
        assert_eq!(judged("240.0.0.1"), Reach::Forbidden);
        assert_eq!(judged("255.255.255.255"), Reach::Forbidden);
        assert_eq!(judged("192.0.0.8"), Reach::Forbidden);
        assert_eq!(judged("192.0.1.1"), Reach::Public);
    }

    #[test]
    fn metadata_endpoints_are_forbidden_even_when_private_targets_are_allowed() {
        for s in [
            "169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "168.63.129.16",
            "fe80::a9fe:a9fe",
        ] {
            let ip: IpAddr = s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert_eq!(reach(ip), Reach::Forbidden, "{s}");
            assert!(check_target(ip, true).is_err(), "{s}");
        }
        for s in ["127.0.0.1", "10.0.0.1", "fd00::1", "::1"] {
            let ip: IpAddr = s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(check_target(ip, true).is_ok(), "{s}");
            assert!(check_target(ip, false).is_err(), "{s}");
        }
    }

    #[test]
    fn webhook_urls_need_https_unless_private_targets_are_allowed() {
        assert!(parse_webhook_url("https://hooks.example.com/x", false).is_ok());
        assert!(parse_webhook_url("http://hooks.example.com/x", false).is_err());
        assert!(parse_webhook_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(parse_webhook_url("https://u:p@hooks.example.com/", false).is_err());
        assert!(parse_webhook_url("not a url", true).is_err());
    }

    #[test]
    fn webhook_urls_are_capped_at_2_kib() {
        let url = |path_len: usize| format!("https://hooks.example.com/{}", "a".repeat(path_len));
        let fits = url(MAX_WEBHOOK_URL_BYTES - "https://hooks.example.com/".len());
        assert!(parse_webhook_url(&fits, false).is_ok());
        let e = parse_webhook_url(&url(MAX_WEBHOOK_URL_BYTES), false).unwrap_err();
        assert!(e.to_string().contains("at most 2048 bytes"), "{e}");
        // Percent-encoding lengthens it: the stored form is measured too.
        let spaces = format!("https://hooks.example.com/a{}b", " ".repeat(700));
        assert!(parse_webhook_url(&spaces, false).is_err());
    }

    #[tokio::test]
    async fn loopback_names_are_refused_after_resolution() {
        let url = parse_webhook_url("https://localhost/hook", false);
        let Ok(url) = url else {
            return;
        };
        assert!(matches!(
            resolve_checked(&url, false).await,
            Err(OutboundError::Refused(_)) | Err(OutboundError::Failed(_))
        ));
        let ip = reqwest::Url::parse("https://127.0.0.1/hook");
        if let Ok(ip) = ip {
            assert!(matches!(
                resolve_checked(&ip, false).await,
                Err(OutboundError::Refused(_))
            ));
        }
    }
}
