//! The demo's HTTP service on 127.0.0.1: what the load test and HTTP checks talk to.
//! Latencies follow a realistic mix so percentiles are worth watching.

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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Body = BoxBody<Bytes, Infallible>;

pub struct DemoService {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DemoService {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let served = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let served = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let n = served.fetch_add(1, Ordering::Relaxed);
                        async move { Ok::<_, Infallible>(respond(req, n).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, task })
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
        "/metrics" => full(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            format!(
                "# HELP demo_requests_total Requests served.\n# TYPE demo_requests_total counter\ndemo_requests_total {n}\n"
            ),
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
