//! The demo's stand-in for Prometheus and Alertmanager: one loopback HTTP server that
//! answers the Prometheus API (`/api/v1/query`, `/api/v1/query_range`,
//! `/api/v1/status/buildinfo`, `/api/v1/alerts`, `/-/ready`) and Alertmanager's v2 API
//! (`/api/v2/alerts`, `/api/v2/status`) for exactly the demo plan's queries, from a
//! scripted timeline: a crash-looping deploy raises errors and latency from 40 s to
//! 105 s. It is a stand-in, and says so in its version and its errors; real use points
//! golive at a real Prometheus.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The version the stand-in reports in `buildinfo`.
pub const VERSION: &str = "2.42.0-golive-standin";
/// Alertmanager's version as the stand-in reports it.
pub const AM_VERSION: &str = "0.25.0-golive-standin";

pub const ERROR_RATIO: &str = r#"sum(rate(http_requests_total{job="gravl-backend",code=~"5.."}[1m])) / sum(rate(http_requests_total{job="gravl-backend"}[1m]))"#;
pub const TRAFFIC: &str = r#"sum(rate(http_requests_total{job="gravl-backend"}[1m]))"#;
pub const P95: &str = r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="gravl-backend"}[1m])))"#;
pub const P99: &str = r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="gravl-backend"}[1m])))"#;
pub const UP: &str = r#"up{job="gravl-backend"}"#;

/// Every query the stand-in answers, in the demo plan's spelling.
pub const QUERIES: &[&str] = &[ERROR_RATIO, TRAFFIC, P95, P99, UP];

/// When the bad deploy starts hurting, is at its worst, recovers and is over (story s).
const BAD_FROM: f64 = 40.0;
const BAD_FULL: f64 = 46.0;
const BAD_EASING: f64 = 90.0;
const BAD_OVER: f64 = 105.0;
/// The alert the deploy raises: firing from 50 s to 100 s, pending from 46 s (`for: 4s`).
const ALERT_PENDING: f64 = 46.0;
const ALERT_FIRING: f64 = 50.0;
const ALERT_RESOLVED: f64 = 100.0;
const INSTANCES: &[&str] = &["10.244.1.17:8080", "10.244.2.9:8080"];
const MAX_POINTS: i64 = 11_000;

/// A running stand-in. Dropping it stops the server.
pub struct MonitorStandIn {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// The scripted timeline: story seconds since `start`, played `speed` times faster.
#[derive(Debug, Clone, Copy)]
struct Story {
    start: Timestamp,
    speed: f64,
}

impl Story {
    fn seconds(&self, at: Timestamp) -> f64 {
        at.duration_since(self.start).as_secs_f64() * self.speed
    }

    fn at(&self, story_seconds: f64) -> Timestamp {
        let real = SignedDuration::from_secs_f64(story_seconds / self.speed);
        self.start.checked_add(real).unwrap_or(self.start)
    }
}

impl MonitorStandIn {
    /// Starts the stand-in on 127.0.0.1 with its story beginning now, played `speed`
    /// times faster (as `golive demo --speed`; 0 is taken as 1).
    pub async fn start(speed: u32) -> std::io::Result<Self> {
        Self::start_at(speed, Timestamp::now()).await
    }

