//! `prometheus`, `alerts` and `scraped`: the Monitor phase judged from Prometheus and
//! Alertmanager. Never a false green: no series, NaN, ±Inf, a query error, traffic under
//! `min_traffic`, an answer too old, or an alert pipeline that cannot be shown healthy is
//! `unknown`, never `pass`.
//!
//! The sources (the cockpit's poller, `golive check`) put answers in
//! [`MetricsEvidence`]; [`judge`] turns one answer into an [`Outcome`], which the poller
//! keeps per check, so `for` (hysteresis, as in a Prometheus alerting rule) is judged over
//! that history here, without I/O.

mod alerts;

pub use alerts::{evaluate_alerts, matcher_matches};

use super::{CheckKind, CheckVerdict, Context, Evidence, Status};
use crate::cluster::{ClusterView, WatchKey};
use crate::metrics::alertmanager::AlertState;
use crate::metrics::prom::{QueryAnswer, QueryData};
use crate::metrics::{
    BaselineValue, HISTORY_LIMIT, MetricsEvidence, MetricsUpdate, Observation, Outcome,
};
use crate::plan::{PrometheusCheck, ScrapedCheck};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// The key a check's history and baseline are kept under.
pub fn key(c: &PrometheusCheck) -> String {
    format!("{} {}", c.query.trim(), c.condition)
}

/// `{code="500", job="x"}`.
pub fn labels_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A value as people read it: `0.0123`, `1.5e-6`, `NaN`.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// The samples of an instant answer, each with its labels.
fn samples(answer: &QueryAnswer) -> Vec<(BTreeMap<String, String>, f64)> {
    match &answer.data {
        QueryData::Vector(v) => v.iter().map(|s| (s.labels.clone(), s.value)).collect(),
        QueryData::Scalar(_, v) => vec![(BTreeMap::new(), *v)],
        QueryData::Matrix(m) => m
            .iter()
            .filter_map(|s| s.points.last().map(|(_, v)| (s.labels.clone(), *v)))
            .collect(),
        QueryData::String(_, _) => Vec::new(),
    }
}

/// One answer judged: good when every series meets the condition, bad when one does not
/// (the worst value), undecided when there is nothing honest to judge.
pub fn judge(c: &PrometheusCheck, answer: &QueryAnswer, traffic: Option<&QueryAnswer>) -> Outcome {
    if let Some(min) = &c.min_traffic {
        let Some(traffic) = traffic else {
            return Outcome::Undecided("traffic not measured yet".into());
        };
        let total: Option<f64> = samples(traffic)
            .iter()
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
            .reduce(|a, b| a + b);
        match total {
            None => {
                return Outcome::Undecided(format!(
                    "no traffic: `{}` returned no series",
                    min.query.trim()
                ));
            }
            Some(t) if t <= min.above => {
                return Outcome::Undecided(format!(
                    "traffic {} is not above {}: too little to judge",
                    number(t),
                    number(min.above)
                ));
            }
            Some(_) => {}
        }
    }
    let all = samples(answer);
    if all.is_empty() {
        return Outcome::Undecided(
            "no data: the query returned no series (a ratio whose numerator can be empty needs `(… or vector(0)) / …`)"
                .into(),
        );
    }
    if let Some((labels, v)) = all.iter().find(|(_, v)| !v.is_finite()) {
        let why = if v.is_nan() {
            "NaN (0/0: no traffic?)"
        } else {
            "infinite"
        };
        return Outcome::Undecided(format!("{} is {why}", labels_text(labels)));
    }
    let worst = |vals: &mut dyn Iterator<Item = f64>| {
        if c.condition.upper_bound() {
            vals.fold(f64::MIN, f64::max)
        } else {
            vals.fold(f64::MAX, f64::min)
        }
    };
    let failing: Vec<f64> = all
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| !c.condition.holds(*v))
        .collect();
    if failing.is_empty() {
        Outcome::Good(worst(&mut all.iter().map(|(_, v)| *v)))
    } else {
        Outcome::Bad(worst(&mut failing.into_iter()))
    }
}

/// Where `for` leaves a history: failing (and since when), pending, or fine.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    Fine,
    /// Bad for this long, under `for`.
    Pending(SignedDuration),
    Failing {
        since: Timestamp,
        good_for: Option<SignedDuration>,
    },
}

