//! The monitoring checks on answers of every shape: no data, NaN, too little traffic, a
//! failing series, `for` over a history, the baseline, and alerts from a pipeline that can
//! or cannot be shown healthy.

#![allow(clippy::field_reassign_with_default)] // evidence built up field by field reads best
use super::*;
use crate::metrics::Observation;
use crate::metrics::alertmanager::{Alert, RuleAlert, Status as AmStatus};
use crate::metrics::prom::{PromError, Sample};
use crate::plan::AlertsCheck;
use crate::plan::duration::PlanDuration;
use crate::plan::{Baseline, Condition, MinTraffic, Ratio};
use std::sync::Arc;
use std::time::Duration;

const RATIO: &str = "(sum(rate(errors[1m])) or vector(0)) / sum(rate(requests[1m]))";
const TRAFFIC: &str = "sum(rate(requests[1m]))";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_764_000_000 + secs).unwrap()
}

fn vector(values: &[(&str, f64)]) -> QueryAnswer {
    QueryAnswer {
        data: QueryData::Vector(
            values
                .iter()
                .map(|(code, v)| Sample {
                    labels: [("code".to_string(), code.to_string())].into(),
                    at: t(0),
                    value: *v,
                })
                .collect(),
        ),
        warnings: Vec::new(),
    }
}

fn check(hold: Option<u64>) -> PrometheusCheck {
    PrometheusCheck {
        query: RATIO.into(),
        condition: Condition::parse("< 0.01").unwrap(),
        min_traffic: Some(MinTraffic {
            query: TRAFFIC.into(),
            above: 0.5,
        }),
        baseline: None,
        hold: hold.map(|s| PlanDuration(Duration::from_secs(s))),
        every: PlanDuration(Duration::from_secs(15)),
    }
}

fn evidence(ratio: Result<QueryAnswer, PromError>, traffic: f64, at: Timestamp) -> MetricsEvidence {
    let mut e = MetricsEvidence::default();
    e.queries
        .insert(RATIO.into(), Observation { at, answer: ratio });
    e.queries.insert(
        TRAFFIC.into(),
        Observation {
            at,
            answer: Ok(vector(&[("", traffic)])),
        },
    );
    e
}

fn ctx(e: MetricsEvidence, now: Timestamp) -> Context {
    Context::new(now).with_metrics(Some(Arc::new(e)))
}

#[test]
fn zero_errors_with_traffic_pass_and_no_traffic_or_no_data_is_unknown() {
    let c = check(None);
    let pass = evaluate_prometheus(
        &c,
        &ctx(evidence(Ok(vector(&[("", 0.0)])), 20.0, t(0)), t(5)),
    );
    assert_eq!(pass.status, Status::Pass, "{}", pass.summary);
    let quiet = evaluate_prometheus(
        &c,
        &ctx(evidence(Ok(vector(&[("", 0.0)])), 0.0, t(0)), t(5)),
    );
    assert_eq!(quiet.status, Status::Unknown);
    assert!(
        quiet.summary.contains("too little to judge"),
        "{}",
        quiet.summary
    );
    let empty = evaluate_prometheus(&c, &ctx(evidence(Ok(vector(&[])), 20.0, t(0)), t(5)));
    assert_eq!(empty.status, Status::Unknown);
    assert!(empty.summary.contains("no data"), "{}", empty.summary);
    let nan = evaluate_prometheus(
        &c,
        &ctx(evidence(Ok(vector(&[("", f64::NAN)])), 20.0, t(0)), t(5)),
    );
    assert_eq!(nan.status, Status::Unknown);
    assert!(nan.summary.contains("NaN"), "{}", nan.summary);
}

#[test]
fn an_error_or_an_old_answer_is_unknown_with_prometheus_words() {
    let c = check(None);
    let err = PromError::Api {
        status: 400,
        error_type: "bad_data".into(),
        error: "parse error at char 5".into(),
    };
    let v = evaluate_prometheus(&c, &ctx(evidence(Err(err), 20.0, t(0)), t(5)));
    assert_eq!(v.status, Status::Unknown);
    assert!(
        v.summary.contains("bad_data: parse error at char 5"),
        "{}",
        v.summary
    );
    let old = evaluate_prometheus(
        &c,
        &ctx(evidence(Ok(vector(&[("", 0.0)])), 20.0, t(0)), t(600)),
    );
    assert_eq!(old.status, Status::Unknown);
    assert!(old.summary.contains("stale"), "{}", old.summary);
    let nothing = evaluate_prometheus(&c, &Context::new(t(0)));
    assert_eq!(nothing.status, Status::Unknown);
}

