//! k6's own summary files, read as load evidence: `k6 run --summary-export` (the flat legacy
//! form), the `handleSummary` data object (k6 0.30 to 1.x), and k6 2's machine-readable
//! summary. Each is recognised by its shape and read into one table of numbers per metric,
//! which the plan's thresholds are then judged on (`gates::load_file`). Pure: text in.

use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

/// Which writer produced a summary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SummaryFormat {
    /// `golive load --summary-export`.
    Golive,
    /// `k6 run --summary-export=FILE`: metrics flat, thresholds `{expr: failed}`.
    K6SummaryExport,
    /// The `data` handed to `handleSummary` (`JSON.stringify(data)`).
    K6HandleSummary,
    /// k6 2's machine-readable summary (`version`, `metadata.k6Version`, `results.metrics[]`).
    K6MachineReadable,
}

impl SummaryFormat {
    pub fn describe(self) -> &'static str {
        match self {
            SummaryFormat::Golive => "golive load --summary-export",
            SummaryFormat::K6SummaryExport => "k6 --summary-export",
            SummaryFormat::K6HandleSummary => "k6 handleSummary data",
            SummaryFormat::K6MachineReadable => "k6 machine-readable summary",
        }
    }
}

/// One metric as a k6 summary holds it: its numbers by k6's stat names (`avg`, `p(95)`,
/// `count`, `rate`, `value`, `passes`…; a rate metric's legacy `value` is read as `rate`),
/// and k6's own verdict on each threshold the script gave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct K6Metric {
    /// `type` where the file says it (`trend`, `counter`, `rate`, `gauge`).
    pub kind: Option<String>,
    /// `None` where k6 wrote `null` (a trend without samples).
    pub values: BTreeMap<String, Option<f64>>,
    /// Threshold expression as the script wrote it → k6 found it met.
    pub thresholds: BTreeMap<String, bool>,
}

/// A k6 summary, whichever of k6's shapes it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct K6Summary {
    pub format: SummaryFormat,
    pub k6_version: Option<String>,
    /// When k6 says it wrote the file (only the machine-readable form says).
    pub generated_at: Option<Timestamp>,
    /// The test run's duration as the file states it.
    pub duration_ms: Option<f64>,
    pub metrics: BTreeMap<String, K6Metric>,
}

/// A file golive cannot read, with where (line and column when known) and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SummaryError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl SummaryError {
    fn at(text: &str, path: &[&str], message: String) -> Self {
        let (line, column) = match locate(text, path) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        SummaryError {
            line,
            column,
            message: format!("{}: {message}", path.join(".")),
        }
    }

    /// `FILE:LINE:COLUMN: what`, as golive names a place in any file it reads; `FILE:
    /// what` where no position is known.
    pub fn in_file(&self, file: &str) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}: {}", self.message),
            _ => format!("{file}: {}", self.message),
        }
    }
}

const KNOWN: &str = "golive reads golive's `load --summary-export`, k6's `--summary-export` \
    and the data k6 hands to handleSummary (`JSON.stringify(data)`)";

/// Parses `text` as JSON; a syntax error or a truncated file is named with its line and
/// column, and k6's `--out json` stream of samples is told apart from a summary.
pub fn parse_json(text: &str) -> Result<Value, SummaryError> {
    serde_json::from_str(text).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Eof => {
                "the file ends early (truncated? was k6 still writing it?)".to_string()
            }
            _ if looks_like_sample_stream(text) => {
                "this is k6's `--out json` stream of samples, one JSON object a line, not a \
                 summary; write one with `k6 run --summary-export=FILE` or handleSummary"
                    .to_string()
            }
            serde_json::error::Category::Syntax => format!("not valid JSON: {e}"),
            _ => format!("cannot read: {e}"),
        };
        SummaryError {
            line: Some(e.line()),
            column: Some(e.column()),
            message: why,
        }
    })
}

fn looks_like_sample_stream(text: &str) -> bool {
    text.lines()
        .next()
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .is_some_and(|v| matches!(v["type"].as_str(), Some("Metric" | "Point")))
}

