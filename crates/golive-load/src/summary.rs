//! The end-of-test text summary (k6's layout, with p(99)) and the export JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::run::{Snapshot, Summary};
use crate::stats::LatencyStats;
use crate::threshold::{Aggregation, ThresholdResult, ThresholdState};

fn trend_json(l: &LatencyStats) -> Value {
    json!({
        "avg": l.avg, "min": l.min, "med": l.med, "max": l.max,
        "p(90)": l.p90, "p(95)": l.p95, "p(99)": l.p99, "p(99.9)": l.p999, "count": l.count,
    })
}

impl Summary {
    /// The `--summary-export` document.
    pub fn to_export_json(&self) -> Value {
        let s = &self.snapshot;
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        let counter = |n: u64| json!({"count": n, "rate": n as f64 / secs});
        let mut thresholds: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for t in &s.thresholds {
            thresholds.entry(t.metric.clone()).or_default().push(json!({
                "expr": t.expr, "ok": t.ok(), "state": t.state, "value": t.value,
            }));
        }
        let statuses: BTreeMap<String, u64> = s
            .status_counts
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect();
        let errors: BTreeMap<String, u64> = s.error_counts.iter().cloned().collect();
        let by_scenario: BTreeMap<String, Value> = self
            .scenario_names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    name.clone(),
                    json!({
                        "iterations": self.iterations_by_scenario.get(i).copied().unwrap_or(0),
                        "dropped_iterations": self.dropped_by_scenario.get(i).copied().unwrap_or(0),
                    }),
                )
            })
            .collect();
        json!({
            "metrics": {
                "http_req_duration": trend_json(&s.latency),
                "http_req_duration_uncorrected": trend_json(&s.latency_uncorrected),
                "http_req_waiting": trend_json(&s.waiting),
                "http_req_connecting": trend_json(&s.connecting),
                "http_req_tls_handshaking": trend_json(&s.tls_handshaking),
                "http_reqs": counter(s.http_reqs),
                // k6 semantics: `passes` counts true samples, i.e. failed requests.
                "http_req_failed": {
                    "rate": s.failure_rate,
                    "passes": s.http_req_failed,
                    "fails": s.http_reqs - s.http_req_failed.min(s.http_reqs),
                },
                "iterations": counter(s.iterations),
                "dropped_iterations": counter(s.dropped_iterations),
                "data_received": counter(s.data_received),
                "data_sent": counter(s.data_sent),
                "vus": {"value": s.vus, "max": s.vus_max},
                "vus_max": {"value": s.vus_max},
            },
            "thresholds": thresholds,
            "status_codes": statuses,
            "errors": errors,
            "scenarios": by_scenario,
            "state": {
                "duration_ms": s.elapsed.as_millis() as u64,
                "aborted": self.aborted,
                "thresholds_ok": self.thresholds_ok(),
            },
        })
    }

    /// The k6-style text summary.
    pub fn render_text(&self) -> String {
        let s = &self.snapshot;
        let mut out = String::new();
        if !s.thresholds.is_empty() {
            out.push_str("\n  █ THRESHOLDS\n");
            let mut by_metric: BTreeMap<&str, Vec<&ThresholdResult>> = BTreeMap::new();
            for t in &s.thresholds {
                by_metric.entry(&t.metric).or_default().push(t);
            }
            for (metric, ts) in by_metric {
                let _ = writeln!(out, "\n    {metric}");
                for t in ts {
                    let _ = writeln!(
                        out,
                        "    {} '{}' {}",
                        mark(t.state),
                        t.expr,
                        threshold_value(t)
                    );
                }
            }
        }
        out.push_str("\n  █ TOTAL RESULTS\n\n    HTTP\n");
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        line(&mut out, "http_req_duration", &trend_line(&s.latency));
        if s.latency_uncorrected != s.latency {
            line(
                &mut out,
                "  uncorrected",
                &trend_line(&s.latency_uncorrected),
            );
        }
        line(&mut out, "http_req_waiting", &trend_line(&s.waiting));
        line(
            &mut out,
            "http_req_failed",
            &format!(
                "{:.2}% {} out of {}",
                s.failure_rate * 100.0,
                s.http_req_failed,
                s.http_reqs
            ),
        );
        line(
            &mut out,
            "http_reqs",
            &format!("{} {:.1}/s", s.http_reqs, s.http_reqs as f64 / secs),
        );
        if !s.status_counts.is_empty() {
            let codes: Vec<String> = s
                .status_counts
                .iter()
                .map(|(c, n)| format!("{c}={n}"))
                .collect();
            line(&mut out, "status", &codes.join(" "));
        }
        if !s.error_counts.is_empty() {
            let errs: Vec<String> = s
                .error_counts
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect();
            line(&mut out, "errors", &errs.join(" "));
        }
        out.push_str("\n    EXECUTION\n");
        line(
            &mut out,
            "iterations",
            &format!("{} {:.1}/s", s.iterations, s.iterations as f64 / secs),
        );
        if s.dropped_iterations > 0 {
            line(
                &mut out,
                "dropped_iterations",
                &format!(
                    "{} {:.1}/s",
                    s.dropped_iterations,
                    s.dropped_iterations as f64 / secs
                ),
            );
        }
        line(&mut out, "vus_max", &s.vus_max.to_string());
        out.push_str("\n    NETWORK\n");
        line(
            &mut out,
            "data_received",
            &format!(
                "{} {}/s",
                bytes(s.data_received as f64),
                bytes(s.data_received as f64 / secs)
            ),
        );
        line(
            &mut out,
            "data_sent",
            &format!(
                "{} {}/s",
                bytes(s.data_sent as f64),
                bytes(s.data_sent as f64 / secs)
            ),
        );
        let _ = writeln!(out, "\n  running for {:.1}s", secs);
        if let Some(why) = &self.aborted {
            let _ = writeln!(out, "  ended early: {why}");
        }
        if !self.thresholds_ok() {
            out.push_str("  ✗ some thresholds have failed\n");
        }
        out
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_export_json().serialize(serializer)
    }
}