/// `for` over a history, as a Prometheus alerting rule: bad for `hold` turns failing, good
/// for `hold` clears it; undecided evaluations change neither.
pub fn held(history: &[(Timestamp, Outcome)], hold: SignedDuration) -> Held {
    let mut failing_since: Option<Timestamp> = None;
    let mut bad_since: Option<Timestamp> = None;
    let mut good_since: Option<Timestamp> = None;
    let mut last = None;
    for (at, outcome) in history {
        last = Some(*at);
        match outcome {
            Outcome::Bad(_) => {
                good_since = None;
                let since = *bad_since.get_or_insert(*at);
                if failing_since.is_none() && at.duration_since(since) >= hold {
                    failing_since = Some(since);
                }
            }
            Outcome::Good(_) => {
                bad_since = None;
                let since = *good_since.get_or_insert(*at);
                if failing_since.is_some() && at.duration_since(since) >= hold {
                    failing_since = None;
                }
            }
            Outcome::Undecided(_) => {}
        }
    }
    let now = last.unwrap_or_default();
    match (failing_since, bad_since) {
        (Some(since), _) => Held::Failing {
            since,
            good_for: good_since.map(|g| now.duration_since(g)),
        },
        (None, Some(b)) => Held::Pending(now.duration_since(b)),
        (None, None) => Held::Fine,
    }
}

pub(super) fn age(d: SignedDuration) -> String {
    super::json::format_age(d.as_secs())
}

/// The answer the check reads, or why there is none (not asked, failed, too old).
fn fresh<'a>(
    evidence: &'a MetricsEvidence,
    query: &str,
    every: std::time::Duration,
    now: Timestamp,
) -> Result<&'a QueryAnswer, String> {
    let Some(obs) = evidence.queries.get(query.trim()) else {
        return Err("not asked yet".into());
    };
    let old = now.duration_since(obs.at);
    let limit = SignedDuration::try_from(every * 3).unwrap_or(SignedDuration::MAX);
    match &obs.answer {
        Err(e) => Err(format!("stale: {e} ({} ago)", age(old))),
        Ok(_) if old > limit.max(SignedDuration::from_secs(60)) => {
            Err(format!("stale: last answer {} ago", age(old)))
        }
        Ok(a) => Ok(a),
    }
}

fn warnings(answer: &QueryAnswer, out: &mut Vec<Evidence>) {
    for w in &answer.warnings {
        out.push(Evidence::new("Prometheus warning", w.clone()));
    }
}

/// The relative comparison with the pre-deploy baseline, when it can be made: why the
/// value is too much worse than the baseline, or None.
/// `outcome` at `at`, with a value worse than the pre-deploy baseline counted as bad, as
/// a failing absolute condition is, so `for` holds both. Values from before the deploy are
/// not compared: the baseline describes them.
pub fn with_baseline(
    c: &PrometheusCheck,
    evidence: &MetricsEvidence,
    at: Timestamp,
    outcome: Outcome,
) -> Outcome {
    let Outcome::Good(v) = outcome else {
        return outcome;
    };
    let key = key(c);
    let base = baseline_of(evidence, &key);
    if base.is_ok_and(|b| at < b.end) {
        return outcome;
    }
    let history = evidence.history.get(&key).map(Vec::as_slice).unwrap_or(&[]);
    let mut ignored = Vec::new();
    match against_baseline(c, base, history, v, &mut ignored) {
        Some(_) => Outcome::Bad(v),
        None => Outcome::Good(v),
    }
}

/// A check's baseline, or why there is none.
fn baseline_of<'a>(
    evidence: &'a MetricsEvidence,
    key: &str,
) -> Result<&'a BaselineValue, Option<&'a String>> {
    evidence
        .baselines
        .get(key)
        .ok_or_else(|| evidence.baseline_errors.get(key))
}

pub fn against_baseline(
    c: &PrometheusCheck,
    base: Result<&BaselineValue, Option<&String>>,
    after: &[(Timestamp, Outcome)],
    value: f64,
    evidence: &mut Vec<Evidence>,
) -> Option<String> {
    let spec = c.baseline.as_ref()?;
    let base = match base {
        Ok(base) => base,
        Err(why) => {
            let why = why.map_or(
                "no deploy moment known yet (`golive check --deployed-at` when there is no journal)",
                String::as_str,
            );
            evidence.push(Evidence::new(
                "baseline",
                format!("no baseline: relative comparison not made ({why})"),
            ));
            return None;
        }
    };
    let samples_after = after
        .iter()
        .filter(|(at, o)| *at >= base.end && !matches!(o, Outcome::Undecided(_)))
        .count();
    evidence.push(Evidence::new(
        "baseline",
        format!(
            "{} over {} samples from {} to {}; {samples_after} decided samples since",
            number(base.value),
            base.samples,
            base.start,
            base.end
        ),
    ));
    if base.samples < spec.min_samples || samples_after < spec.min_samples {
        evidence.push(Evidence::new(
            "baseline",
            format!(
                "too few samples to compare (need {} on each side)",
                spec.min_samples
            ),
        ));
        return None;
    }
    let worse_by = if c.condition.upper_bound() {
        value - base.value
    } else {
        base.value - value
    };
    let allowed = base.value.abs() * spec.max_increase.0;
    if worse_by > allowed && worse_by > spec.min_increase {
        Some(format!(
            "{} is {} worse than the baseline {} (allowed {:.0}% and at least {})",
            number(value),
            number(worse_by),
            number(base.value),
            spec.max_increase.0 * 100.0,
            number(spec.min_increase)
        ))
    } else {
        None
    }
}

