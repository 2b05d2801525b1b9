//! Probes of the service itself (`http`, `sse`, `tcp` checks). The I/O happens here;
//! gates read the results from `gates::Context::probes`, so evaluation stays pure and a
//! probe not yet run is `unknown`.

use crate::plan::{Check, HttpCheck, Plan, SseCheck, TcpCheck};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Probe results keyed by `probe_key` of the check.
pub type Probes = BTreeMap<String, ProbeResult>;

/// What one probe saw. `error` is set when no answer (or no first event) arrived.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeResult {
    pub at: Timestamp,
    /// Until response headers (HTTP, SSE) or the connection (TCP).
    pub elapsed: Duration,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// The body, up to 64 KiB (HTTP only).
    pub body: Option<String>,
    /// SSE: when the first complete event arrived, from the start, and its text.
    pub first_event: Option<(Duration, String)>,
    pub error: Option<String>,
}

impl ProbeResult {
    fn failed(at: Timestamp, elapsed: Duration, error: impl Into<String>) -> Self {
        Self {
            at,
            elapsed,
            status: None,
            content_type: None,
            body: None,
            first_event: None,
            error: Some(error.into()),
        }
    }
}

/// The stable id a check's probe result is kept under; `None` for checks without I/O.
pub fn probe_key(check: &Check) -> Option<String> {
    match check {
        Check::Http(h) => Some(http_key(h)),
        Check::Sse(s) => Some(sse_key(s)),
        Check::Tcp(t) => tcp_key(t),
        _ => None,
    }
}

pub fn http_key(h: &HttpCheck) -> String {
    format!("http {} {}", h.method.to_ascii_uppercase(), h.url)
}

pub fn sse_key(s: &SseCheck) -> String {
    format!("sse {}", s.url)
}

/// `None` for a `tcp` check without an address (a plan error, reported when it loads).
pub fn tcp_key(t: &TcpCheck) -> Option<String> {
    (!t.address.trim().is_empty()).then(|| format!("tcp {}", t.address))
}

const BODY_LIMIT: usize = 64 * 1024;

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// Native roots when the system has them; otherwise an empty store, so plain-HTTP probes
/// still run and HTTPS ones fail with a certificate error that says why.
fn client() -> Result<Client, String> {
    let builder = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
    {
        Ok(b) => b,
        Err(_) => {
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let https = builder.https_or_http().enable_http1().build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

fn request(method: &str, url: &str, accept: &str) -> Result<http::Request<Empty<Bytes>>, String> {
    let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|e| format!("method `{method}`: {e}"))?;
    http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::ACCEPT, accept)
        .header(http::header::USER_AGENT, "golive-probe")
        .body(Empty::new())
        .map_err(|e| format!("URL `{url}`: {e}"))
}

fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn content_type(parts: &http::response::Parts) -> Option<String> {
    parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub async fn probe_http(client: &Client, c: &HttpCheck) -> ProbeResult {
    let at = Timestamp::now();
    let start = Instant::now();
    let req = match request(&c.method, &c.url, "*/*") {
        Ok(r) => r,
        Err(e) => return ProbeResult::failed(at, Duration::ZERO, e),
    };
    let limit = c.within.0;
    let response = match tokio::time::timeout(limit, client.request(req)).await {
        Err(_) => {
            return ProbeResult::failed(
                at,
                start.elapsed(),
                format!("no response within {}", c.within),
            );
        }
        Ok(Err(e)) => return ProbeResult::failed(at, start.elapsed(), error_text(&e)),
        Ok(Ok(r)) => r,
    };
    let elapsed = start.elapsed();
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    let rest = limit
        .saturating_sub(elapsed)
        .max(Duration::from_millis(200));
    let read = tokio::time::timeout(rest, async {
        while bytes.len() < BODY_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(d) = frame.data_ref() {
                        bytes.extend_from_slice(d);
                    }
                }
                Some(Err(e)) => return Err(error_text(&e)),
                None => break,
            }
        }
        Ok(())
    })
    .await;
    let error = match read {
        Err(_) => Some(format!("body not complete within {}", c.within)),
        Ok(Err(e)) => Some(e),
        Ok(Ok(())) => None,
    };
    bytes.truncate(BODY_LIMIT);
    ProbeResult {
        at,
        elapsed,
        status: Some(parts.status.as_u16()),
        content_type: content_type(&parts),
        body: Some(String::from_utf8_lossy(&bytes).into_owned()),
        first_event: None,
        error,
    }
}