fn mark(state: ThresholdState) -> &'static str {
    match state {
        ThresholdState::Pass => "✓",
        ThresholdState::Fail => "✗",
        ThresholdState::NoData => "?",
    }
}

/// `p(95)=1.23ms`, `rate=0.00%`, `rate=1234.5/s`.
pub(crate) fn threshold_value(t: &ThresholdResult) -> String {
    let Some(v) = t.value else {
        return "no data".into();
    };
    let agg = t.aggregation.map(|a| a.to_string()).unwrap_or_default();
    let duration_metric = t.metric.starts_with("http_req_duration")
        || t.metric.starts_with("http_req_waiting")
        || t.metric.starts_with("http_req_connecting")
        || t.metric.starts_with("http_req_tls");
    if duration_metric {
        format!("{agg}={}", ms(v))
    } else if t.metric.starts_with("http_req_failed") {
        format!("{agg}={:.2}%", v * 100.0)
    } else if t.aggregation == Some(Aggregation::Rate) {
        format!("{agg}={v:.1}/s")
    } else {
        format!("{agg}={v}")
    }
}

fn line(out: &mut String, name: &str, value: &str) {
    let dots = 31usize.saturating_sub(name.chars().count());
    let _ = writeln!(out, "    {name}{}: {value}", ".".repeat(dots));
}

/// Milliseconds rendered like k6: µs below 1 ms, s above 1 s.
pub fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0}µs", v * 1000.0)
    } else if v < 1000.0 {
        format!("{v:.2}ms")
    } else {
        format!("{:.2}s", v / 1000.0)
    }
}

