use super::*;
use crate::gates::{CheckVerdict, Evidence, GateVerdict, Status};
use crate::plan;
use crate::runbook::journal::{Action, Journal, LoadStats};
use crate::runbook::state::{RunbookState, decide};

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_795_600_000 + s).expect("timestamp")
}

fn gates(plan: &plan::Plan) -> Vec<GateVerdict> {
    plan.gates
        .iter()
        .map(|g| {
            let (status, summary, evidence) = match g.id.value.as_str() {
                "cluster-issuers" => (
                    Status::Fail,
                    "internal-ca-issuer False",
                    vec![Evidence::new(
                        "ClusterIssuer internal-ca-issuer",
                        "Ready=False ErrGetKeyPair: secret | not found",
                    )],
                ),
                "network-policies" => (
                    Status::Unknown,
                    "stale: watch on networkpolicies failed",
                    vec![],
                ),
                _ => (Status::Pass, "ok", vec![]),
            };
            GateVerdict {
                id: g.id.value.clone(),
                title: g.title.clone(),
                group: g.group.clone(),
                status,
                summary: summary.into(),
                as_of: Some(t(0)),
                checks: vec![CheckVerdict::new("x", status, summary).with_evidence(evidence)],
            }
        })
        .collect()
}

/// A go-live with ticks by a person and by golive, a load result, a sign-off and an override.
fn fixture() -> (
    plan::Plan,
    RunbookState,
    crate::runbook::journal::Verification,
    tempfile::TempDir,
) {
    let plan = plan::load_with_env("gravl", |_| None).expect("plan").plan;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut j = Journal::open(dir.path(), "alice").expect("journal");
    let actions = vec![
        Action::SessionStarted {
            plan: plan.name.clone(),
            version: "test".into(),
        },
        Action::StepChecked {
            step: "verify-all-production-dns-records".into(),
        },
        Action::StepVerified {
            step: "confirm-production-cluster-access".into(),
            verify: "gate cluster-access".into(),
            evidence: vec!["gate cluster-access: pass all 10 resources listable".into()],
        },
        Action::Note {
            step: Some("notify-stakeholders".into()),
            text: "posted in #launch".into(),
        },
        Action::LoadStarted {
            target: "http://127.0.0.1:8080".into(),
        },
        Action::LoadFinished {
            requests: 594,
            thresholds_ok: false,
            thresholds: vec![
                (
                    "http_req_duration".into(),
                    "p(95)<200".into(),
                    true,
                    "7.0 ms".into(),
                ),
                ("http_reqs".into(), "rate>100".into(), false, "19.8".into()),
            ],
            aborted: None,
            stats: Some(LoadStats {
                duration_s: 30.0,
                rps: 19.8,
                failure_rate: 0.0,
                p50_ms: 1.9,
                p90_ms: 5.1,
                p95_ms: 7.0,
                p99_ms: 14.6,
                max_ms: 21.8,
                avg_ms: 2.4,
                data_received: 1_600_000,
            }),
        },
        Action::SignOff {
            role: "Security".into(),
            name: "carol".into(),
            approve: false,
            comment: Some("internal-ca-issuer is False".into()),
            verdict: "no-go".into(),
            gates: vec![("cluster-issuers".into(), "fail".into())],
        },
        Action::Override {
            reason: "internal CA not used by gravl".into(),
            verdict: "no-go".into(),
            failing: [
                "gate cluster-issuers failing: internal-ca-issuer False",
                "sign-off Security rejected by carol",
                "gate network-policies undecided: stale",
                "runbook steps open: 14 (first: Validate backup procedures)",
                "sign-off DevOps/PM missing",
                "sign-off Performance missing",
            ]
            .map(String::from)
            .to_vec(),
        },
    ];
    for (i, a) in actions.into_iter().enumerate() {
        j.append(a, t(60 * i as i64)).expect("append");
    }
    let state = RunbookState::replay(&j.entries);
    let (_, verification) = crate::runbook::journal::verify_dir(dir.path()).expect("verify");
    (plan, state, verification, dir)
}

/// Renders the fixture's go-live with `render`, an hour after it started.
fn render<T>(render: impl Fn(&ReportInput) -> T) -> (T, crate::runbook::journal::Verification) {
    render_at(t(3600), render)
}

/// Renders the fixture's go-live with `render` as of `generated_at`.
fn render_at<T>(
    generated_at: Timestamp,
    render: impl Fn(&ReportInput) -> T,
) -> (T, crate::runbook::journal::Verification) {
    let (plan, state, verification, _dir) = fixture();
    let gates = gates(&plan);
    let decision = decide(&plan, &gates, &state);
    let input = ReportInput {
        plan: &plan,
        context: "kind-staging",
        generated_at,
        gates: &gates,
        state: &state,
        decision: &decision,
        journal: &verification,
        metrics: None,
        notes: &[],
    };
    (render(&input), verification.clone())
}

