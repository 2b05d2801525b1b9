//! k6 threshold syntax: `p(95)<200` on a metric selector like `http_req_duration{name:health}`.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::duration::GoDuration;

/// The kind of a k6 metric decides which aggregations a threshold may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Trend,
    Counter,
    Rate,
    Gauge,
}

/// The built-in metrics golive records, with k6's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    HttpReqDuration,
    HttpReqWaiting,
    HttpReqConnecting,
    HttpReqTlsHandshaking,
    HttpReqs,
    HttpReqFailed,
    Iterations,
    DroppedIterations,
    DataReceived,
    DataSent,
    Vus,
    VusMax,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::HttpReqDuration,
        Metric::HttpReqWaiting,
        Metric::HttpReqConnecting,
        Metric::HttpReqTlsHandshaking,
        Metric::HttpReqs,
        Metric::HttpReqFailed,
        Metric::Iterations,
        Metric::DroppedIterations,
        Metric::DataReceived,
        Metric::DataSent,
        Metric::Vus,
        Metric::VusMax,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::HttpReqDuration => "http_req_duration",
            Metric::HttpReqWaiting => "http_req_waiting",
            Metric::HttpReqConnecting => "http_req_connecting",
            Metric::HttpReqTlsHandshaking => "http_req_tls_handshaking",
            Metric::HttpReqs => "http_reqs",
            Metric::HttpReqFailed => "http_req_failed",
            Metric::Iterations => "iterations",
            Metric::DroppedIterations => "dropped_iterations",
            Metric::DataReceived => "data_received",
            Metric::DataSent => "data_sent",
            Metric::Vus => "vus",
            Metric::VusMax => "vus_max",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn kind(self) -> MetricKind {
        match self {
            Metric::HttpReqDuration
            | Metric::HttpReqWaiting
            | Metric::HttpReqConnecting
            | Metric::HttpReqTlsHandshaking => MetricKind::Trend,
            Metric::HttpReqs
            | Metric::Iterations
            | Metric::DroppedIterations
            | Metric::DataReceived
            | Metric::DataSent => MetricKind::Counter,
            Metric::HttpReqFailed => MetricKind::Rate,
            Metric::Vus | Metric::VusMax => MetricKind::Gauge,
        }
    }

    /// Tag keys a submetric of this metric may filter on.
    pub fn allowed_tags(self) -> &'static [&'static str] {
        match self {
            Metric::HttpReqDuration
            | Metric::HttpReqWaiting
            | Metric::HttpReqConnecting
            | Metric::HttpReqTlsHandshaking
            | Metric::HttpReqs
            | Metric::HttpReqFailed => &["name", "scenario", "status", "method"],
            Metric::Iterations | Metric::DroppedIterations => &["scenario"],
            _ => &[],
        }
    }
}

/// A tag filter of a submetric, e.g. `{name:health,status:200}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagFilter {
    pub name: Option<String>,
    pub scenario: Option<String>,
    pub status: Option<u16>,
    pub method: Option<String>,
}

impl TagFilter {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.scenario.is_none()
            && self.status.is_none()
            && self.method.is_none()
    }
}

/// `metric` or `metric{tag:value,...}`: the key of the `thresholds` map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricSelector {
    pub metric: Metric,
    pub filter: TagFilter,
}

impl MetricSelector {
    pub fn parse(text: &str) -> Result<MetricSelector, String> {
        let s = text.trim();
        let (name, tags) = match s.find('{') {
            Some(open) => {
                let Some(inner) = s[open + 1..].strip_suffix('}') else {
                    return Err(format!(
                        "expected a metric like http_req_duration{{name:health}}, got {text:?} (missing closing '}}')"
                    ));
                };
                (s[..open].trim(), Some(inner))
            }
            None => (s, None),
        };
        let metric = Metric::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
            format!(
                "unknown metric {name:?} in threshold key {text:?}; known metrics: {}",
                known.join(", ")
            )
        })?;
        let mut filter = TagFilter::default();
        if let Some(tags) = tags {
            for pair in tags.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((key, value)) = pair.split_once(':') else {
                    return Err(format!(
                        "expected tag:value inside braces of {text:?}, got {pair:?}"
                    ));
                };
                let key = key.trim();
                let value = value
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string();
                if !metric.allowed_tags().contains(&key) {
                    return Err(format!(
                        "metric {} cannot be filtered by tag {key:?} (allowed: {})",
                        metric.name(),
                        if metric.allowed_tags().is_empty() {
                            "none".to_string()
                        } else {
                            metric.allowed_tags().join(", ")
                        }
                    ));
                }
                match key {
                    "name" => filter.name = Some(value),
                    "scenario" => filter.scenario = Some(value),
                    "method" => filter.method = Some(value.to_ascii_uppercase()),
                    "status" => {
                        filter.status = Some(value.parse().map_err(|_| {
                            format!("expected an HTTP status code in {text:?}, got {value:?}")
                        })?)
                    }
                    _ => {}
                }
            }
        }
        Ok(MetricSelector { metric, filter })
    }

    pub fn unfiltered(metric: Metric) -> MetricSelector {
        MetricSelector {
            metric,
            filter: TagFilter::default(),
        }
    }
}