fn trend_line(l: &LatencyStats) -> String {
    format!(
        "avg={} min={} med={} max={} p(90)={} p(95)={} p(99)={}",
        ms(l.avg),
        ms(l.min),
        ms(l.med),
        ms(l.max),
        ms(l.p90),
        ms(l.p95),
        ms(l.p99)
    )
}

pub(crate) fn bytes(b: f64) -> String {
    if b < 1000.0 {
        format!("{b:.0} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} GB", b / 1e9)
    }
}

/// One progress line: elapsed, VUs, live percentiles, rate, failures and threshold marks.
pub fn progress_line(s: &Snapshot) -> String {
    let mut out = format!(
        "{:>5.1}s/{:.0}s {} VUs  p50 {} p95 {} p99 {}  {:.0} req/s  {:.2}% failed",
        s.elapsed.as_secs_f64(),
        s.planned.as_secs_f64(),
        s.vus,
        ms(s.window.latency.med),
        ms(s.window.latency.p95),
        ms(s.window.latency.p99),
        s.window.rps,
        s.failure_rate * 100.0
    );
    if s.dropped_iterations > 0 {
        let _ = write!(out, "  {} dropped", s.dropped_iterations);
    }
    for t in &s.thresholds {
        if t.metric == "http_req_duration" {
            let _ = write!(out, "  {} {}", mark(t.state), t.expr);
        } else {
            let _ = write!(out, "  {} {} {}", mark(t.state), t.metric, t.expr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::threshold::ThresholdState;

    fn snapshot() -> Snapshot {
        let mut s = Snapshot {
            elapsed: Duration::from_secs(10),
            planned: Duration::from_secs(30),
            vus: 10,
            vus_max: 10,
            http_reqs: 1000,
            http_req_failed: 10,
            iterations: 1000,
            failure_rate: 0.01,
            ..Snapshot::default()
        };
        s.latency.p99 = 14.6;
        s.window.latency.p95 = 7.0;
        s.window.rps = 100.0;
        s.thresholds = vec![
            ThresholdResult {
                metric: "http_req_duration".into(),
                expr: "p(95)<200".into(),
                state: ThresholdState::Pass,
                value: Some(7.0),
                abort_on_fail: false,
                aggregation: Some(Aggregation::Percentile(95.0)),
            },
            ThresholdResult {
                metric: "http_req_failed".into(),
                expr: "rate<0.001".into(),
                state: ThresholdState::Fail,
                value: Some(0.01),
                abort_on_fail: false,
                aggregation: Some(Aggregation::Rate),
            },
        ];
        s
    }

    #[test]
    fn progress_line_shows_live_percentiles_rate_and_threshold_marks() {
        let line = progress_line(&snapshot());
        assert!(line.contains("p95 7.00ms"), "{line}");
        assert!(line.contains("100 req/s"), "{line}");
        assert!(line.contains("✓ p(95)<200"), "{line}");
        assert!(line.contains("✗ http_req_failed rate<0.001"), "{line}");
    }

    #[test]
    fn text_summary_reads_like_k6_with_p99() {
        let summary = Summary {
            snapshot: snapshot(),
            aborted: None,
            scenario_names: vec!["default".into()],
            iterations_by_scenario: vec![1000],
            dropped_by_scenario: vec![0],
        };
        let text = summary.render_text();
        assert!(text.contains("█ THRESHOLDS"), "{text}");
        assert!(text.contains("✓ 'p(95)<200' p(95)=7.00ms"), "{text}");
        assert!(text.contains("✗ 'rate<0.001' rate=1.00%"), "{text}");
        assert!(text.contains("p(99)=14.60ms"), "{text}");
        assert!(
            text.contains("http_req_failed................: 1.00% 10 out of 1000"),
            "{text}"
        );
        let json = summary.to_export_json();
        assert_eq!(json["thresholds"]["http_req_failed"][0]["ok"], false);
        assert_eq!(json["metrics"]["http_req_failed"]["fails"], 990);
    }
}
