//! The plan's monitoring part: where Prometheus and Alertmanager are (`monitoring:`) and
//! the check kinds judged from them: `prometheus` (a query against a condition, with
//! minimum traffic, a pre-deploy baseline and hysteresis), `alerts` and `scraped`.

use super::duration::PlanDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Where one HTTP API is: a URL, or a Service reached through the API server's proxy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default)]
    pub url: Option<String>,
    /// `NAMESPACE/NAME:PORT`, reached through the API server's service proxy with the
    /// kubeconfig's credentials.
    #[serde(default)]
    pub service: Option<String>,
    /// The environment variable holding a bearer token.
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A Grafana dashboard to link for the go-live's time range.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Grafana {
    pub url: String,
    #[serde(default)]
    pub dashboard: Option<String>,
}

/// `monitoring:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    #[serde(default)]
    pub prometheus: Option<Source>,
    #[serde(default)]
    pub alertmanager: Option<Source>,
    #[serde(default)]
    pub grafana: Option<Grafana>,
}

/// `< 0.01`, `<= 0.2`, `> 100`, `== 1`: what a value must satisfy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub op: Op,
    pub bound: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        let (op, rest) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find_map(|(s, op)| t.strip_prefix(s).map(|r| (op, r)))
        .ok_or_else(|| format!("condition `{t}` starts with one of < <= > >= == !="))?;
        let rest = rest.trim();
        let (number, scale) = match rest.strip_suffix('%') {
            Some(n) => (n.trim(), 0.01),
            None => (rest, 1.0),
        };
        let bound: f64 = number
            .parse()
            .map_err(|_| format!("condition `{t}`: `{rest}` is not a number"))?;
        if !bound.is_finite() {
            return Err(format!(
                "condition `{t}`: the bound must be a finite number"
            ));
        }
        Ok(Condition {
            op,
            bound: bound * scale,
        })
    }

    /// Whether a (finite) value satisfies the condition.
    pub fn holds(&self, value: f64) -> bool {
        match self.op {
            Op::Lt => value < self.bound,
            Op::Le => value <= self.bound,
            Op::Gt => value > self.bound,
            Op::Ge => value >= self.bound,
            Op::Eq => value == self.bound,
            Op::Ne => value != self.bound,
        }
    }

    /// Whether bigger values are worse (`<`, `<=`): the direction a baseline increase hurts.
    pub fn upper_bound(&self) -> bool {
        matches!(self.op, Op::Lt | Op::Le)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        };
        write!(f, "{op} {}", self.bound)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Condition::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A ratio as a plan writes it: `50%` or `0.5`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio(pub f64);

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        let value =
            match Raw::deserialize(d)? {
                Raw::Number(n) => n,
                Raw::Text(t) => match t.trim().strip_suffix('%') {
                    Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0).map_err(|_| {
                        serde::de::Error::custom(format!("`{t}` is not a percentage"))
                    })?,
                    None => t
                        .trim()
                        .parse()
                        .map_err(|_| serde::de::Error::custom(format!("`{t}` is not a ratio")))?,
                },
            };
        if !value.is_finite() || value < 0.0 {
            return Err(serde::de::Error::custom("a ratio is a finite number ≥ 0"));
        }
        Ok(Ratio(value))
    }
}

impl Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}%", self.0 * 100.0))
    }
}

/// Enough traffic for the value to mean something.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MinTraffic {
    pub query: String,
    pub above: f64,
}

/// The same query over `window` before the deploy moment.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub window: PlanDuration,
    /// How much worse than the baseline the value may get (`50%`).
    pub max_increase: Ratio,
    /// An absolute floor the increase must also pass, so 0.00 % → 0.01 % over a handful of
    /// requests does not fail. Required: over a baseline of 0 any rise is infinitely many
    /// percent, and only the plan knows the query's unit.
    pub min_increase: f64,
    /// Samples needed on each side for a relative comparison.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
}

