//! A load summary file as evidence for `load_thresholds`: golive's own export, or one of
//! k6's (read by `gates::k6`), on whose numbers the plan's thresholds are judged again.
//! A statistic the file does not hold leaves its threshold unknown, never met; k6's own
//! verdicts are kept beside golive's. Pure: the caller reads the file.

use super::k6::{self, K6Metric, K6Summary, SummaryFormat};
use super::load::{LoadEvidence, LoadSource, ThresholdEvidence, measured};
use golive_load::{Aggregation, LoadConfig, MetricSelector, ThresholdExpr};
use jiff::Timestamp;

/// A summary file as read from disk.
pub struct SummaryFile<'a> {
    /// The path as the operator gave it (shown in evidence and errors).
    pub path: &'a str,
    pub text: &'a str,
    /// Its modification time: when it was written, unless the file says.
    pub modified: Option<Timestamp>,
}

/// The evidence `file` holds, judged on the plan's thresholds (or, when the plan names
/// none, on the thresholds the k6 script gave). Errors say where in the file and what
/// golive reads.
pub fn evidence(file: &SummaryFile, plan: Option<&LoadConfig>) -> Result<LoadEvidence, String> {
    let fail = |e: k6::SummaryError| e.in_file(file.path);
    let json = k6::parse_json(file.text).map_err(fail)?;
    let format = k6::recognise(&json).map_err(|e| format!("{}: {e}", file.path))?;
    if format == SummaryFormat::Golive {
        // Judged like a k6 file: on its numbers against the plan's thresholds, with the
        // export's own verdicts beside. A threshold the plan has and the export does not
        // is not met by omission, and an `ok` edited by hand does not pass alone.
        let summary = golive_export(&json).map_err(|e| format!("{}: {e}", file.path))?;
        let evidence = from_k6(&summary, file, plan);
        // A run stopped with Ctrl-C or by abortOnFail did not run the planned test.
        return Ok(match json["state"]["aborted"].as_str() {
            Some(why) => evidence.ended_early(why),
            None => evidence,
        });
    }
    let summary = k6::read(file.text, &json, format).map_err(fail)?;
    Ok(from_k6(&summary, file, plan))
}

/// A `golive load --summary-export` document as a table of numbers per metric, like a k6
/// summary's: the `metrics` section's numbers, and each exported threshold's verdict and
/// value (the value fills in the statistic where `metrics` lacks it, e.g. a submetric).
fn golive_export(json: &serde_json::Value) -> Result<K6Summary, String> {
    let thresholds = json["thresholds"]
        .as_object()
        .ok_or("no `thresholds` object: is this a `golive load --summary-export` file?")?;
    let mut metrics: std::collections::BTreeMap<String, K6Metric> = json["metrics"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, m)| {
            let values = m
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), Some(v))))
                .collect();
            let metric = K6Metric {
                values,
                ..K6Metric::default()
            };
            (name.clone(), metric)
        })
        .collect();
    for (name, list) in thresholds {
        let metric = metrics.entry(name.clone()).or_default();
        for t in list.as_array().into_iter().flatten() {
            let Some(expr) = t["expr"].as_str() else {
                return Err(format!("thresholds.{name}: an entry without `expr`"));
            };
            metric
                .thresholds
                .insert(expr.to_string(), t["ok"].as_bool().unwrap_or(false));
            if let (Ok(parsed), Some(v)) = (ThresholdExpr::parse(expr), t["value"].as_f64()) {
                metric
                    .values
                    .entry(parsed.aggregation.to_string())
                    .or_insert(Some(v));
            }
        }
    }
    Ok(K6Summary {
        format: SummaryFormat::Golive,
        k6_version: None,
        generated_at: None,
        duration_ms: json["state"]["duration_ms"].as_f64(),
        metrics,
    })
}