impl fmt::Display for MetricSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric.name())?;
        if self.filter.is_empty() {
            return Ok(());
        }
        let mut parts = Vec::new();
        if let Some(v) = &self.filter.name {
            parts.push(format!("name:{v}"));
        }
        if let Some(v) = &self.filter.scenario {
            parts.push(format!("scenario:{v}"));
        }
        if let Some(v) = &self.filter.status {
            parts.push(format!("status:{v}"));
        }
        if let Some(v) = &self.filter.method {
            parts.push(format!("method:{v}"));
        }
        write!(f, "{{{}}}", parts.join(","))
    }
}

impl PartialOrd for MetricSelector {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MetricSelector {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.metric, &self.filter).cmp(&(other.metric, &other.filter))
    }
}

impl Serialize for MetricSelector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MetricSelector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        MetricSelector::parse(&s).map_err(de::Error::custom)
    }
}

/// How a threshold reduces a metric to one number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aggregation {
    Avg,
    Min,
    Max,
    Med,
    Percentile(f64),
    Count,
    Rate,
    Value,
}

impl Aggregation {
    fn allowed_for(self, kind: MetricKind) -> bool {
        use Aggregation::*;
        match kind {
            MetricKind::Trend => matches!(self, Avg | Min | Max | Med | Percentile(_)),
            MetricKind::Counter => matches!(self, Count | Rate),
            MetricKind::Rate => matches!(self, Rate),
            MetricKind::Gauge => matches!(self, Value | Min | Max),
        }
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Avg => f.write_str("avg"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::Med => f.write_str("med"),
            Aggregation::Percentile(p) => write!(f, "p({p})"),
            Aggregation::Count => f.write_str("count"),
            Aggregation::Rate => f.write_str("rate"),
            Aggregation::Value => f.write_str("value"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Operator {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Operator::Lt => left < right,
            Operator::Le => left <= right,
            Operator::Gt => left > right,
            Operator::Ge => left >= right,
            Operator::Eq => left == right,
            Operator::Ne => left != right,
        }
    }
}

/// A parsed `aggregation operator value` expression such as `p(99.9)<=500`.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdExpr {
    pub aggregation: Aggregation,
    pub operator: Operator,
    pub value: f64,
    /// The expression as the user wrote it (whitespace trimmed); k6 keys results by it.
    pub source: String,
}

const EXPECTED: &str = "expected a threshold like p(95)<200, avg<100, rate<0.01 or count<10";

impl ThresholdExpr {
    pub fn parse(text: &str) -> Result<ThresholdExpr, String> {
        let bad = |why: &str| format!("{EXPECTED}, got {text:?} ({why})");
        let s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let op_at = s
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| bad("no comparison operator"))?;
        let (agg_text, rest) = s.split_at(op_at);
        let (operator, value_text) = if let Some(v) = rest.strip_prefix("<=") {
            (Operator::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Operator::Ge, v)
        } else if let Some(v) = rest.strip_prefix("===") {
            (Operator::Eq, v)
        } else if let Some(v) = rest.strip_prefix("==") {
            (Operator::Eq, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (Operator::Ne, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Operator::Lt, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Operator::Gt, v)
        } else {
            return Err(bad("unknown operator"));
        };
        let aggregation = match agg_text {
            "avg" => Aggregation::Avg,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "med" => Aggregation::Med,
            "count" => Aggregation::Count,
            "rate" => Aggregation::Rate,
            "value" => Aggregation::Value,
            other => {
                let inner = other
                    .strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| bad("unknown aggregation; use avg, min, max, med, p(N), count, rate or value"))?;
                let p: f64 = inner
                    .parse()
                    .map_err(|_| bad("percentile must be a number"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad("percentile must be between 0 and 100"));
                }
                Aggregation::Percentile(p)
            }
        };
        let value: f64 = value_text
            .parse()
            .map_err(|_| bad("threshold value must be a number"))?;
        if !value.is_finite() {
            return Err(bad("threshold value must be finite"));
        }
        Ok(ThresholdExpr {
            aggregation,
            operator,
            value,
            source: text.trim().to_string(),
        })
    }

    pub fn check_metric(&self, metric: Metric) -> Result<(), String> {
        if self.aggregation.allowed_for(metric.kind()) {
            Ok(())
        } else {
            let allowed = match metric.kind() {
                MetricKind::Trend => "avg, min, max, med, p(N)",
                MetricKind::Counter => "count, rate",
                MetricKind::Rate => "rate",
                MetricKind::Gauge => "value, min, max",
            };
            Err(format!(
                "{} cannot be used on {} (a {:?} metric; use {allowed})",
                self.aggregation,
                metric.name(),
                metric.kind()
            ))
        }
    }
}

