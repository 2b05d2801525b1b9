//! A STAND-IN for Prometheus and Alertmanager, for `golive demo` only: it answers the
//! Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`, `/api/v1/alerts`,
//! `/api/v1/status/buildinfo`, `/-/ready`) and Alertmanager's (`/api/v2/alerts`,
//! `/api/v2/status`) for exactly the queries the Gravl plan asks, from the demo story's
//! timeline: the deploy at 40 s raises the backend's 5xx ratio and latency while its new
//! pod crash-loops (46–95 s), an alert fires and resolves. Anything else gets Prometheus's
//! own `bad_data` error. Its build info says `golive-standin`; it is no Prometheus.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The versions the stand-in reports, so nobody mistakes it for a Prometheus.
pub const VERSION: &str = "2.42.0-golive-standin";
pub const AM_VERSION: &str = "0.25.0-golive-standin";

/// The queries it answers (whitespace aside), with the value each has at story time `t`.
pub const ERROR_RATIO: &str = r#"(sum(rate(http_requests_total{job="gravl-backend",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{job="gravl-backend"}[1m]))"#;
pub const TRAFFIC: &str = r#"sum(rate(http_requests_total{job="gravl-backend"}[1m]))"#;
pub const P95: &str = r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="gravl-backend"}[1m])))"#;
pub const P99: &str = r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="gravl-backend"}[1m])))"#;
pub const UP: &str = r#"up{job="gravl-backend"}"#;
/// Every query it answers.
pub const QUERIES: &[&str] = &[ERROR_RATIO, TRAFFIC, P95, P99, UP];
/// The backend's scrape targets.
const TARGETS: [&str; 2] = ["10.244.1.19:3001", "10.244.1.20:3001"];

/// While the crash-looping revision takes traffic.
const BAD: std::ops::Range<f64> = 46.0..95.0;
/// When the alert is pending, then firing.
const PENDING: std::ops::Range<f64> = 48.0..52.0;
const FIRING: std::ops::Range<f64> = 52.0..100.0;

fn wobble(t: f64, scale: f64) -> f64 {
    1.0 + scale * (t / 7.0).sin() * (t / 3.1).cos()
}

/// The story's value of a known query at `t` seconds (negative: before the demo began,
/// as the history a real Prometheus would hold).
fn value(query: &str, t: f64) -> Option<f64> {
    let bad = BAD.contains(&t);
    let q = normal(query);
    if q == normal(ERROR_RATIO) {
        Some(if bad { 0.06 } else { 0.001 } * wobble(t, 0.3))
    } else if q == normal(TRAFFIC) {
        Some(20.0 * wobble(t, 0.05))
    } else if q == normal(P95) {
        Some(if bad { 0.045 } else { 0.007 } * wobble(t, 0.2))
    } else if q == normal(P99) {
        Some(if bad { 0.12 } else { 0.015 } * wobble(t, 0.2))
    } else {
        None
    }
}

fn normal(query: &str) -> String {
    query.chars().filter(|c| !c.is_whitespace()).collect()
}

pub struct StandIn {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

struct Clock {
    started_unix: f64,
    speed: f64,
}

impl Clock {
    /// Story seconds at a unix time.
    fn story(&self, unix: f64) -> f64 {
        (unix - self.started_unix) * self.speed
    }

    fn now_unix(&self) -> f64 {
        jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
    }
}

impl StandIn {
    /// Listens on 127.0.0.1; the story runs `speed` times faster, as the demo's scenario.
    pub async fn start(speed: u32) -> std::io::Result<Self> {
        Self::start_at(speed, jiff::Timestamp::now()).await
    }