    /// [`start`](Self::start) with the story's zero at `story_start`, to line up with the
    /// simulated cluster's scenario.
    pub async fn start_at(speed: u32, story_start: Timestamp) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let story = Arc::new(Story {
            start: story_start,
            speed: f64::from(speed.max(1)),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let story = story.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let story = *story;
                        async move { Ok::<_, Infallible>(answer(req, story).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// The base URL of both APIs (Prometheus's and Alertmanager's).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for MonitorStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `before` until the deploy, `during` at its worst, `after` once over; linear between.
fn deploy_shape(t: f64, before: f64, during: f64, after: f64) -> f64 {
    let lerp = |a: f64, b: f64, from: f64, to: f64| a + (b - a) * ((t - from) / (to - from));
    if t < BAD_FROM {
        before
    } else if t < BAD_FULL {
        lerp(before, during, BAD_FROM, BAD_FULL)
    } else if t < BAD_EASING {
        during
    } else if t < BAD_OVER {
        lerp(during, after, BAD_EASING, BAD_OVER)
    } else {
        after
    }
}

/// A small deterministic wobble so charts look measured, not drawn with a ruler.
fn wobble(t: f64, period: f64, amount: f64) -> f64 {
    1.0 + amount * (t / period).sin()
}

fn normalized(query: &str) -> String {
    query.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Which of [`QUERIES`] `query` is, whitespace aside.
fn known(query: &str) -> Option<usize> {
    let query = normalized(query);
    QUERIES.iter().position(|q| normalized(q) == query)
}

/// The series a known query answers at story second `t`.
fn evaluate(query: usize, t: f64) -> Vec<(BTreeMap<String, String>, f64)> {
    let none = BTreeMap::new;
    match query {
        0 => vec![(
            none(),
            deploy_shape(t, 0.001, 0.06, 0.002) * wobble(t, 3.0, 0.1),
        )],
        1 => vec![(none(), 20.0 * wobble(t, 7.0, 0.07))],
        2 => vec![(
            none(),
            deploy_shape(t, 0.007, 0.045, 0.007) * wobble(t, 5.0, 0.08),
        )],
        3 => vec![(
            none(),
            deploy_shape(t, 0.015, 0.12, 0.016) * wobble(t, 5.0, 0.1),
        )],
        _ => INSTANCES
            .iter()
            .map(|instance| {
                let labels = [
                    ("__name__", "up"),
                    ("instance", instance),
                    ("job", "gravl-backend"),
                ];
                let labels = labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (labels, 1.0)
            })
            .collect(),
    }
}

/// A sample value the way Prometheus writes it.
fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

fn point(at: Timestamp, v: f64) -> String {
    format!(
        "[{},\"{}\"]",
        crate::metrics::prom::unix_text(at),
        value_text(v)
    )
}

fn labels_json(labels: &BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

fn success(data: String) -> Response<Full<Bytes>> {
    respond(
        StatusCode::OK,
        "application/json",
        format!(r#"{{"status":"success","data":{data}}}"#),
    )
}

fn bad_data(error: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"status": "error", "errorType": "bad_data", "error": error});
    respond(
        StatusCode::BAD_REQUEST,
        "application/json",
        body.to_string(),
    )
}

fn unknown_query(query: &str) -> Response<Full<Bytes>> {
    bad_data(&format!(
        "the golive demo stand-in answers only the demo plan's queries: {}; not `{query}`",
        QUERIES.join(" | ")
    ))
}

/// A time parameter: unix seconds (float) or RFC 3339.
fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(seconds) = text.parse::<f64>() {
        return crate::metrics::prom::timestamp_from_unix(seconds).ok();
    }
    text.parse().ok()
}

/// A duration parameter: float seconds or a Prometheus duration (`15s`, `1m`).
fn parse_step(text: &str) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(n * scale)
}

async fn answer(req: Request<hyper::body::Incoming>, story: Story) -> Response<Full<Bytes>> {
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
    if req.method() == hyper::Method::POST {
        match Limited::new(req.into_body(), 1024 * 1024).collect().await {
            Ok(body) => params.extend(url::form_urlencoded::parse(&body.to_bytes()).into_owned()),
            Err(e) => return bad_data(&format!("unreadable form: {e}")),
        }
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let now = Timestamp::now();
    match path.as_str() {
        "/-/ready" => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "Prometheus Server is Ready (golive demo stand-in).\n".into(),
        ),
        "/-/healthy" => respond(StatusCode::OK, "text/plain", "OK".into()),
        "/api/v1/status/buildinfo" => success(
            serde_json::json!({
                "version": VERSION,
                "revision": "golive-demo-stand-in",
                "branch": "golive",
                "buildUser": "golive",
                "buildDate": "",
                "goVersion": "none: the golive demo stand-in, not Prometheus",
            })
            .to_string(),
        ),
        "/api/v1/query" => {
            let Some(query) = param("query") else {
                return bad_data("invalid parameter \"query\": the query is empty");
            };
            let Some(index) = known(query) else {
                return unknown_query(query);
            };
            let at = match param("time") {
                Some(text) => match parse_time(text) {
                    Some(at) => at,
                    None => return bad_data(&format!("invalid parameter \"time\": `{text}`")),
                },
                None => now,
            };
            let t = story.seconds(at);
            let mut result = Vec::new();
            if t >= 0.0 {
                for (labels, v) in evaluate(index, t) {
                    result.push(format!(
                        r#"{{"metric":{},"value":{}}}"#,
                        labels_json(&labels),
                        point(at, v)
                    ));
                }
            }
            success(format!(
                r#"{{"resultType":"vector","result":[{}]}}"#,
                result.join(",")
            ))
        }
        "/api/v1/query_range" => range(&param, story, now),
        "/api/v1/alerts" => success(format!(r#"{{"alerts":[{}]}}"#, rule_alerts(story, now))),
        "/api/v2/alerts" => {
            let filters: Vec<&str> = params
                .iter()
                .filter(|(k, _)| k == "filter")
                .map(|(_, v)| v.as_str())
                .collect();
            let active = param("active") != Some("false");
            am_alerts(&filters, active, story, now)
        }
        "/api/v2/status" => respond(
            StatusCode::OK,
            "application/json",
            serde_json::json!({
                // Without clustering, Alertmanager leaves out the cluster's name.
                "cluster": {"peers": [], "status": "disabled"},
                "versionInfo": {
                    "branch": "golive", "buildDate": "", "buildUser": "golive",
                    "goVersion": "none: the golive demo stand-in, not Alertmanager",
                    "revision": "golive-demo-stand-in", "version": AM_VERSION,
                },
                "config": {"original": "# the golive demo stand-in has no configuration\n"},
                "uptime": am_time(story.start),
            })
            .to_string(),
        ),
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "404 page not found\n".into(),
        ),
    }
}

fn range<'a>(
    param: &impl Fn(&str) -> Option<&'a str>,
    story: Story,
    now: Timestamp,
) -> Response<Full<Bytes>> {
    let Some(query) = param("query") else {
        return bad_data("invalid parameter \"query\": the query is empty");
    };
    let (Some(start), Some(end)) = (
        param("start").and_then(parse_time),
        param("end").and_then(parse_time),
    ) else {
        return bad_data(
            "invalid parameter \"start\" or \"end\": need both, unix seconds or RFC 3339",
        );
    };
    let Some(step) = param("step").and_then(parse_step).filter(|s| *s > 0.0) else {
        return bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        );
    };
    if end < start {
        return bad_data("invalid parameter \"end\": end timestamp must not be before start time");
    }
    let span = end.duration_since(start).as_secs_f64();
    if (span / step) as i64 > MAX_POINTS {
        return bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    let Some(index) = known(query) else {
        return unknown_query(query);
    };
    let mut series: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let step_ms = (step * 1000.0).round() as i64;
    let mut at = start;
    while at <= end {
        let t = story.seconds(at);
        if t >= 0.0 && at <= now {
            for (labels, v) in evaluate(index, t) {
                series
                    .entry(labels_json(&labels))
                    .or_default()
                    .push(point(at, v));
            }
        }
        match at.checked_add(SignedDuration::from_millis(step_ms.max(1))) {
            Ok(next) => at = next,
            Err(_) => break,
        }
    }
    let result: Vec<String> = series
        .iter()
        .map(|(labels, points)| format!(r#"{{"metric":{labels},"values":[{}]}}"#, points.join(",")))
        .collect();
    success(format!(
        r#"{{"resultType":"matrix","result":[{}]}}"#,
        result.join(",")
    ))
}

/// An alert of the story as both APIs show it.
struct StoryAlert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// When its condition became true (Prometheus's `activeAt`).
    active_at: Timestamp,
    /// When it started firing (Alertmanager's `startsAt`); `None` while pending.
    firing_since: Option<Timestamp>,
    value: f64,
}

fn label_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The story's alerts at `now`: the always-firing `Watchdog`, and the error-rate alert
/// pending from 46 s, firing from 50 s, resolved at 100 s.
fn story_alerts(story: Story, now: Timestamp) -> Vec<StoryAlert> {
    let mut alerts = vec![StoryAlert {
        labels: label_map(&[("alertname", "Watchdog"), ("severity", "none")]),
        annotations: label_map(&[(
            "summary",
            "Always firing: proves the alerting pipeline works end to end.",
        )]),
        active_at: story.start,
        firing_since: Some(story.start),
        value: 1.0,
    }];
    let t = story.seconds(now);
    if (ALERT_PENDING..ALERT_RESOLVED).contains(&t) {
        alerts.push(StoryAlert {
            labels: label_map(&[
                ("alertname", "GravlBackendHighErrorRate"),
                ("job", "gravl-backend"),
                ("namespace", "gravl-staging"),
                ("severity", "critical"),
            ]),
            annotations: label_map(&[
                (
                    "summary",
                    "gravl-backend answers more than 5% of requests with 5xx",
                ),
                (
                    "description",
                    "The 5xx ratio over 1m has been above 5% since the deploy.",
                ),
            ]),
            active_at: story.at(ALERT_PENDING),
            firing_since: (t >= ALERT_FIRING).then(|| story.at(ALERT_FIRING)),
            value: deploy_shape(t, 0.001, 0.06, 0.002),
        });
    }
    alerts
}

/// A value as Prometheus's alert API writes it (Go's `%e` with the shortest mantissa:
/// `1e+00`, `6e-02`).
fn exponent_text(v: f64) -> String {
    let text = format!("{v:e}");
    match text.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text,
    }
}

fn rule_alerts(story: Story, now: Timestamp) -> String {
    story_alerts(story, now)
        .into_iter()
        .map(|a| {
            serde_json::json!({
                "labels": a.labels,
                "annotations": a.annotations,
                "state": if a.firing_since.is_some() { "firing" } else { "pending" },
                "activeAt": a.active_at.to_string(),
                "value": exponent_text(a.value),
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A time as Alertmanager writes it: RFC 3339 in UTC with milliseconds.
fn am_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// FNV-1a over the label set: a stable fingerprint, as Alertmanager's is.
fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in labels_json(labels).bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// One `filter` matcher: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.
fn matches(filter: &str, labels: &BTreeMap<String, String>) -> Result<bool, String> {
    let bad = || format!("bad matcher format: {filter}");
    let at = filter.find(['=', '!']).ok_or_else(bad)?;
    let (name, rest) = filter.split_at(at);
    let (op, value) = ["=~", "!~", "!=", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
        .ok_or_else(bad)?;
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let have = labels.get(name.trim()).map(String::as_str).unwrap_or("");
    Ok(match op {
        "=" => have == value,
        "!=" => have != value,
        _ => {
            let re = regex::Regex::new(&format!("^(?:{value})$")).map_err(|_| bad())?;
            re.is_match(have) == (op == "=~")
        }
    })
}

fn am_alerts(
    filters: &[&str],
    active: bool,
    story: Story,
    now: Timestamp,
) -> Response<Full<Bytes>> {
    let mut out = Vec::new();
    for alert in story_alerts(story, now) {
        let Some(starts_at) = alert.firing_since.filter(|_| active) else {
            continue;
        };
        let mut keep = true;
        for f in filters {
            match matches(f, &alert.labels) {
                Ok(m) => keep &= m,
                Err(e) => {
                    return respond(
                        StatusCode::BAD_REQUEST,
                        "application/json",
                        serde_json::Value::String(e).to_string(),
                    );
                }
            }
        }
        if !keep {
            continue;
        }
        // Prometheus resends with endsAt four evaluation intervals ahead.
        let ends = now.checked_add(SignedDuration::from_mins(4)).unwrap_or(now);
        out.push(serde_json::json!({
            "annotations": alert.annotations,
            "endsAt": am_time(ends),
            "fingerprint": fingerprint(&alert.labels),
            "receivers": [{"name": "gravl-oncall"}],
            "startsAt": am_time(starts_at),
            "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
            "updatedAt": am_time(now),
            "generatorURL": "http://golive-demo-stand-in/graph",
            "labels": alert.labels,
        }));
    }
    respond(
        StatusCode::OK,
        "application/json",
        serde_json::Value::Array(out).to_string(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn queries_match_whatever_the_whitespace() {
        let spaced = "sum(rate(http_requests_total{job=\"gravl-backend\"}[1m]))\n";
        assert_eq!(known(spaced), Some(1));
        assert_eq!(
            known(
                "histogram_quantile(0.99,sum by(le)(rate(http_request_duration_seconds_bucket{job=\"gravl-backend\"}[1m])))"
            ),
            Some(3)
        );
        assert_eq!(known("up"), None);
        assert_eq!(known(r#"up{job="gravl-frontend"}"#), None);
    }

    #[test]
    fn the_bad_deploy_raises_errors_from_40s_and_recovers_after_105s() {
        let ratio = |t| evaluate(0, t)[0].1;
        assert!((ratio(10.0) - 0.001).abs() < 0.0002);
        assert!((ratio(60.0) - 0.06).abs() < 0.007);
        assert!((ratio(120.0) - 0.002).abs() < 0.0003);
        assert!(ratio(43.0) > ratio(39.0) && ratio(43.0) < ratio(47.0));
        let p99 = |t| evaluate(3, t)[0].1;
        assert!(p99(60.0) > 5.0 * p99(10.0));
        assert_eq!(evaluate(4, 0.0).len(), 2);
    }

    #[test]
    fn alert_values_are_written_as_go_does() {
        assert_eq!(exponent_text(1.0), "1e+00");
        assert_eq!(exponent_text(0.06), "6e-02");
        assert_eq!(exponent_text(1234.5), "1.2345e+03");
    }

    #[test]
    fn filters_match_like_alertmanager() {
        let labels = label_map(&[("alertname", "Watchdog"), ("severity", "none")]);
        assert!(matches(r#"alertname="Watchdog""#, &labels).unwrap());
        assert!(!matches(r#"alertname!="Watchdog""#, &labels).unwrap());
        assert!(matches(r#"severity=~"no.*""#, &labels).unwrap());
        assert!(matches(r#"namespace!~"gravl-.*""#, &labels).unwrap());
        assert!(matches("severity", &labels).is_err());
    }
}