/// Which writer produced `json`, by its shape; anything else is an error saying what is read.
pub fn recognise(json: &Value) -> Result<SummaryFormat, String> {
    let Some(top) = json.as_object() else {
        return Err(format!("expected a JSON object at the top; {KNOWN}"));
    };
    // k6 keeps thresholds inside each metric; only golive's export has them at the top.
    if top.get("thresholds").is_some_and(Value::is_object) {
        return Ok(SummaryFormat::Golive);
    }
    if json["metadata"]["k6Version"].is_string() || json["results"]["metrics"].is_array() {
        return Ok(SummaryFormat::K6MachineReadable);
    }
    let Some(metrics) = top.get("metrics").and_then(Value::as_object) else {
        return Err(format!("no `metrics` object; {KNOWN}"));
    };
    let nested = |m: &Value| m.get("values").is_some_and(Value::is_object);
    let (with, without) =
        metrics.values().fold(
            (0, 0),
            |(w, wo), m| {
                if nested(m) { (w + 1, wo) } else { (w, wo + 1) }
            },
        );
    match (with, without) {
        (0, 0) if json["state"]["testRunDurationMs"].is_number() => {
            Ok(SummaryFormat::K6HandleSummary)
        }
        (0, 0) if top.contains_key("root_group") => Ok(SummaryFormat::K6SummaryExport),
        (0, 0) => Err(format!(
            "an empty `metrics` object and nothing else k6 writes; {KNOWN}"
        )),
        (_, 0) => Ok(SummaryFormat::K6HandleSummary),
        (0, _) => Ok(SummaryFormat::K6SummaryExport),
        _ => Err(format!(
            "some metrics hold `values` (handleSummary data) and some do not (--summary-export): \
             a mix of k6's two shapes; {KNOWN}"
        )),
    }
}

/// Reads a k6 summary of any of k6's shapes. `text` is the file, for positions in errors.
pub fn read(text: &str, json: &Value, format: SummaryFormat) -> Result<K6Summary, SummaryError> {
    match format {
        SummaryFormat::K6SummaryExport => read_flat(text, json),
        SummaryFormat::K6HandleSummary => read_handle_summary(text, json),
        SummaryFormat::K6MachineReadable => read_machine_readable(text, json),
        SummaryFormat::Golive => Err(SummaryError {
            line: None,
            column: None,
            message: "a golive export, not a k6 summary".into(),
        }),
    }
}

fn object<'a>(
    text: &str,
    v: &'a Value,
    path: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, SummaryError> {
    v.as_object()
        .ok_or_else(|| SummaryError::at(text, path, format!("expected an object, got {}", kind(v))))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn number(text: &str, v: &Value, path: &[&str]) -> Result<Option<f64>, SummaryError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        other => Err(SummaryError::at(
            text,
            path,
            format!("expected a number, got {}", kind(other)),
        )),
    }
}

/// `--summary-export`: `metrics.NAME.{avg, p(95), count, rate, passes, fails, value…}` with
/// `thresholds: {EXPR: failed}` inside (k6 writes `true` for a threshold that FAILED).
fn read_flat(text: &str, json: &Value) -> Result<K6Summary, SummaryError> {
    let mut metrics = BTreeMap::new();
    for (name, m) in object(text, &json["metrics"], &["metrics"])? {
        let path = ["metrics", name.as_str()];
        let mut metric = K6Metric::default();
        let fields = object(text, m, &path)?;
        let is_rate = fields.contains_key("passes") && fields.contains_key("fails");
        for (stat, v) in fields {
            let at = ["metrics", name.as_str(), stat.as_str()];
            if stat == "thresholds" {
                for (expr, failed) in object(text, v, &at)? {
                    let failed = failed.as_bool().ok_or_else(|| {
                        let at = ["metrics", name.as_str(), "thresholds", expr.as_str()];
                        SummaryError::at(
                            text,
                            &at,
                            format!("expected true or false, got {}", kind(failed)),
                        )
                    })?;
                    metric.thresholds.insert(expr.clone(), !failed);
                }
                continue;
            }
            let stat = if is_rate && stat == "value" {
                "rate"
            } else {
                stat.as_str()
            };
            metric
                .values
                .insert(stat.to_string(), number(text, v, &at)?);
        }
        if is_rate {
            metric.kind = Some("rate".into());
        }
        metrics.insert(name.clone(), metric);
    }
    let duration_ms = duration_from_counters(&metrics);
    Ok(K6Summary {
        format: SummaryFormat::K6SummaryExport,
        k6_version: None,
        generated_at: None,
        duration_ms,
        metrics,
    })
}

/// The flat export drops `state`: a counter's count over its rate gives the run's length.
fn duration_from_counters(metrics: &BTreeMap<String, K6Metric>) -> Option<f64> {
    ["iterations", "http_reqs", "data_received"]
        .iter()
        .filter_map(|name| metrics.get(*name))
        .find_map(|m| match (m.values.get("count"), m.values.get("rate")) {
            (Some(Some(count)), Some(Some(rate))) if *rate > 0.0 => Some(count / rate * 1000.0),
            _ => None,
        })
}

