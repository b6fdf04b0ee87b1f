//! Limits on what one sender may ask for: a token bucket per key (an address, an email, a key id), in
//! this instance's memory, and the client address those keys are usually made of.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

/// A token bucket per key, in this instance's memory: `burst` requests at once, refilled at
/// `per_minute`. Several instances each allow the rate; the limit protects each instance.
#[derive(Clone)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

/// Past this many tracked keys, full buckets are forgotten (they hold nothing a fresh one would not).
const PRUNE_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Arc::default(),
        }
    }

    /// A bucket refilled at `per_hour`, for limits slower than one a minute (subscribing).
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_hour.max(1)) / 3600.0,
            ..Self::new(1, burst)
        }
    }

    /// Takes one token for `key`, or answers how many whole seconds until one is there.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.len() > PRUNE_AT {
            let (per_sec, burst) = (self.per_sec, self.burst);
            map.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * per_sec < burst);
        }
        let (tokens, at) = map.entry(key.to_owned()).or_insert((self.burst, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            Err(((1.0 - refilled) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

/// The address a request came from: the TCP peer, or, behind `security.trusted_proxy_hops` reverse
/// proxies, the entry those proxies appended to `X-Forwarded-For`. Entries further left were written by
/// the client itself and are never believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The bucket key for this address. IPv6 clients get a /64 each (one host usually holds a whole
    /// /64, so a per-address limit on a full v6 address would be no limit at all).
    pub fn key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }

    /// Works out the client address from the peer and the forwarded-for header.
    pub fn resolve(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted_hops: u32) -> Self {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if trusted_hops == 0 {
            return Self(peer);
        }
        let hops: Vec<&str> = forwarded_for
            .map(|h| h.split(',').map(str::trim).collect())
            .unwrap_or_default();
        // The last proxy appended the address it saw; with N trusted proxies the client is the Nth
        // entry from the right. Fewer entries than proxies means the header was not written by them.
        let idx = hops.len().checked_sub(trusted_hops as usize);
        match idx.and_then(|i| hops.get(i)).and_then(|h| h.parse().ok()) {
            Some(ip) => Self(ip),
            None => Self(peer),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}

/// Middleware that records the [`ClientAddr`] of every request in its extensions.
pub async fn record_client_addr(trusted_hops: u32, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let addr = ClientAddr::resolve(peer, xff, trusted_hops);
    req.extensions_mut().insert(addr);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::{ClientAddr, RateLimiter};

    #[test]
    fn a_bucket_allows_its_burst_then_names_the_wait() {
        let l = RateLimiter::new(60, 2);
        assert!(l.take("k").is_ok());
        assert!(l.take("k").is_ok());
        assert_eq!(l.take("k"), Err(1));
        assert!(l.take("other").is_ok());
    }

    #[test]
    fn an_hourly_bucket_refills_slowly() {
        let l = RateLimiter::per_hour(10, 1);
        assert!(l.take("k").is_ok());
        assert_eq!(l.take("k"), Err(360), "one token every six minutes");
    }

    #[test]
    fn forwarded_for_is_believed_only_as_far_as_the_trusted_proxies() {
        let peer = Some("10.0.0.9".parse().unwrap());
        let xff = Some("6.6.6.6, 203.0.113.7");
        assert_eq!(ClientAddr::resolve(peer, xff, 0).0.to_string(), "10.0.0.9");
        assert_eq!(
            ClientAddr::resolve(peer, xff, 1).0.to_string(),
            "203.0.113.7"
        );
        assert_eq!(ClientAddr::resolve(peer, xff, 2).0.to_string(), "6.6.6.6");
        assert_eq!(ClientAddr::resolve(peer, xff, 3).0.to_string(), "10.0.0.9");
        assert_eq!(
            ClientAddr::resolve(peer, Some("junk"), 1).0.to_string(),
            "10.0.0.9"
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a = ClientAddr("2001:db8:1:2::1".parse().unwrap());
        let b = ClientAddr("2001:db8:1:2:ffff::9".parse().unwrap());
        assert_eq!(a.key(), b.key());
        assert_eq!(
            ClientAddr("::ffff:192.0.2.1".parse().unwrap()).key(),
            "192.0.2.1"
        );
    }
}
