//! One run of a monitor's HTTP check: status in range, optional body substring, within the timeout.
//! Editors choose the URL, so every check goes through [`Prober`], which refuses link-local and
//! metadata addresses always and loopback or private ones unless the operator allows them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{reach, refused_as, OutboundError, Reach};
use crate::domain::monitor::{HttpMethod, MonitorSpec};

/// What a check saw. `error` says why it failed, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOutcome {
    pub ok: bool,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

/// Bodies larger than this are not searched past this point.
const MAX_BODY: usize = 1024 * 1024;

/// Runs checks where they may go. Host names are judged at connect time by the client's own resolver,
/// against every address the name resolves to (so a DNS answer cannot change between a check and the
/// connection); literal addresses, which skip the resolver, are judged before the request.
#[derive(Clone)]
pub struct Prober {
    client: Option<reqwest::Client>,
    allow_private: bool,
    /// This instance's own origin (the demo's monitors check its health endpoint): allowed even on a
    /// loopback address, since it is statusgate itself.
    own_origin: Option<reqwest::Url>,
}

impl Prober {
    pub fn new(allow_private: bool, own_origin: Option<&str>) -> Self {
        Self {
            client: client(allow_private),
            allow_private,
            own_origin: own_origin.and_then(|o| reqwest::Url::parse(o).ok()),
        }
    }

    /// Refuses, before any connection, a URL whose host is a literal address monitors may not reach.
    pub fn admit(&self, raw: &str) -> Result<(), OutboundError> {
        let url = reqwest::Url::parse(raw)
            .map_err(|_| OutboundError::Refused("the URL does not parse".into()))?;
        if self
            .own_origin
            .as_ref()
            .is_some_and(|own| own.origin() == url.origin())
        {
            return Ok(());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return Ok(()),
        };
        match refusal(&ip.to_string(), ip, self.allow_private) {
            Some(why) => Err(OutboundError::Refused(why)),
            None => Ok(()),
        }
    }

    pub async fn run(&self, spec: &MonitorSpec) -> CheckOutcome {
        let refused = |error: String| CheckOutcome {
            ok: false,
            latency_ms: 0,
            status_code: None,
            error: Some(error),
        };
        if let Err(e) = self.admit(&spec.url) {
            return refused(format!("refused: {e}"));
        }
        match &self.client {
            Some(client) => run(client, spec).await,
            None => refused("the HTTP client could not be built".into()),
        }
    }
}

impl Default for Prober {
    fn default() -> Self {
        Self::new(false, None)
    }
}

/// Why monitors may not use `ip` (which `host` resolved to), or `None` if they may.
fn refusal(host: &str, ip: IpAddr, allow_private: bool) -> Option<String> {
    let what = refused_as(ip, allow_private)?;
    let hint = match reach(ip) {
        Reach::Private => {
            "; monitors reach loopback and private addresses only with [monitors] allow_private_targets = true"
        }
        _ => "",
    };
    Some(if host == ip.to_string() {
        format!("{ip} is {what}{hint}")
    } else {
        format!("{host} resolves to {ip}, {what}{hint}")
    })
}

/// Resolves names for checks and refuses the name when any answer is an address monitors may not use.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(why) = addrs
                .iter()
                .find_map(|a| refusal(&host, a.ip(), allow_private))
            {
                return Err(OutboundError::Refused(why).into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A client for checks: no redirects followed (the expected range decides), rustls, no cookies, the
/// guarded resolver, and no proxy from the environment (through a proxy the guard would judge the
/// proxy's address instead of the target's).
fn client(allow_private: bool) -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("statusgate-monitor/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .build()
        .ok()
}

async fn run(client: &reqwest::Client, spec: &MonitorSpec) -> CheckOutcome {
    let started = Instant::now();
    let timeout = Duration::from_millis(u64::try_from(spec.timeout_ms).unwrap_or(10_000));
    let method = match spec.method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Post => reqwest::Method::POST,
    };
    let attempt = async {
        let resp = client.request(method, &spec.url).send().await?;
        let status = i64::from(resp.status().as_u16());
        let body = match &spec.body_contains {
            Some(_) => Some(read_capped(resp).await?),
            None => None,
        };
        Ok::<_, reqwest::Error>((status, body))
    };
    let result = tokio::time::timeout(timeout, attempt).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let fail = |status_code, error: String| CheckOutcome {
        ok: false,
        latency_ms,
        status_code,
        error: Some(error),
    };
    match result {
        Err(_) => fail(None, format!("timed out after {} ms", spec.timeout_ms)),
        Ok(Err(e)) => fail(None, describe(&e)),
        Ok(Ok((status, _))) if !(spec.expect_min..=spec.expect_max).contains(&status) => fail(
            Some(status),
            format!(
                "status {status}, expected {}-{}",
                spec.expect_min, spec.expect_max
            ),
        ),
        Ok(Ok((status, Some(body))))
            if spec
                .body_contains
                .as_deref()
                .is_some_and(|needle| !body.contains(needle)) =>
        {
            fail(Some(status), "response body lacks the expected text".into())
        }
        Ok(Ok((status, _))) => CheckOutcome {
            ok: true,
            latency_ms,
            status_code: Some(status),
            error: None,
        },
    }
}

async fn read_capped(mut resp: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        buf.extend_from_slice(&chunk);
        if buf.len() >= MAX_BODY {
            buf.truncate(MAX_BODY);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// reqwest's Display nests causes; the innermost one is what a person needs.
pub fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(refused) = s.downcast_ref::<OutboundError>() {
            return format!("refused: {refused}");
        }
        msg = s.to_string();
        src = s.source();
    }
    if e.is_connect() {
        format!("cannot connect: {msg}")
    } else {
        msg
    }
}