/// The evidence a k6 summary holds against the plan's `load:` thresholds.
pub fn from_k6(summary: &K6Summary, file: &SummaryFile, plan: Option<&LoadConfig>) -> LoadEvidence {
    let mut thresholds: Vec<(Option<MetricSelector>, ThresholdEvidence)> = Vec::new();
    for (selector, specs) in plan.into_iter().flat_map(|p| &p.thresholds) {
        for spec in specs {
            let key = selector.to_string();
            let mut t = judge(summary, &key, &spec.expr);
            t.expr = spec.expr.source.clone();
            t.golive_export = summary.format == SummaryFormat::Golive;
            thresholds.push((Some(selector.clone()), t));
        }
    }
    // k6's own verdicts: beside the plan's threshold they match, else shown (and judged) alone.
    for (name, metric) in &summary.metrics {
        let selector = MetricSelector::parse(name).ok();
        for (text, ok) in &metric.thresholds {
            let parsed = ThresholdExpr::parse(text);
            let same = thresholds.iter_mut().find(|(s, t)| {
                let metric_matches = match (s, &selector) {
                    (Some(s), Some(sel)) => s == sel,
                    _ => &t.metric == name,
                };
                metric_matches && parsed.as_ref().is_ok_and(|p| same_expr(p, &t.expr))
            });
            if let Some((_, t)) = same {
                t.k6_ok = Some(*ok);
                continue;
            }
            let mut t = match &parsed {
                Ok(expr) => judge(summary, name, expr),
                Err(e) => ThresholdEvidence {
                    metric: name.clone(),
                    unknown: Some(format!("golive cannot read this expression: {e}")),
                    measured: "not judged".into(),
                    ..ThresholdEvidence::default()
                },
            };
            t.expr = text.clone();
            t.k6_ok = Some(*ok);
            t.script_only = true;
            t.golive_export = summary.format == SummaryFormat::Golive;
            thresholds.push((selector.clone(), t));
        }
    }
    let written_at = summary.generated_at.or(file.modified);
    LoadEvidence {
        finished_at: Some(written_at.unwrap_or_else(Timestamp::now)),
        running: false,
        requests: value(summary, "http_reqs", "count").map_or(0, |n| n.max(0.0) as u64),
        thresholds: thresholds.into_iter().map(|(_, t)| t).collect(),
        source: Some(LoadSource {
            format: summary.format.describe().into(),
            file: file.path.to_string(),
            k6_version: summary.k6_version.clone(),
            duration_s: summary.duration_ms.map(|ms| ms / 1000.0),
            written_at,
            stale_before: None,
            figures: figures(summary),
        }),
    }
}

impl LoadEvidence {
    /// Marks evidence from a file written before the go-live started as stale: such
    /// numbers describe some earlier run, not this go-live's service. A file whose time is
    /// unknown cannot show it is newer, so it counts as stale too.
    pub fn against_start(mut self, started: Option<Timestamp>) -> Self {
        if let (Some(source), Some(started)) = (self.source.as_mut(), started) {
            source.stale_before = match source.written_at {
                Some(written) if written >= started => None,
                _ => Some(started),
            };
        }
        self
    }
}

fn same_expr(a: &ThresholdExpr, b: &str) -> bool {
    ThresholdExpr::parse(b).is_ok_and(|b| {
        a.aggregation == b.aggregation && a.operator == b.operator && a.value == b.value
    })
}

/// The metric `key` names: written the same, or the same metric and tags written otherwise.
fn find_metric<'a>(summary: &'a K6Summary, key: &str) -> Option<&'a K6Metric> {
    if let Some(m) = summary.metrics.get(key) {
        return Some(m);
    }
    let want = MetricSelector::parse(key).ok()?;
    summary
        .metrics
        .iter()
        .find(|(k, _)| MetricSelector::parse(k).ok().as_ref() == Some(&want))
        .map(|(_, m)| m)
}

/// The stat an aggregation reads: `Some(None)` where k6 wrote null, `None` where absent.
fn stat(metric: &K6Metric, aggregation: Aggregation) -> Option<Option<f64>> {
    match aggregation {
        Aggregation::Percentile(p) => metric
            .values
            .iter()
            .find(|(k, _)| percentile_of(k) == Some(p))
            .map(|(_, v)| *v)
            .or_else(|| {
                (p == 50.0)
                    .then(|| metric.values.get("med").copied())
                    .flatten()
            }),
        other => metric.values.get(&other.to_string()).copied(),
    }
}