/// handleSummary data: `metrics.NAME.{type, contains, values: {…}, thresholds: {EXPR: {ok}}}`
/// and `state.testRunDurationMs`.
fn read_handle_summary(text: &str, json: &Value) -> Result<K6Summary, SummaryError> {
    let mut metrics = BTreeMap::new();
    for (name, m) in object(text, &json["metrics"], &["metrics"])? {
        let n = name.as_str();
        let mut metric = K6Metric {
            kind: m["type"].as_str().map(str::to_string),
            ..K6Metric::default()
        };
        for (stat, v) in object(text, &m["values"], &["metrics", n, "values"])? {
            let at = ["metrics", n, "values", stat.as_str()];
            metric.values.insert(stat.clone(), number(text, v, &at)?);
        }
        if let Some(ts) = m.get("thresholds") {
            for (expr, t) in object(text, ts, &["metrics", n, "thresholds"])? {
                let ok = t["ok"].as_bool().ok_or_else(|| {
                    let at = ["metrics", n, "thresholds", expr.as_str()];
                    SummaryError::at(
                        text,
                        &at,
                        format!("expected {{\"ok\": true|false}}, got {t}"),
                    )
                })?;
                metric.thresholds.insert(expr.clone(), ok);
            }
        }
        metrics.insert(name.clone(), metric);
    }
    let duration_ms = match &json["state"]["testRunDurationMs"] {
        Value::Null => duration_from_counters(&metrics),
        v => number(text, v, &["state", "testRunDurationMs"])?,
    };
    Ok(K6Summary {
        format: SummaryFormat::K6HandleSummary,
        k6_version: None,
        generated_at: None,
        duration_ms,
        metrics,
    })
}

/// k6 2's machine-readable summary: `results.metrics[] {name, type, values}`, counters
/// without a rate (count over `config.duration` gives it), rates as `{matches, total, rate}`.
fn read_machine_readable(text: &str, json: &Value) -> Result<K6Summary, SummaryError> {
    let duration_s = number(text, &json["config"]["duration"], &["config", "duration"])?;
    let list = json["results"]["metrics"].as_array().ok_or_else(|| {
        SummaryError::at(
            text,
            &["results", "metrics"],
            "expected an array of metrics".into(),
        )
    })?;
    let mut metrics = BTreeMap::new();
    for m in list {
        let name = m["name"].as_str().ok_or_else(|| {
            SummaryError::at(
                text,
                &["results", "metrics"],
                format!("a metric without a name: {m}"),
            )
        })?;
        let mut metric = K6Metric {
            kind: m["type"].as_str().map(str::to_string),
            ..K6Metric::default()
        };
        for (stat, v) in object(text, &m["values"], &["results", "metrics", name, "values"])? {
            let at = ["results", "metrics", name, "values", stat.as_str()];
            let value = number(text, v, &at)?;
            match stat.as_str() {
                "matches" => metric.values.insert("passes".into(), value),
                other => metric.values.insert(other.to_string(), value),
            };
        }
        if metric.kind.as_deref() == Some("rate") {
            let total = metric.values.get("total").copied().flatten();
            let passes = metric.values.get("passes").copied().flatten();
            if let (Some(total), Some(passes)) = (total, passes) {
                metric.values.insert("fails".into(), Some(total - passes));
            }
        }
        if metric.kind.as_deref() == Some("counter") && !metric.values.contains_key("rate") {
            let count = metric.values.get("count").copied().flatten();
            if let (Some(count), Some(secs)) = (count, duration_s.filter(|s| *s > 0.0)) {
                metric.values.insert("rate".into(), Some(count / secs));
            }
        }
        metrics.insert(name.to_string(), metric);
    }
    let generated_at = json["metadata"]["generatedAt"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok());
    Ok(K6Summary {
        format: SummaryFormat::K6MachineReadable,
        k6_version: json["metadata"]["k6Version"].as_str().map(str::to_string),
        generated_at,
        duration_ms: duration_s.map(|s| s * 1000.0),
        metrics,
    })
}

/// Line and column (1-based) of the last key of `path` in `text`, found by looking for each
/// key in turn after the one before; `None` when a key is not written plainly.
pub fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let mut at = 0;
    for key in path {
        // As serde_json writes it, or with every non-ASCII character escaped (`\u00e9`),
        // as JavaScript's JSON.stringify does not but other writers do.
        let plain = serde_json::to_string(key).ok()?;
        let escaped: String = plain
            .chars()
            .map(|c| match c {
                c if c.is_ascii() => c.to_string(),
                c => c
                    .encode_utf16(&mut [0; 2])
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect(),
            })
            .collect();
        let rest = text.get(at..)?;
        let found = [rest.find(&plain), rest.find(&escaped)]
            .into_iter()
            .flatten()
            .min()?;
        at += found + 1;
    }
    let before = text.get(..at.saturating_sub(1))?;
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    Some((line, column))
}