fn default_min_samples() -> usize {
    4
}

fn default_every() -> PlanDuration {
    PlanDuration(Duration::from_secs(15))
}

/// `prometheus`: an instant query judged per series against `condition`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusCheck {
    pub query: String,
    pub condition: Condition,
    #[serde(default)]
    pub min_traffic: Option<MinTraffic>,
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// The condition must fail this long before the gate fails, and hold this long before
    /// a failure clears (as `for` in a Prometheus alerting rule).
    #[serde(default, rename = "for")]
    pub hold: Option<PlanDuration>,
    /// How often the cockpit asks (at least 15s).
    #[serde(default = "default_every")]
    pub every: PlanDuration,
}

/// `alerts`: Alertmanager's active alerts matching `matchers`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertsCheck {
    /// Alertmanager filter matchers: `namespace="gravl-staging"`, `severity=~"crit.*"`.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Alert names that never fail the gate.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// An always-firing alert (kube-prometheus's `Watchdog`) whose absence means the alert
    /// pipeline is broken.
    #[serde(default)]
    pub watchdog: Option<String>,
}

fn one() -> usize {
    1
}

/// `scraped`: Prometheus scrapes the service.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScrapedCheck {
    pub job: String,
    #[serde(default = "one")]
    pub min_targets: usize,
}

impl ScrapedCheck {
    pub fn query(&self) -> String {
        format!(
            "up{{job=\"{}\"}}",
            self.job.replace('\\', "\\\\").replace('"', "\\\"")
        )
    }
}

/// What can be told about a PromQL query without Prometheus: its brackets and quotes
/// balance. An error names the character's column in the query; Prometheus judges the rest.
pub fn query_errors(query: &str) -> Option<String> {
    let q = query.trim();
    if q.is_empty() {
        return Some("the query is empty".into());
    }
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    for (i, c) in q.chars().enumerate() {
        let col = i + 1;
        if let Some((qc, _)) = quote {
            match c {
                '\\' if qc != '`' && !escaped => escaped = true,
                _ if c == qc && !escaped => quote = None,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some((c, col)),
            '(' | '[' | '{' => open.push((c, col)),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, at)) => {
                        return Some(format!(
                            "`{c}` at column {col} closes `{o}` opened at column {at}"
                        ));
                    }
                    None => return Some(format!("`{c}` at column {col} closes nothing")),
                }
            }
            _ => {}
        }
    }
    if let Some((qc, at)) = quote {
        return Some(format!(
            "the string opened with {qc} at column {at} is not closed"
        ));
    }
    open.pop()
        .map(|(o, at)| format!("`{o}` opened at column {at} is not closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbalanced_queries_are_named_with_their_column() {
        assert_eq!(query_errors("sum(rate(x[1m]))"), None);
        assert_eq!(query_errors(r#"up{job="a)b"}"#), None, "inside a string");
        assert_eq!(
            query_errors("sum(rate(http_requests_total[1m])").as_deref(),
            Some("`(` opened at column 4 is not closed")
        );
        assert_eq!(
            query_errors("rate(x[1m)]").as_deref(),
            Some("`)` at column 10 closes `[` opened at column 7")
        );
        assert!(
            query_errors(r#"up{job="a}"#)
                .unwrap()
                .contains("not closed")
        );
        assert!(query_errors("  ").is_some());
    }

    #[test]
    fn conditions_read_as_written() {
        let c = Condition::parse("< 1%").unwrap();
        assert_eq!(
            c,
            Condition {
                op: Op::Lt,
                bound: 0.01
            }
        );
        assert!(c.holds(0.005) && !c.holds(0.01));
        assert_eq!(Condition::parse(">=100").unwrap().op, Op::Ge);
        assert!(Condition::parse("about 3").is_err());
        assert!(Condition::parse("< NaN").is_err());
        assert!(
            Condition::parse("< x")
                .unwrap_err()
                .contains("not a number")
        );
    }
}
