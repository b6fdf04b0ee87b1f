//! One run of a monitor's HTTP check: status in range, optional body substring, within the timeout.

use std::time::{Duration, Instant};

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

/// A client for checks: no redirects followed (the expected range decides), rustls, no cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("statusgate-monitor/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

pub async fn run(client: &reqwest::Client, spec: &MonitorSpec) -> CheckOutcome {
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
        msg = s.to_string();
        src = s.source();
    }
    if e.is_connect() {
        format!("cannot connect: {msg}")
    } else {
        msg
    }
}