#[test]
fn a_failing_series_fails_and_is_named() {
    let c = check(None);
    let v = evaluate_prometheus(
        &c,
        &ctx(
            evidence(Ok(vector(&[("500", 0.04), ("503", 0.002)])), 20.0, t(0)),
            t(5),
        ),
    );
    assert_eq!(v.status, Status::Fail);
    assert_eq!(v.summary, "0.04 fails < 0.01");
    assert!(
        v.evidence
            .iter()
            .any(|e| e.object == "series {code=\"500\"}" && e.detail.starts_with("0.04 (fails"))
    );
}

#[test]
fn for_fails_only_after_the_condition_held_bad_that_long_and_clears_after_as_long_good() {
    let bad = |s| (t(s), Outcome::Bad(0.05));
    let good = |s| (t(s), Outcome::Good(0.0));
    let hold = SignedDuration::from_secs(60);
    assert_eq!(
        held(&[good(0), bad(15), bad(30)], hold),
        Held::Pending(SignedDuration::from_secs(15))
    );
    assert_eq!(
        held(&[bad(0), bad(30), bad(60)], hold),
        Held::Failing {
            since: t(0),
            good_for: None
        }
    );
    // An undecided evaluation interrupts nothing; a good one resets the bad clock.
    assert!(matches!(
        held(
            &[bad(0), (t(30), Outcome::Undecided("x".into())), bad(60)],
            hold
        ),
        Held::Failing { .. }
    ));
    assert_eq!(
        held(&[bad(0), good(30), bad(45)], hold),
        Held::Pending(SignedDuration::ZERO)
    );
    let recovering = [bad(0), bad(60), good(75), good(105)];
    assert_eq!(
        held(&recovering, hold),
        Held::Failing {
            since: t(0),
            good_for: Some(SignedDuration::from_secs(30))
        }
    );
    let cleared = [bad(0), bad(60), good(75), good(135)];
    assert_eq!(held(&cleared, hold), Held::Fine);
}

#[test]
fn the_gate_with_for_warns_while_pending_and_fails_once_held() {
    let c = check(Some(60));
    let mut e = evidence(Ok(vector(&[("", 0.05)])), 20.0, t(30));
    e.history.insert(
        key(&c),
        vec![(t(0), Outcome::Bad(0.05)), (t(30), Outcome::Bad(0.05))],
    );
    let v = evaluate_prometheus(&c, &ctx(e.clone(), t(31)));
    assert_eq!(v.status, Status::Warn, "{}", v.summary);
    assert!(v.summary.contains("for 30s of 1m"), "{}", v.summary);
    e.history
        .get_mut(&key(&c))
        .unwrap()
        .push((t(60), Outcome::Bad(0.05)));
    let v = evaluate_prometheus(&c, &ctx(e, t(61)));
    assert_eq!(v.status, Status::Fail, "{}", v.summary);
}

#[test]
fn the_baseline_fails_a_real_increase_and_not_a_tiny_one() {
    let mut c = check(None);
    c.condition = Condition::parse("< 0.05").unwrap();
    c.baseline = Some(Baseline {
        window: PlanDuration(Duration::from_secs(1800)),
        max_increase: Ratio(0.5),
        min_increase: 0.001,
        min_samples: 2,
    });
    let base = BaselineValue {
        query: RATIO.into(),
        start: t(-1800),
        end: t(0),
        value: 0.002,
        samples: 120,
    };
    let history: Vec<(Timestamp, Outcome)> =
        (1..=3).map(|i| (t(i * 15), Outcome::Good(0.02))).collect();
    let mut e = evidence(Ok(vector(&[("", 0.02)])), 20.0, t(45));
    e.history.insert(key(&c), history);
    // Without a baseline the absolute condition decides, and the evidence says so.
    let alone = evaluate_prometheus(&c, &ctx(e.clone(), t(46)));
    assert_eq!(alone.status, Status::Pass);
    assert!(alone.evidence.iter().any(|x| {
        x.detail
            .starts_with("no baseline: relative comparison not made")
    }));
    e.baselines.insert(key(&c), base.clone());
    let worse = evaluate_prometheus(&c, &ctx(e.clone(), t(46)));
    assert_eq!(worse.status, Status::Fail, "{}", worse.summary);
    assert!(
        worse.summary.contains("worse than the baseline 0.002"),
        "{}",
        worse.summary
    );
    // 0.000 → 0.0005: more than 50 % up, but under the absolute floor.
    e.baselines
        .insert(key(&c), BaselineValue { value: 0.0, ..base });
    e.queries.insert(
        RATIO.into(),
        Observation {
            at: t(45),
            answer: Ok(vector(&[("", 0.0005)])),
        },
    );
    let tiny = evaluate_prometheus(&c, &ctx(e, t(46)));
    assert_eq!(tiny.status, Status::Pass, "{}", tiny.summary);
}