/// Reads until the first complete event (a blank line after a `data:` or `event:` line);
/// never waits for the stream to end.
pub async fn probe_sse(client: &Client, c: &SseCheck) -> ProbeResult {
    let at = Timestamp::now();
    let start = Instant::now();
    let limit = c.first_event_within.0;
    let req = match request("GET", &c.url, "text/event-stream") {
        Ok(r) => r,
        Err(e) => return ProbeResult::failed(at, Duration::ZERO, e),
    };
    let response = match tokio::time::timeout(limit, client.request(req)).await {
        Err(_) => {
            return ProbeResult::failed(
                at,
                start.elapsed(),
                format!("no response within {}", c.first_event_within),
            );
        }
        Ok(Err(e)) => return ProbeResult::failed(at, start.elapsed(), error_text(&e)),
        Ok(Ok(r)) => r,
    };
    let elapsed = start.elapsed();
    let (parts, mut body) = response.into_parts();
    let mut result = ProbeResult {
        at,
        elapsed,
        status: Some(parts.status.as_u16()),
        content_type: content_type(&parts),
        body: None,
        first_event: None,
        error: None,
    };
    let is_stream = result.content_type.as_deref().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("text/event-stream")
    });
    if !parts.status.is_success() || !is_stream {
        return result;
    }
    let mut text = String::new();
    let rest = limit.saturating_sub(elapsed);
    let read = tokio::time::timeout(rest, async {
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(d) = frame.data_ref() {
                        text.push_str(&String::from_utf8_lossy(d));
                        let normalised = text.replace("\r\n", "\n");
                        if let Some(end) = normalised.find("\n\n") {
                            let event = normalised[..end].to_string();
                            if event
                                .lines()
                                .any(|l| l.starts_with("data") || l.starts_with("event"))
                            {
                                return Ok(event);
                            }
                            text = normalised[end + 2..].to_string();
                        }
                        if text.len() > BODY_LIMIT {
                            return Err("no complete event in the first 64 KiB".to_string());
                        }
                    }
                }
                Some(Err(e)) => return Err(error_text(&e)),
                None => return Err("the stream ended before a first event".to_string()),
            }
        }
    })
    .await;
    match read {
        Ok(Ok(event)) => result.first_event = Some((start.elapsed(), event)),
        Ok(Err(e)) => result.error = Some(e),
        Err(_) => result.error = Some(format!("no event within {}", c.first_event_within)),
    }
    result
}

pub async fn probe_tcp(c: &TcpCheck) -> ProbeResult {
    let at = Timestamp::now();
    let start = Instant::now();
    match tokio::time::timeout(c.within.0, tokio::net::TcpStream::connect(c.address.trim())).await {
        Ok(Ok(_)) => ProbeResult {
            at,
            elapsed: start.elapsed(),
            status: None,
            content_type: None,
            body: None,
            first_event: None,
            error: None,
        },
        Ok(Err(e)) => {
            ProbeResult::failed(at, start.elapsed(), format!("connect {}: {e}", c.address))
        }
        Err(_) => ProbeResult::failed(
            at,
            start.elapsed(),
            format!("no connection within {}", c.within),
        ),
    }
}

/// Runs every probe of the plan once, concurrently, each bounded by its own limit and by
/// `timeout`. Call it before evaluating gates and put the result in `Context::probes`.
pub async fn run_probes(plan: &Plan, timeout: Duration) -> Probes {
    let mut checks: BTreeMap<String, Check> = BTreeMap::new();
    for check in plan.gates.iter().flat_map(|g| g.checks.iter()) {
        if let Some(key) = probe_key(check) {
            checks.entry(key).or_insert_with(|| check.clone());
        }
    }
    let client = client().ok();
    let client = &client;
    let runs = checks.into_iter().map(|(key, check)| async move {
        let at = Timestamp::now();
        let run = async {
            match (&check, client) {
                (Check::Http(h), Some(c)) => probe_http(c, h).await,
                (Check::Sse(s), Some(c)) => probe_sse(c, s).await,
                (Check::Tcp(t), _) => probe_tcp(t).await,
                _ => {
                    ProbeResult::failed(at, Duration::ZERO, "no HTTP client: TLS roots unavailable")
                }
            }
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(r) => r,
            Err(_) => ProbeResult::failed(at, timeout, format!("probe gave up after {timeout:?}")),
        };
        // Timeouts and refusals pass quickly on screen; the log keeps them.
        if let Some(error) = &result.error {
            tracing::warn!(
                probe = %key,
                elapsed_ms = result.elapsed.as_millis() as u64,
                %error,
                "probe failed"
            );
        }
        (key, result)
    });
    futures::future::join_all(runs).await.into_iter().collect()
}
