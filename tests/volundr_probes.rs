//! `http`, `sse` and `tcp` checks against servers on 127.0.0.1: the prober does the I/O,
//! the gates judge its results.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use bytes::Bytes;
use golive::gates::{self, Context, Status};
use golive::plan;
use golive::probe::run_probes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &str, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from_static(body.as_bytes())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// An SSE response whose first event comes after `delay`.
fn stream(delay: Duration) -> Response<Body> {
    let events = futures::stream::unfold(0u32, move |i| async move {
        tokio::time::sleep(if i == 0 {
            delay
        } else {
            Duration::from_secs(1)
        })
        .await;
        let frame = Frame::data(Bytes::from(format!(
            "event: session\ndata: {{\"n\":{i}}}\n\n"
        )));
        Some((Ok::<_, Infallible>(frame), i + 1))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(StreamBody::new(events).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

async fn respond(req: Request<hyper::body::Incoming>) -> Response<Body> {
    match req.uri().path() {
        "/health" => full(
            StatusCode::OK,
            "application/json",
            r#"{"status":"healthy"}"#,
        ),
        "/boom" => full(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "boom"),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            full(StatusCode::OK, "text/plain", "late")
        }
        "/degraded" => full(
            StatusCode::OK,
            "application/json",
            r#"{"status":"degraded"}"#,
        ),
        "/stream" => stream(Duration::from_millis(50)),
        "/slow-stream" => stream(Duration::from_secs(30)),
        "/not-a-stream" => full(StatusCode::OK, "application/json", "[]"),
        _ => full(StatusCode::NOT_FOUND, "text/plain", "no"),
    }
}

async fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(|r| async { Ok::<_, Infallible>(respond(r).await) }),
                    )
                    .await;
            });
        }
    });
    format!("127.0.0.1:{}", addr.port())
}

/// A port nothing listens on.
async fn refused_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr.to_string()
}

async fn verdicts(yaml_checks: &str) -> Vec<(String, gates::GateVerdict)> {
    let text = format!("name: probes\ngates:\n{yaml_checks}");
    let loaded =
        plan::parse("probes.yaml", &text, |_| None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let started = std::time::Instant::now();
    let probes = run_probes(&loaded.plan, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "probes ran in parallel and stopped at their bounds"
    );
    let view = golive::cluster::ClusterView::new("t", "t", []);
    let ctx = Context {
        now: Timestamp::now(),
        load: None,
        probes,
        moments: Default::default(),
        metrics: None,
        dns: Default::default(),
    };
    loaded
        .plan
        .gates
        .iter()
        .map(|g| (g.id.value.clone(), gates::evaluate_gate(g, &view, &ctx)))
        .collect()
}

fn gate(id: &str, yaml: &str) -> String {
    format!("  - id: {id}\n    title: {id}\n    group: monitoring\n    checks:\n      - {yaml}\n")
}

#[tokio::test]
async fn probes_judge_status_json_latency_stream_and_connect() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let up = serve().await;
    let down = refused_port().await;
    let plan = [
        gate("health", &format!("http: {{url: 'http://{up}/health', json_path: status, equals: healthy, within: 2s}}")),
        gate("server-error", &format!("http: {{url: 'http://{up}/boom'}}")),
        gate("too-slow", &format!("http: {{url: 'http://{up}/slow', within: 500ms}}")),
        gate("degraded", &format!("http: {{url: 'http://{up}/degraded', json_path: status, equals: healthy}}")),
        gate("refused-http", &format!("http: {{url: 'http://{down}/health', within: 2s}}")),
        gate("stream", &format!("sse: {{url: 'http://{up}/stream', first_event_within: 2s}}")),
        gate("slow-stream", &format!("sse: {{url: 'http://{up}/slow-stream', first_event_within: 1s}}")),
        gate("wrong-type", &format!("sse: {{url: 'http://{up}/not-a-stream'}}")),
        gate("sse-500", &format!("sse: {{url: 'http://{up}/boom'}}")),
        gate("tcp-up", &format!("tcp: {{address: '{up}', within: 1s}}")),
        gate("tcp-refused", &format!("tcp: {{address: '{down}', within: 1s}}")),
    ]
    .concat();
    let results = verdicts(&plan).await;
    let expect: &[(&str, Status, &str)] = &[
        ("health", Status::Pass, "→ 200"),
        ("server-error", Status::Fail, "status 500, expected 200"),
        ("too-slow", Status::Fail, "no response within 500ms"),
        (
            "degraded",
            Status::Fail,
            "status is `degraded`, expected `healthy`",
        ),
        ("refused-http", Status::Fail, "refused"),
        ("stream", Status::Pass, "first event after"),
        ("slow-stream", Status::Fail, "no event within 1s"),
        (
            "wrong-type",
            Status::Fail,
            "content type application/json, not text/event-stream",
        ),
        ("sse-500", Status::Fail, "status 500"),
        ("tcp-up", Status::Pass, "accepts connections"),
        ("tcp-refused", Status::Fail, "refused"),
    ];
    for (id, status, words) in expect {
        let (_, v) = results
            .iter()
            .find(|(g, _)| g == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(v.status, *status, "{id}: {}", v.summary);
        assert!(
            v.summary.to_lowercase().contains(&words.to_lowercase()),
            "{id}: `{words}` not in `{}`",
            v.summary
        );
    }
}

#[tokio::test]
async fn volundr_monitoring_gates_pass_against_the_demo_service() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let service = golive::demo::service::DemoService::start()
        .await
        .expect("demo service");
    let url = service.url();
    let loaded = plan::load_with_env("volundr", |k| (k == "VOLUNDR_URL").then(|| url.clone()))
        .expect("volundr plan");
    let probes = run_probes(&loaded.plan, Duration::from_secs(10)).await;
    assert_eq!(
        probes.len(),
        3,
        "health, sessions stream, events health; postgres has no address"
    );
    let view = golive::cluster::ClusterView::new("t", "t", []);
    let ctx = Context {
        now: Timestamp::now(),
        load: None,
        probes,
        moments: Default::default(),
        metrics: None,
        dns: Default::default(),
    };
    for id in ["health", "sessions-stream", "events-health"] {
        let g = loaded
            .plan
            .gates
            .iter()
            .find(|g| g.id.value == id)
            .expect("gate");
        let v = gates::evaluate_gate(g, &view, &ctx);
        assert_eq!(v.status, Status::Pass, "{id}: {}", v.summary);
    }
}