    /// [`StandIn::start`] with the story begun at `story_start` (tests start mid-story).
    pub async fn start_at(speed: u32, story_start: jiff::Timestamp) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let clock = Arc::new(Clock {
            started_unix: story_start.as_millisecond() as f64 / 1000.0,
            speed: f64::from(speed.max(1)),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let clock = clock.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let clock = clock.clone();
                        async move { Ok::<_, Infallible>(respond(req, &clock).await) }
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

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn bad_data(message: String) -> Response<Full<Bytes>> {
    reply(
        StatusCode::BAD_REQUEST,
        json!({"status": "error", "errorType": "bad_data", "error": message}),
    )
}

fn sample(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

async fn respond(req: Request<hyper::body::Incoming>, clock: &Clock) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let mut params: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let now = clock.now_unix();
    let time = |k: &str, default: f64| {
        param(k)
            .and_then(|v| {
                v.parse::<f64>().ok().or_else(|| {
                    v.parse::<jiff::Timestamp>()
                        .ok()
                        .map(|t| t.as_millisecond() as f64 / 1000.0)
                })
            })
            .unwrap_or(default)
    };
    match path.as_str() {
        "/-/ready" | "/-/healthy" => {
            let mut r = Response::new(Full::new(Bytes::from_static(
                b"Prometheus stand-in is Ready.\n",
            )));
            *r.status_mut() = StatusCode::OK;
            r
        }
        "/api/v1/status/buildinfo" => reply(
            StatusCode::OK,
            json!({"status": "success", "data": {"version": VERSION, "revision": "golive", "branch": "demo", "buildUser": "golive", "buildDate": "", "goVersion": "none"}}),
        ),
        "/api/v1/query" => {
            let Some(q) = param("query") else {
                return bad_data("invalid parameter \"query\": query must not be empty".into());
            };
            let at = time("time", now);
            let t = clock.story(at);
            if normal(&q) == normal(UP) {
                let result: Vec<Value> = TARGETS
                    .iter()
                    .map(|i| json!({"metric": {"__name__": "up", "instance": i, "job": "gravl-backend"}, "value": [at, "1"]}))
                    .collect();
                return reply(
                    StatusCode::OK,
                    json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
                );
            }
            match value(&q, t) {
                Some(v) => reply(
                    StatusCode::OK,
                    json!({"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [at, sample(v)]}]}}),
                ),
                None => bad_data(format!(
                    "the golive demo stand-in answers only the demo plan's queries, not `{q}`"
                )),
            }
        }
        "/api/v1/query_range" => {
            let Some(q) = param("query") else {
                return bad_data("invalid parameter \"query\": query must not be empty".into());
            };
            let start = time("start", now - 300.0);
            let end = time("end", now);
            let step = param("step")
                .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
                .unwrap_or(15.0);
            if step <= 0.0 || end < start {
                return bad_data("invalid step or range".into());
            }
            if (end - start) / step > 11_000.0 {
                return bad_data("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into());
            }
            let up = normal(&q) == normal(UP);
            if value(&q, 0.0).is_none() && !up {
                return bad_data(format!(
                    "the golive demo stand-in answers only the demo plan's queries, not `{q}`"
                ));
            }
            let mut values = Vec::new();
            let mut at = start;
            while at <= end && at <= now {
                let v = if up {
                    Some(1.0)
                } else {
                    value(&q, clock.story(at))
                };
                if let Some(v) = v {
                    values.push(json!([at, sample(v)]));
                }
                at += step;
            }
            let result = if values.is_empty() {
                json!([])
            } else if up {
                Value::Array(
                    TARGETS
                        .iter()
                        .map(|i| json!({"metric": {"__name__": "up", "instance": i, "job": "gravl-backend"}, "values": values}))
                        .collect(),
                )
            } else {
                json!([{"metric": {}, "values": values}])
            };
            reply(
                StatusCode::OK,
                json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
            )
        }
        "/api/v1/alerts" => {
            let t = clock.story(now);
            // Prometheus lists its pending and firing alerts, the watchdog among them.
            let mut alerts = vec![
                json!({"labels": {"alertname": "Watchdog", "severity": "none"},
                "annotations": {"summary": "An alert that should always be firing to certify that Alertmanager is working properly."},
                "state": "firing", "activeAt": jiff_at(clock, 0.0), "value": "1e+00"}),
            ];
            let state = if PENDING.contains(&t) {
                Some("pending")
            } else if FIRING.contains(&t) {
                Some("firing")
            } else {
                None
            };
            if let Some(state) = state {
                alerts.push(json!({"labels": {"alertname": "GravlBackendHighErrorRate", "namespace": "gravl-staging", "severity": "critical"},
                        "annotations": {"summary": "gravl-backend 5xx ratio above 5%"},
                        "state": state, "activeAt": jiff_at(clock, PENDING.start), "value": "6e-02"}));
            }
            let alerts = Value::Array(alerts);
            reply(
                StatusCode::OK,
                json!({"status": "success", "data": {"alerts": alerts}}),
            )
        }
        "/api/v2/status" => reply(
            StatusCode::OK,
            json!({"cluster": {"status": "disabled", "peers": []},
                   "versionInfo": {"version": AM_VERSION, "revision": "golive", "branch": "demo", "buildUser": "golive", "buildDate": "", "goVersion": "none"},
                   "config": {"original": "# golive demo stand-in\n"}, "uptime": jiff_at(clock, 0.0)}),
        ),
        "/api/v2/alerts" => {
            let t = clock.story(now);
            let mut alerts = vec![json!({
                "labels": {"alertname": "Watchdog", "severity": "none"},
                "annotations": {"summary": "An alert that should always be firing to certify that Alertmanager is working properly."},
                "startsAt": jiff_at(clock, 0.0), "endsAt": jiff_at(clock, t + 240.0), "updatedAt": jiff_at(clock, t),
                "fingerprint": "1f1c1e2b9a3d", "receivers": [{"name": "null"}], "generatorURL": "",
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}})];
            if FIRING.contains(&t) {
                alerts.push(json!({
                    "labels": {"alertname": "GravlBackendHighErrorRate", "namespace": "gravl-staging", "severity": "critical"},
                    "annotations": {"summary": "gravl-backend 5xx ratio above 5%"},
                    "startsAt": jiff_at(clock, FIRING.start), "endsAt": jiff_at(clock, t + 240.0), "updatedAt": jiff_at(clock, t),
                    "fingerprint": "7c2f9e1a0b44", "receivers": [{"name": "oncall"}], "generatorURL": "",
                    "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}));
            }
            reply(StatusCode::OK, Value::Array(alerts))
        }
        other => reply(
            StatusCode::NOT_FOUND,
            json!({"status": "error", "errorType": "not_found", "error": format!("{other}: not served by the golive demo stand-in")}),
        ),
    }
}

/// The RFC 3339 time of story second `t`.
fn jiff_at(clock: &Clock, t: f64) -> String {
    let unix = clock.started_unix + t / clock.speed;
    jiff::Timestamp::from_millisecond((unix * 1000.0) as i64)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}
