//! Outbound network calls: monitor checks, signed webhook POSTs and SMTP. Addresses a visitor chose are
//! resolved here, checked, and connected to as checked, so a DNS answer cannot change between the check
//! and the connection.

pub mod check;
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

/// Loopback, private, link-local, shared, multicast and unspecified addresses: nothing a visitor may
/// point us at. An IPv6 address that carries an IPv4 one is judged by that address too.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => carried_v4(v6).is_some_and(internal_v4) || internal_v6(v6),
    }
}

/// The IPv4 address inside an IPv6 one that can reach it: mapped (`::ffff:0:0/96`), compatible
/// (`::/96`), NAT64's well-known prefix (`64:ff9b::/96`, RFC 6052, which a NAT64 gateway turns into a
/// connection to the inner address, private ones included) and 6to4 (`2002::/16`, RFC 3056).
fn carried_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let [.., a, b, c, d] = ip.octets();
    match ip.segments() {
        [0, 0, 0, 0, 0, 0xffff, ..] | [0, 0, 0, 0, 0, 0, ..] | [0x64, 0xff9b, 0, 0, 0, 0, ..] => {
            Some(Ipv4Addr::new(a, b, c, d))
        }
        [0x2002, high, low, ..] => Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))),
        _ => None,
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// Parses a visitor-supplied webhook URL: https only unless `allow_private`, and a host.
pub fn parse_webhook_url(raw: &str, allow_private: bool) -> Result<reqwest::Url, OutboundError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| OutboundError::Refused("webhook URL is not a valid URL".into()))?;
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

/// Resolves the URL's host and returns one address that may be used. With `allow_private` false every
/// resolved address must be public: a name that also resolves inside is refused outright.
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
    if !allow_private && addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(OutboundError::Refused(format!(
            "{host} resolves to a loopback, private or link-local address"
        )));
    }
    Ok(addrs[0])
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

    #[test]
    fn webhook_urls_need_https_unless_private_targets_are_allowed() {
        assert!(parse_webhook_url("https://hooks.example.com/x", false).is_ok());
        assert!(parse_webhook_url("http://hooks.example.com/x", false).is_err());
        assert!(parse_webhook_url("http://127.0.0.1:9/x", true).is_ok());
        assert!(parse_webhook_url("https://u:p@hooks.example.com/", false).is_err());
        assert!(parse_webhook_url("not a url", true).is_err());
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