pub fn evaluate_prometheus(c: &PrometheusCheck, ctx: &Context) -> CheckVerdict {
    const KIND: &str = "prometheus";
    let Some(evidence) = ctx.metrics() else {
        return CheckVerdict::new(
            KIND,
            Status::Unknown,
            "no Prometheus answers: monitoring is not running here",
        );
    };
    let answer = match fresh(evidence, &c.query, c.every.0, ctx.now()) {
        Ok(a) => a,
        Err(why) => {
            return CheckVerdict::new(KIND, Status::Unknown, format!("{}: {why}", c.query.trim()));
        }
    };
    let traffic = c
        .min_traffic
        .as_ref()
        .and_then(|m| fresh(evidence, &m.query, c.every.0, ctx.now()).ok());
    let mut out = Vec::new();
    for (labels, v) in samples(answer) {
        out.push(Evidence::new(
            format!("series {}", labels_text(&labels)),
            format!(
                "{} ({} {})",
                number(v),
                if c.condition.holds(v) {
                    "meets"
                } else {
                    "fails"
                },
                c.condition
            ),
        ));
    }
    warnings(answer, &mut out);
    let now_outcome = judge(c, answer, traffic);
    let key = key(c);
    let history: &[(Timestamp, Outcome)] =
        evidence.history.get(&key).map(Vec::as_slice).unwrap_or(&[]);
    let value = match &now_outcome {
        Outcome::Undecided(why) => {
            return CheckVerdict::new(KIND, Status::Unknown, format!("{}: {why}", c.query.trim()))
                .with_evidence(out);
        }
        Outcome::Good(v) | Outcome::Bad(v) => *v,
    };
    let relative = against_baseline(c, baseline_of(evidence, &key), history, value, &mut out);
    let past_unread = evidence.history_errors.get(&key);
    if let Some(why) = past_unread {
        out.push(Evidence::new(
            "history",
            format!("the range query for the past could not be read: {why}"),
        ));
    }
    let (status, summary) = match (c.hold, &now_outcome) {
        (Some(hold), _) => {
            let hold_d = SignedDuration::try_from(hold.0).unwrap_or(SignedDuration::MAX);
            match held(history, hold_d) {
                Held::Failing { since, good_for } => (
                    Status::Fail,
                    match good_for {
                        Some(g) => format!(
                            "{} {} failing since {since}; good for {} of {hold} before it clears",
                            number(value),
                            c.condition,
                            age(g)
                        ),
                        None => format!(
                            "{} fails {} since {since} (held {hold})",
                            number(value),
                            c.condition
                        ),
                    },
                ),
                Held::Pending(d) => (
                    Status::Warn,
                    format!(
                        "{} fails {} for {} of {hold}",
                        number(value),
                        c.condition,
                        age(d)
                    ),
                ),
                Held::Fine if matches!(now_outcome, Outcome::Bad(_)) => (
                    Status::Warn,
                    format!(
                        "{} fails {} (just now; fails after {hold})",
                        number(value),
                        c.condition
                    ),
                ),
                // Good now, but whether it failed within the last `for` is not known.
                Held::Fine if past_unread.is_some() => (
                    Status::Unknown,
                    format!(
                        "{} meets {} now; the last {hold} could not be read",
                        number(value),
                        c.condition
                    ),
                ),
                Held::Fine => (
                    Status::Pass,
                    format!("{} meets {}", number(value), c.condition),
                ),
            }
        }
        (None, Outcome::Bad(_)) => (
            Status::Fail,
            format!("{} fails {}", number(value), c.condition),
        ),
        (None, _) => (
            Status::Pass,
            format!("{} meets {}", number(value), c.condition),
        ),
    };
    match relative {
        // With `for`, the history already counts a worse-than-baseline value as bad, so
        // the comparison waits as the absolute condition does; without, it fails now.
        Some(worse) if status != Status::Fail && c.hold.is_none() => {
            CheckVerdict::new(KIND, Status::Fail, worse).with_evidence(out)
        }
        Some(worse) if status == Status::Pass => CheckVerdict::new(
            KIND,
            Status::Warn,
            format!(
                "{worse}; fails after {}",
                c.hold.map(|h| h.to_string()).unwrap_or_default()
            ),
        )
        .with_evidence(out),
        _ => CheckVerdict::new(KIND, status, summary).with_evidence(out),
    }
}