fn alert(name: &str, state: AlertState, silenced: bool) -> Alert {
    Alert {
        labels: [
            ("alertname".to_string(), name.to_string()),
            ("namespace".into(), "gravl-staging".into()),
        ]
        .into(),
        annotations: [("summary".to_string(), format!("{name} summary"))].into(),
        starts_at: Some(t(0)),
        ends_at: None,
        state,
        silenced_by: if silenced {
            vec!["s1".into()]
        } else {
            Vec::new()
        },
        inhibited_by: Vec::new(),
        fingerprint: "f".into(),
        generator_url: String::new(),
    }
}

fn alerts_ctx(status: &str, alerts: Vec<Alert>, pending: Vec<RuleAlert>) -> Context {
    let mut e = MetricsEvidence::default();
    e.alertmanager_status = Some(Ok(AmStatus {
        cluster: status.into(),
        version: "0.25.0".into(),
    }));
    e.alerts = Some((t(0), Ok(alerts)));
    e.prometheus_alerts = Some(Ok(pending));
    ctx(e, t(10))
}

#[test]
fn alerts_fail_when_firing_pass_when_silenced_and_need_a_healthy_pipeline() {
    let c = AlertsCheck {
        matchers: vec![],
        ignore: vec!["Noisy".into()],
        watchdog: Some("Watchdog".into()),
    };
    let watchdog = alert("Watchdog", AlertState::Active, false);
    let firing = evaluate_alerts(
        &c,
        &alerts_ctx(
            "disabled",
            vec![
                watchdog.clone(),
                alert("HighErrors", AlertState::Active, false),
            ],
            vec![],
        ),
    );
    assert_eq!(firing.status, Status::Fail);
    assert_eq!(firing.summary, "firing: HighErrors");
    let silenced = evaluate_alerts(
        &c,
        &alerts_ctx(
            "ready",
            vec![
                watchdog.clone(),
                alert("HighErrors", AlertState::Suppressed, true),
                alert("Noisy", AlertState::Active, false),
            ],
            vec![],
        ),
    );
    assert_eq!(silenced.status, Status::Pass, "{}", silenced.summary);
    assert!(
        silenced
            .evidence
            .iter()
            .any(|e| e.detail.starts_with("silenced"))
    );
    let no_watchdog = evaluate_alerts(&c, &alerts_ctx("ready", vec![], vec![]));
    assert_eq!(no_watchdog.status, Status::Unknown);
    let settling = evaluate_alerts(&c, &alerts_ctx("settling", vec![watchdog.clone()], vec![]));
    assert_eq!(settling.status, Status::Unknown);
    let pending = RuleAlert {
        labels: [("alertname".to_string(), "Slow".to_string())].into(),
        annotations: BTreeMap::new(),
        state: "pending".into(),
        active_at: None,
        value: "1".into(),
    };
    let warn = evaluate_alerts(&c, &alerts_ctx("ready", vec![watchdog], vec![pending]));
    assert_eq!(warn.status, Status::Warn);
}