fn percentile_of(key: &str) -> Option<f64> {
    key.strip_prefix("p(")?.strip_suffix(')')?.parse().ok()
}

fn value(summary: &K6Summary, metric: &str, stat: &str) -> Option<f64> {
    summary
        .metrics
        .get(metric)?
        .values
        .get(stat)
        .copied()
        .flatten()
}

fn is_trend(metric: &K6Metric) -> bool {
    metric.kind.as_deref() == Some("trend")
        || metric
            .values
            .keys()
            .any(|k| k == "avg" || k == "med" || percentile_of(k).is_some())
}

/// golive's judgement of `expr` on the numbers the file holds for `key`.
fn judge(summary: &K6Summary, key: &str, expr: &ThresholdExpr) -> ThresholdEvidence {
    let mut t = ThresholdEvidence {
        metric: key.to_string(),
        expr: expr.source.clone(),
        measured: "not exported".into(),
        ..ThresholdEvidence::default()
    };
    let name = expr.aggregation.to_string();
    let Some(metric) = find_metric(summary, key) else {
        t.unknown = Some(if key.contains('{') {
            format!(
                "the file has no metric {key}; k6 exports a submetric only when a threshold of the script names it"
            )
        } else {
            format!("the file has no metric {key}")
        });
        return t;
    };
    match stat(metric, expr.aggregation) {
        Some(Some(v)) => {
            t.ok = expr.operator.holds(v, expr.value);
            t.measured = shown(key, v);
        }
        Some(None) => {
            t.unknown = Some(format!("k6 wrote null for {name} of {key} (no samples)"));
            t.measured = "null".into();
        }
        // k6 2's machine-readable schema has no room for other trend statistics.
        None if summary.format == SummaryFormat::Golive => {
            t.unknown = Some(format!("the export holds no {name} of {key}"));
        }
        None if is_trend(metric) && summary.format == SummaryFormat::K6MachineReadable => {
            t.unknown = Some(format!(
                "k6's machine-readable summary holds no {name} (only avg, min, med, max, p(90), \
                 p(95)); use handleSummary data or --summary-export with summaryTrendStats"
            ));
        }
        None if is_trend(metric) => {
            t.unknown = Some(format!(
                "k6 did not export {name}; add it to summaryTrendStats"
            ));
        }
        None => t.unknown = Some(format!("k6 did not export {name} of {key}")),
    }
    t
}

/// Durations to the hundredth of a millisecond, as k6 prints them.
fn shown(key: &str, v: f64) -> String {
    if key.starts_with("http_req_") && !key.starts_with("http_req_failed") {
        format!("{v:.2} ms")
    } else {
        measured(key, Some(v))
    }
}

/// `600 requests · 19.83 req/s · 0.00% failed · http_req_duration avg 2.90 ms · p(95) 6.98 ms`.
fn figures(summary: &K6Summary) -> String {
    let mut parts = Vec::new();
    if let Some(n) = value(summary, "http_reqs", "count") {
        parts.push(format!("{n:.0} requests"));
    }
    if let Some(r) = value(summary, "http_reqs", "rate") {
        parts.push(format!("{r:.2} req/s"));
    }
    if let Some(f) = value(summary, "http_req_failed", "rate") {
        parts.push(format!("{:.2}% failed", f * 100.0));
    }
    if let Some(d) = summary.metrics.get("http_req_duration") {
        let mut stats: Vec<(&String, f64)> = d
            .values
            .iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .filter(|(k, _)| k.as_str() != "count")
            .collect();
        let order = |k: &str| match k {
            "min" => 0.0,
            "avg" => 1.0,
            "med" => 2.0,
            "max" => 1000.0,
            k => percentile_of(k).map_or(999.0, |p| 2.0 + p),
        };
        stats.sort_by(|a, b| order(a.0).total_cmp(&order(b.0)));
        let stats: Vec<String> = stats
            .iter()
            .map(|(k, v)| format!("{k} {v:.2} ms"))
            .collect();
        parts.push(format!("http_req_duration {}", stats.join(" · ")));
    }
    if parts.is_empty() {
        "no HTTP metrics in the file".into()
    } else {
        parts.join(" · ")
    }
}
