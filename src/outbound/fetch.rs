//! Small JSON documents from addresses someone else named (client metadata documents, identity
//! providers' JWKS): resolved and checked by the guard, connected to as checked, no redirects, a
//! deadline and a size cap, so a slow or huge answer costs little.

use std::time::Duration;

use super::resolve_checked;

/// A fetched body and its `Cache-Control` header, if any.
pub struct Fetched {
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
}

/// GETs `url` as JSON. The error is a sentence for the person or log that asked.
pub async fn get_json(
    url: reqwest::Url,
    allow_private: bool,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Fetched, String> {
    let addr = resolve_checked(&url, allow_private)
        .await
        .map_err(|e| e.to_string())?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve(&host, addr)
        .build()
        .map_err(|e| format!("cannot build a client: {e}"))?;
    let mut resp = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("fetch failed: {e}"))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("fetch answered {}", resp.status()));
    }
    let cache_control = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("fetch failed: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > max_bytes {
            return Err(format!(
                "the document is larger than {} KiB",
                max_bytes / 1024
            ));
        }
    }
    Ok(Fetched {
        body,
        cache_control,
    })
}