pub fn evaluate_scraped(c: &ScrapedCheck, ctx: &Context) -> CheckVerdict {
    const KIND: &str = "scraped";
    let Some(evidence) = ctx.metrics() else {
        return CheckVerdict::new(
            KIND,
            Status::Unknown,
            "no Prometheus answers: monitoring is not running here",
        );
    };
    let query = c.query();
    let answer = match fresh(
        evidence,
        &query,
        std::time::Duration::from_secs(15),
        ctx.now(),
    ) {
        Ok(a) => a,
        Err(why) => return CheckVerdict::new(KIND, Status::Unknown, format!("{query}: {why}")),
    };
    let targets = samples(answer);
    let up = targets.iter().filter(|(_, v)| *v == 1.0).count();
    let mut out: Vec<Evidence> = targets
        .iter()
        .map(|(labels, v)| {
            let instance = labels
                .get("instance")
                .cloned()
                .unwrap_or_else(|| labels_text(labels));
            Evidence::new(
                format!("target {instance}"),
                if *v == 1.0 {
                    "up".to_string()
                } else {
                    format!("down (up = {})", number(*v))
                },
            )
        })
        .collect();
    warnings(answer, &mut out);
    let verdict = if targets.is_empty() {
        CheckVerdict::new(
            KIND,
            Status::Fail,
            format!("Prometheus has no target of job `{}`", c.job),
        )
        .with_fix("add a scrape config or ServiceMonitor for the service's metrics port")
    } else if up < c.min_targets {
        CheckVerdict::new(
            KIND,
            Status::Fail,
            format!(
                "{up} of {} targets of job `{}` up; {} needed",
                targets.len(),
                c.job,
                c.min_targets
            ),
        )
    } else {
        CheckVerdict::new(
            KIND,
            Status::Pass,
            format!("{up}/{} targets of job `{}` up", targets.len(), c.job),
        )
    };
    verdict.with_evidence(out)
}

impl CheckKind for PrometheusCheck {
    const NAME: &'static str = "prometheus";

    fn watches(&self) -> Vec<WatchKey> {
        Vec::new()
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        Ok(evaluate_prometheus(self, ctx))
    }
}

impl CheckKind for ScrapedCheck {
    const NAME: &'static str = "scraped";

    fn watches(&self) -> Vec<WatchKey> {
        Vec::new()
    }

    fn evaluate(&self, _view: &ClusterView, ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        Ok(evaluate_scraped(self, ctx))
    }
}

/// Takes in a round of answers: each query's newest answer, each `prometheus` check's
/// outcome appended to its history (judged as the gate judges it).
pub fn take_in(evidence: &mut MetricsEvidence, update: MetricsUpdate, checks: &[&PrometheusCheck]) {
    for (query, answer) in update.queries {
        evidence.queries.insert(
            query.trim().to_string(),
            Observation {
                at: update.at,
                answer,
            },
        );
    }
    if let Some(Ok(alerts)) = &update.alerts {
        for a in alerts.iter().filter(|a| a.state == AlertState::Active) {
            let seen = evidence
                .alert_log
                .entry(a.fingerprint.clone())
                .or_insert_with(|| crate::metrics::AlertSeen {
                    name: a.labels.get("alertname").cloned().unwrap_or_default(),
                    labels: a.labels.clone(),
                    starts_at: a.starts_at,
                    last_seen: update.at,
                });
            seen.last_seen = update.at;
        }
    }
    if let Some(alerts) = update.alerts {
        evidence.alerts = Some((update.at, alerts));
    }
    if update.alertmanager_status.is_some() {
        evidence.alertmanager_status = update.alertmanager_status;
    }
    if update.prometheus_alerts.is_some() {
        evidence.prometheus_alerts = update.prometheus_alerts;
    }
    if update.prometheus_version.is_some() {
        evidence.prometheus_version = update.prometheus_version;
    }
    if update.alertmanager_url.is_some() {
        evidence.alertmanager_url = update.alertmanager_url;
    }
    for c in checks {
        let Some(Observation { at, answer }) = evidence.queries.get(c.query.trim()) else {
            continue;
        };
        if *at != update.at {
            continue;
        }
        let outcome = match answer {
            Err(e) => Outcome::Undecided(e.to_string()),
            Ok(a) => {
                let traffic = c.min_traffic.as_ref().and_then(|m| {
                    evidence
                        .queries
                        .get(m.query.trim())
                        .and_then(|o| o.answer.as_ref().ok())
                });
                judge(c, a, traffic)
            }
        };
        let key = key(c);
        let outcome = with_baseline(c, evidence, update.at, outcome);
        let history = evidence.history.entry(key).or_default();
        history.push((update.at, outcome));
        if history.len() > HISTORY_LIMIT {
            let extra = history.len() - HISTORY_LIMIT;
            history.drain(..extra);
        }
    }
}

#[cfg(test)]
mod tests;
