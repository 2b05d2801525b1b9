//! The demo's HTTP service on 127.0.0.1: what the load test and HTTP checks talk to.
//! Latencies follow a realistic mix so percentiles are worth watching. It counts what it
//! serves and exposes that at `GET /metrics` for Prometheus (`http_metrics`); tests and
//! the demo can inject errors and latency ([`DemoService::set_faults`]).

use super::http_metrics::{HttpMetrics, route_index};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Body = BoxBody<Bytes, Infallible>;

pub struct DemoService {
    addr: SocketAddr,
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

/// What every connection's handler shares.
#[derive(Default)]
struct Shared {
    served: AtomicU64,
    metrics: HttpMetrics,
    /// Injected faults: errors per thousand requests, and added latency.
    error_per_mille: AtomicU32,
    extra_latency_ms: AtomicU64,
}

impl Shared {
    /// Spreads the errors evenly: `n × 7919 mod 1000` visits every residue once per
    /// thousand requests, so a 5% setting fails exactly 50 in each thousand.
    fn inject_error(&self, n: u64) -> bool {
        let per_mille = u64::from(self.error_per_mille.load(Ordering::Relaxed));
        per_mille > 0 && n.wrapping_mul(7919) % 1000 < per_mille
    }
}

impl DemoService {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let handlers = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = handlers.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(counted(req, &shared).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, task, shared })
    }

    /// From now on, answer `error_ratio` (0–1) of requests other than `/metrics` with 500
    /// and delay every one by `extra_latency`.
    pub fn set_faults(&self, error_ratio: f64, extra_latency: Duration) {
        let per_mille = (error_ratio.clamp(0.0, 1.0) * 1000.0).round() as u32;
        self.shared
            .error_per_mille
            .store(per_mille, Ordering::Relaxed);
        let ms = u64::try_from(extra_latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.extra_latency_ms.store(ms, Ordering::Relaxed);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DemoService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

/// A cheap deterministic spread: most requests fast, a tail slow, as a real API behaves.
fn exercises_delay(n: u64) -> Duration {
    let x = n.wrapping_mul(2_654_435_761) % 1000;
    let ms = match x {
        0..=899 => 1 + x % 4,
        900..=979 => 8 + x % 12,
        _ => 40 + x % 60,
    };
    Duration::from_millis(ms)
}

/// Serves one request and counts it; the scrape itself is not counted, so a service
/// nobody calls has no request series.
async fn counted(req: Request<hyper::body::Incoming>, shared: &Shared) -> Response<Body> {
    if req.uri().path() == "/metrics" {
        return full(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            shared.metrics.exposition(),
        );
    }
    let started = Instant::now();
    let n = shared.served.fetch_add(1, Ordering::Relaxed);
    let route = route_index(req.uri().path());
    let method = req.method().as_str().to_string();
    let extra = shared.extra_latency_ms.load(Ordering::Relaxed);
    if extra > 0 {
        tokio::time::sleep(Duration::from_millis(extra)).await;
    }
    let response = if shared.inject_error(n) {
        full(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            r#"{"error":"injected fault"}"#,
        )
    } else {
        respond(req, n).await
    };
    shared.metrics.observe(
        route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

async fn respond(req: Request<hyper::body::Incoming>, n: u64) -> Response<Body> {
    match req.uri().path() {
        "/health" => full(StatusCode::OK, "application/json", r#"{"status":"ok"}"#),
        "/api/exercises" => {
            tokio::time::sleep(exercises_delay(n)).await;
            full(
                StatusCode::OK,
                "application/json",
                r#"[{"id":1,"name":"Back squat","sets":5},{"id":2,"name":"Deadlift","sets":3},{"id":3,"name":"Bench press","sets":5}]"#,
            )
        }
        "/api/v1/volundr/events/health" => full(
            StatusCode::OK,
            "application/json",
            r#"{"status":"healthy","pipeline":"running","sinks":[{"name":"postgres","status":"ok"}]}"#,
        ),
        "/api/v1/volundr/sessions/stream" => {
            let events = futures::stream::unfold(0u64, |i| async move {
                if i > 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let frame = Frame::data(Bytes::from(format!(
                    "event: session\ndata: {{\"id\":\"s-{i}\",\"state\":\"running\"}}\n\n"
                )));
                Some((Ok::<_, Infallible>(frame), i + 1))
            });
            let mut response = Response::new(BodyExt::boxed(StreamBody::new(events)));
            let headers = response.headers_mut();
            headers.insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/event-stream"),
            );
            headers.insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("no-cache"),
            );
            response
        }
        _ => full(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":"not found"}"#,
        ),
    }
}