/// The Markdown report of `state` an hour after the go-live started, with `metrics`.
fn markdown_with(
    plan: &plan::Plan,
    state: &RunbookState,
    verification: &crate::runbook::journal::Verification,
    metrics: Option<&crate::metrics::MetricsEvidence>,
) -> String {
    let gates = gates(plan);
    let decision = decide(plan, &gates, state);
    markdown(&ReportInput {
        plan,
        context: "kind-staging",
        generated_at: t(3600),
        gates: &gates,
        state,
        decision: &decision,
        journal: verification,
        metrics,
        notes: &[],
    })
}

#[test]
fn markdown_report_reads_like_a_launch_ticket() {
    let (text, _) = render(markdown);
    assert!(
        text.contains("## Verdict: GO by override (alice overrode NO-GO)"),
        "{text}"
    );
    assert!(text.contains("| 30 s | 19.8 |"), "load figures are shown");
    assert!(text.contains("**OVERRIDDEN to GO** by alice"));
    assert!(
        text.contains("- [x] Confirm production cluster access — verified by gate cluster-access")
    );
    assert!(
        text.contains("secret \\| not found"),
        "pipes are escaped in cells"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn json_report_has_steps_with_who_and_how() {
    let (json, verification) = render(json);
    let steps = &json["runbook"]["phases"][0]["steps"];
    assert_eq!(steps[0]["text"], "Verify all production DNS records");
    assert_eq!(steps[0]["checked"], true);
    assert_eq!(steps[0]["by"], "alice");
    assert_eq!(steps[1]["verified_by"], "gate cluster-access");
    assert_eq!(steps[2]["checked"], false);
    assert_eq!(json["verdict"], "no-go");
    assert_eq!(json["journal"]["intact"], true);
    assert_eq!(json["journal"]["final_hash"], verification.final_hash);
}

#[test]
fn junit_makes_failures_and_undecided_gates_red() {
    let (xml, _) = render(junit);
    assert!(xml.contains("<testcase classname=\"gates.security\" name=\"cluster-issuers\"><failure message=\"internal-ca-issuer False\">"));
    assert!(xml.contains("name=\"network-policies\"><error message=\"undecided:"));
    assert!(xml.contains("<testcase classname=\"load.thresholds\" name=\"http_reqs rate&gt;100\"><failure message=\"measured 19.8\"/>"));
    insta::assert_snapshot!(xml);
}

#[test]
fn junit_without_a_load_run_lists_the_planned_thresholds_as_undecided_and_the_verdict_red() {
    let plan = plan::load_with_env("gravl", |_| None).expect("plan").plan;
    let gates: Vec<GateVerdict> = gates(&plan)
        .into_iter()
        .map(|mut g| {
            g.status = Status::Pass;
            g
        })
        .collect();
    let state = RunbookState::default();
    let decision = decide(&plan, &gates, &state);
    let (_, verification) = crate::runbook::journal::verify_text("");
    let input = ReportInput {
        plan: &plan,
        context: "kind-staging",
        generated_at: t(0),
        gates: &gates,
        state: &state,
        decision: &decision,
        journal: &verification,
        metrics: None,
        notes: &[],
    };
    let xml = junit(&input);
    assert!(
        xml.contains(
            "<testsuite name=\"load.thresholds\" tests=\"4\" failures=\"0\" errors=\"4\">"
        ),
        "{xml}"
    );
    assert!(
        xml.contains(
            "name=\"http_reqs rate&gt;100\"><error message=\"undecided: no load test was run\"/>"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"go-live\" name=\"verdict\"><error message=\"undecided: UNKNOWN\">"),
        "{xml}"
    );
}

#[test]
fn markdown_shows_what_a_step_was_verified_on_and_the_gates_under_each_sign_off() {
    let (text, _) = render(markdown);
    assert!(
        text.contains("  - evidence: gate cluster-access"),
        "auto-verified steps carry their evidence: {text}"
    );
    assert!(
        text.contains("| Security | carol | ❌ rejected |")
            && text.contains("| cluster-issuers fail |"),
        "a sign-off shows the gates it was given over: {text}"
    );
}

#[test]
fn markdown_shows_each_phase_against_its_budget_as_the_phase_tab_does() {
    let (text, _) = render(markdown);
    assert!(
        text.contains("### Pre-flight (1h/30m over)\n"),
        "an open phase runs to the report's time, an hour after the start: {text}"
    );
    assert!(
        text.contains("### Deploy (–/2h)\n"),
        "a phase whose requires are open has not started: {text}"
    );
    let (early, _) = render_at(t(20 * 60), markdown);
    assert!(early.contains("### Pre-flight (20m/30m)\n"), "{early}");
}

#[test]
fn markdown_phase_times_are_the_cockpits_words_for_the_same_go_live() {
    let (plan, state, _, _dir) = fixture();
    let (text, _) = render(markdown);
    for phase in &plan.runbook {
        let time = crate::runbook::timing::PhaseTime::of(&plan.runbook, &state, phase, t(3600))
            .against_budget()
            .expect("every gravl phase has a budget");
        let heading = format!("### {} ({time})\n", phase.phase.value);
        assert!(text.contains(&heading), "{heading} in {text}");
    }
}

#[test]
fn json_gives_each_phase_its_elapsed_time_and_whether_it_is_over_budget() {
    let (report, _) = render(json);
    let phases = &report["runbook"]["phases"];
    assert_eq!(phases[0]["phase"], "Pre-flight");
    assert_eq!(phases[0]["budget"], "30m");
    assert_eq!(phases[0]["elapsed"], "1h");
    assert_eq!(phases[0]["elapsed_s"], 3600);
    assert_eq!(phases[0]["over_budget"], true);
    assert_eq!(
        phases[1]["elapsed"],
        serde_json::Value::Null,
        "Deploy has not opened"
    );
    assert_eq!(phases[1]["elapsed_s"], serde_json::Value::Null);
    assert_eq!(phases[1]["over_budget"], false);
    let (early, _) = render_at(t(20 * 60), json);
    assert_eq!(early["runbook"]["phases"][0]["elapsed"], "20m");
    assert_eq!(early["runbook"]["phases"][0]["over_budget"], false);
}

#[test]
fn markdown_monitor_section_gives_baseline_figures_after_the_deploy_and_alerts() {
    use crate::metrics::{AlertSeen, BaselineValue, MetricsEvidence, Outcome};
    let (plan, mut state, verification, _dir) = fixture();
    let error_rate = plan
        .gates
        .iter()
        .flat_map(|g| &g.checks)
        .find_map(|c| match c {
            plan::Check::Prometheus(p) if p.condition.to_string() == "< 0.01" => Some(p),
            _ => None,
        })
        .expect("the gravl plan has an error-rate query");
    let key = crate::gates::monitor::key(error_rate);
    state.baselines.insert(
        key.clone(),
        BaselineValue {
            query: error_rate.query.clone(),
            start: t(0),
            end: t(1800),
            value: 0.001,
            samples: 120,
        },
    );
    let mut metrics = MetricsEvidence::default();
    metrics.history.insert(
        key,
        vec![
            (t(1700), Outcome::Good(0.0005)),
            (t(1815), Outcome::Good(0.001)),
            (t(1830), Outcome::Bad(0.06)),
            (t(1845), Outcome::Undecided("no traffic".into())),
            (t(1860), Outcome::Good(0.002)),
        ],
    );
    metrics.alert_log.insert(
        "f1".into(),
        AlertSeen {
            name: "GravlBackendHighErrorRate".into(),
            labels: [(
                "alertname".to_string(),
                "GravlBackendHighErrorRate".to_string(),
            )]
            .into(),
            starts_at: Some(t(1832)),
            last_seen: t(1900),
        },
    );
    // The deploy moment: a rollout started at 1800.
    state.rollouts.push(crate::runbook::state::RolloutRecord {
        at: t(1800),
        workload: "Deployment gravl-staging/backend".into(),
        event: "started".into(),
        revision: "rev 3 → 4".into(),
        images: vec![],
        detail: String::new(),
        duration_s: None,
    });
    let text = markdown_with(&plan, &state, &verification, Some(&metrics));
    let section = &text[text.find("## Monitor").expect("a Monitor section")..];
    assert!(
        section.contains(&format!("Deploy moment: {}.", t(1800))),
        "{section}"
    );
    assert!(
        section.contains("- baseline: 0.001 over 120 samples"),
        "{section}"
    );
    assert!(
        section.contains("- after the deploy: 3 evaluations over 45s (1 undecided); min 0.001, max 0.06, last 0.002"),
        "{section}"
    );
    assert!(
        section.contains(&format!(
            "- worst 0.06 at {}; the condition failed in 1 of 3 evaluations",
            t(1830)
        )),
        "{section}"
    );
    assert!(section.contains("- GravlBackendHighErrorRate"), "{section}");
}

#[test]
fn journaled_alerts_are_listed_with_when_they_resolved_even_without_prometheus() {
    let (plan, _, _, dir) = fixture();
    let mut journal = Journal::open(dir.path(), "ana").expect("journal");
    let labels: std::collections::BTreeMap<String, String> = [(
        "alertname".to_string(),
        "GravlBackendHighErrorRate".to_string(),
    )]
    .into();
    let alert = |event: &str| Action::Alert {
        fingerprint: "f1".into(),
        name: "GravlBackendHighErrorRate".into(),
        labels: labels.clone(),
        starts_at: Some(t(1832)),
        event: event.into(),
    };
    journal.append(alert("firing"), t(1840)).expect("appended");
    journal
        .append(alert("resolved"), t(1960))
        .expect("appended");
    let state = RunbookState::replay(&journal.entries);
    let record = state.alerts.get("f1").expect("the alert is replayed");
    assert_eq!(record.seen_at, t(1840));
    assert_eq!(record.resolved_at, Some(t(1960)));
    let (_, verification) = crate::runbook::journal::verify_dir(dir.path()).expect("verifies");
    let text = markdown_with(&plan, &state, &verification, None);
    let section = &text[text.find("## Monitor").expect("a Monitor section")..];
    assert!(
        section.contains(&format!(
            "- GravlBackendHighErrorRate {{alertname=\"GravlBackendHighErrorRate\"}}: firing from {}, seen by golive at {}, resolved by {}",
            t(1832),
            t(1840),
            t(1960)
        )),
        "{section}"
    );
}