#[test]
fn alerts_firing_before_the_deploy_warn_pending_elsewhere_is_not_ours_and_firing_ones_link_a_silence()
 {
    let c = AlertsCheck {
        matchers: vec!["namespace=\"gravl-staging\"".into()],
        ignore: vec![],
        watchdog: None,
    };
    let mut e = MetricsEvidence::default();
    e.alertmanager_status = Some(Ok(AmStatus {
        cluster: "ready".into(),
        version: "0.25.0".into(),
    }));
    let mut old = alert("DiskFilling", AlertState::Active, false);
    old.starts_at = Some(t(-600));
    e.alerts = Some((t(0), Ok(vec![old.clone()])));
    e.alertmanager_url = Some("http://am.example:9093".into());
    let elsewhere = RuleAlert {
        labels: [
            ("alertname".to_string(), "Slow".to_string()),
            ("namespace".to_string(), "payments".to_string()),
        ]
        .into(),
        annotations: BTreeMap::new(),
        state: "pending".into(),
        active_at: None,
        value: "1".into(),
    };
    e.prometheus_alerts = Some(Ok(vec![elsewhere]));
    let deployed_at_with = |e: &MetricsEvidence, d: Option<Timestamp>| {
        let moments = crate::gates::Moments {
            deployed: d,
            ..Default::default()
        };
        Context::new(t(10))
            .with_metrics(Some(std::sync::Arc::new(e.clone())))
            .with_moments(moments)
    };
    let deployed_at = |d: Option<Timestamp>| deployed_at_with(&e, d);
    // Firing since 10 minutes before the deploy: shown, a warning, not this deploy's failure.
    let v = evaluate_alerts(&c, &deployed_at(Some(t(-60))));
    assert_eq!(v.status, Status::Warn, "{v:#?}");
    assert_eq!(v.summary, "firing since before the deploy: DiskFilling");
    // No deploy moment known: every firing alert fails.
    let v = evaluate_alerts(&c, &deployed_at(None));
    assert_eq!(v.status, Status::Fail, "{v:#?}");
    // The pending alert is another namespace's: not shown, no warning of its own.
    assert!(
        !v.evidence.iter().any(|e| e.object.starts_with("pending")),
        "{v:#?}"
    );
    let link = v
        .evidence
        .iter()
        .find_map(|e| e.detail.strip_prefix("silence: "))
        .expect("a silence link");
    assert_eq!(
        link,
        "http://am.example:9093/#/silences/new?filter=%7Balertname%3D%22DiskFilling%22%2Cnamespace%3D%22gravl-staging%22%7D"
    );
    // Prometheus's alerts that cannot be read are said, not skipped.
    let mut e = e.clone();
    e.prometheus_alerts = Some(Err(PromError::Unreachable {
        url: "http://prom".into(),
        message: "connection refused".into(),
    }));
    let v = evaluate_alerts(&c, &deployed_at_with(&e, Some(t(-60))));
    assert!(
        v.evidence
            .iter()
            .any(|e| e.detail.starts_with("pending alerts not read")),
        "{v:#?}"
    );
}

#[test]
fn scraped_needs_enough_targets_up() {
    let c = ScrapedCheck {
        job: "gravl-backend".into(),
        min_targets: 2,
    };
    let mut e = MetricsEvidence::default();
    let up = |values: &[f64]| QueryAnswer {
        data: QueryData::Vector(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Sample {
                    labels: [("instance".to_string(), format!("10.0.0.{i}:3001"))].into(),
                    at: t(0),
                    value: *v,
                })
                .collect(),
        ),
        warnings: vec![],
    };
    e.queries.insert(
        c.query(),
        Observation {
            at: t(0),
            answer: Ok(up(&[1.0, 1.0])),
        },
    );
    assert_eq!(
        evaluate_scraped(&c, &ctx(e.clone(), t(5))).status,
        Status::Pass
    );
    e.queries.insert(
        c.query(),
        Observation {
            at: t(0),
            answer: Ok(up(&[1.0, 0.0])),
        },
    );
    assert_eq!(
        evaluate_scraped(&c, &ctx(e.clone(), t(5))).status,
        Status::Fail
    );
    e.queries.insert(
        c.query(),
        Observation {
            at: t(0),
            answer: Ok(up(&[])),
        },
    );
    let none = evaluate_scraped(&c, &ctx(e, t(5)));
    assert_eq!(none.status, Status::Fail);
    assert!(none.summary.contains("no target of job `gravl-backend`"));
}

#[test]
fn matchers_select_as_alertmanager_does() {
    let labels: BTreeMap<String, String> = [
        ("namespace".to_string(), "gravl-staging".to_string()),
        ("severity".to_string(), "critical".to_string()),
    ]
    .into();
    assert!(matcher_matches(r#"namespace="gravl-staging""#, &labels).unwrap());
    assert!(!matcher_matches(r#"namespace!="gravl-staging""#, &labels).unwrap());
    assert!(matcher_matches(r#"severity=~"crit.*""#, &labels).unwrap());
    assert!(
        !matcher_matches(r#"severity=~"crit""#, &labels).unwrap(),
        "anchored"
    );
    assert!(matcher_matches(r#"team!~"a|b""#, &labels).unwrap());
    assert!(matcher_matches("namespace", &labels).is_err());
    let c = AlertsCheck {
        matchers: vec![r#"namespace="other""#.into()],
        ignore: vec![],
        watchdog: Some("Watchdog".into()),
    };
    let v = evaluate_alerts(
        &c,
        &alerts_ctx(
            "ready",
            vec![
                alert("Watchdog", AlertState::Active, false),
                alert("HighErrors", AlertState::Active, false),
            ],
            vec![],
        ),
    );
    assert_eq!(
        v.status,
        Status::Pass,
        "another namespace's alert: {}",
        v.summary
    );
}