impl fmt::Display for ThresholdExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for ThresholdExpr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for ThresholdExpr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ThresholdExpr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ThresholdExpr, E> {
                ThresholdExpr::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// One threshold: the short string form or k6's long form with `abortOnFail`.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdSpec {
    pub expr: ThresholdExpr,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<GoDuration>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LongThreshold {
    threshold: ThresholdExpr,
    #[serde(default)]
    abort_on_fail: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delay_abort_eval: Option<GoDuration>,
}

impl Serialize for ThresholdSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.abort_on_fail && self.delay_abort_eval.is_none() {
            return self.expr.serialize(serializer);
        }
        LongThreshold {
            threshold: self.expr.clone(),
            abort_on_fail: self.abort_on_fail,
            delay_abort_eval: self.delay_abort_eval,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ThresholdSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ThresholdSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a threshold like \"p(95)<200\" or {threshold: \"p(95)<200\", abortOnFail: true}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ThresholdSpec, E> {
                Ok(ThresholdSpec {
                    expr: ThresholdExpr::parse(v).map_err(E::custom)?,
                    abort_on_fail: false,
                    delay_abort_eval: None,
                })
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ThresholdSpec, A::Error> {
                let long = LongThreshold::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ThresholdSpec {
                    expr: long.threshold,
                    abort_on_fail: long.abort_on_fail,
                    delay_abort_eval: long.delay_abort_eval,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Pass, fail, or nothing measured yet. No samples is never reported as a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdState {
    Pass,
    Fail,
    NoData,
}

/// The current verdict of one threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdResult {
    /// The metric selector, e.g. `http_req_duration{name:health}`.
    pub metric: String,
    /// The expression, e.g. `p(95)<200`.
    pub expr: String,
    pub state: ThresholdState,
    /// The observed value in the metric's unit (milliseconds for durations).
    pub value: Option<f64>,
    pub abort_on_fail: bool,
    #[serde(skip)]
    pub aggregation: Option<Aggregation>,
}

impl ThresholdResult {
    pub fn ok(&self) -> bool {
        self.state == ThresholdState::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_aggregation_and_operator() {
        let e = ThresholdExpr::parse("p(95)<200").unwrap();
        assert_eq!(e.aggregation, Aggregation::Percentile(95.0));
        assert_eq!(e.operator, Operator::Lt);
        assert_eq!(e.value, 200.0);
        let e = ThresholdExpr::parse("p(99.9) <= 500").unwrap();
        assert_eq!(e.aggregation, Aggregation::Percentile(99.9));
        assert_eq!(e.operator, Operator::Le);
        for (s, agg) in [
            ("avg<100", Aggregation::Avg),
            ("med<50", Aggregation::Med),
            ("max<1000", Aggregation::Max),
            ("min>0", Aggregation::Min),
            ("rate<0.01", Aggregation::Rate),
            ("rate>100", Aggregation::Rate),
            ("count<10", Aggregation::Count),
            ("value==3", Aggregation::Value),
        ] {
            assert_eq!(ThresholdExpr::parse(s).unwrap().aggregation, agg, "{s}");
        }
        assert_eq!(
            ThresholdExpr::parse("count===0").unwrap().operator,
            Operator::Eq
        );
        assert_eq!(
            ThresholdExpr::parse("count!=0").unwrap().operator,
            Operator::Ne
        );
        assert_eq!(
            ThresholdExpr::parse("rate>=1").unwrap().operator,
            Operator::Ge
        );
    }

    #[test]
    fn rejects_malformed_expressions_with_a_hint() {
        for bad in [
            "p95<200",
            "p(95)",
            "p(95)<",
            "p(95)<abc",
            "avg<<1",
            "foo<1",
            "p(101)<1",
            "",
        ] {
            let err = ThresholdExpr::parse(bad).unwrap_err();
            assert!(
                err.contains("expected a threshold like p(95)<200"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn parses_selectors_with_tag_filters() {
        let s = MetricSelector::parse("http_req_duration{name:health}").unwrap();
        assert_eq!(s.metric, Metric::HttpReqDuration);
        assert_eq!(s.filter.name.as_deref(), Some("health"));
        let s = MetricSelector::parse("http_reqs{status:200, scenario:spike}").unwrap();
        assert_eq!(s.filter.status, Some(200));
        assert_eq!(s.filter.scenario.as_deref(), Some("spike"));
        assert_eq!(s.to_string(), "http_reqs{scenario:spike,status:200}");
        assert!(
            MetricSelector::parse("http_req_durations")
                .unwrap_err()
                .contains("unknown metric")
        );
        assert!(MetricSelector::parse("vus{name:x}").is_err());
        assert!(MetricSelector::parse("http_reqs{status:abc}").is_err());
    }

    #[test]
    fn aggregation_must_fit_the_metric_kind() {
        let p = ThresholdExpr::parse("p(95)<1").unwrap();
        assert!(p.check_metric(Metric::HttpReqs).is_err());
        assert!(p.check_metric(Metric::HttpReqDuration).is_ok());
        let r = ThresholdExpr::parse("rate<0.1").unwrap();
        assert!(r.check_metric(Metric::HttpReqFailed).is_ok());
        assert!(r.check_metric(Metric::HttpReqDuration).is_err());
    }
}
