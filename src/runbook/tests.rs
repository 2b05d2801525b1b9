use super::journal::{Action, Journal};
use super::state::*;
use crate::gates::{GateVerdict, LoadEvidence, Status, ThresholdEvidence, Verdict};
use crate::plan;
use jiff::Timestamp;

fn gravl() -> plan::Plan {
    plan::load_with_env("gravl", |_| None)
        .expect("gravl plan")
        .plan
}

fn gate(id: &str, group: &str, status: Status) -> GateVerdict {
    GateVerdict {
        id: id.into(),
        title: id.into(),
        group: group.into(),
        status,
        summary: format!("{id} {}", status.word()),
        as_of: None,
        checks: vec![],
    }
}

fn all_gates(plan: &plan::Plan, status: Status) -> Vec<GateVerdict> {
    plan.gates
        .iter()
        .map(|g| gate(&g.id.value, &g.group, status))
        .collect()
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).expect("timestamp")
}

#[test]
fn a_passing_gate_ticks_its_step_with_evidence_and_a_failing_one_does_not() {
    let plan = gravl();
    let mut gates = all_gates(&plan, Status::Fail);
    gates[0] = gate("cluster-access", "operational", Status::Pass);
    let actions = auto_verify(
        &plan,
        &RunbookState::default(),
        &gates,
        None,
        &HeldClock::default(),
    );
    assert_eq!(actions.len(), 1, "{actions:?}");
    match &actions[0] {
        Action::StepVerified {
            step,
            verify,
            evidence,
        } => {
            assert_eq!(step, "confirm-production-cluster-access");
            assert_eq!(verify, "gate cluster-access");
            assert!(evidence[0].contains("cluster-access: pass"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_verified_step_stays_ticked_when_its_gate_turns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "alice").expect("journal");
    let plan = gravl();
    let gates = all_gates(&plan, Status::Pass);
    for action in auto_verify(
        &plan,
        &RunbookState::default(),
        &gates,
        None,
        &HeldClock::default(),
    ) {
        journal.append(action, t(1)).expect("append");
    }
    let state = RunbookState::replay(&journal.entries);
    assert!(state.is_checked("confirm-production-cluster-access"));
    let failing = all_gates(&plan, Status::Fail);
    assert!(auto_verify(&plan, &state, &failing, None, &HeldClock::default()).is_empty());
    assert!(
        state.is_checked("confirm-production-cluster-access"),
        "never unticked silently"
    );
    let s = &state.steps["confirm-production-cluster-access"];
    assert_eq!(s.by.as_deref(), Some("golive"));
    assert_eq!(s.verified_by.as_deref(), Some("gate cluster-access"));
}

#[test]
fn load_verification_needs_a_finished_passing_result() {
    let plan = gravl();
    let gates = all_gates(&plan, Status::Pass);
    let running = LoadEvidence {
        source: None,
        finished_at: None,
        running: true,
        thresholds: vec![],
        requests: 10,
    };
    let ids = |a: Vec<Action>| -> Vec<String> {
        a.into_iter()
            .filter_map(|a| match a {
                Action::StepVerified { step, .. } => Some(step),
                _ => None,
            })
            .collect()
    };
    // Validation requires Deploy, which requires Pre-flight: both done here.
    let mut deployed = RunbookState::default();
    for phase in &plan.runbook[..2] {
        for s in &phase.steps {
            deployed.steps.entry(s.id()).or_default().checked = true;
        }
    }
    assert!(
        !ids(auto_verify(
            &plan,
            &deployed,
            &gates,
            Some(&running),
            &HeldClock::default()
        ))
        .contains(&"run-load-test".to_string())
    );
    let done = LoadEvidence {
        source: None,
        finished_at: Some(t(5)),
        running: false,
        thresholds: vec![ThresholdEvidence {
            metric: "http_reqs".into(),
            expr: "rate>100".into(),
            ok: true,
            measured: "150".into(),
            ..Default::default()
        }],
        requests: 4500,
    };
    assert!(
        ids(auto_verify(
            &plan,
            &deployed,
            &gates,
            Some(&done),
            &HeldClock::default()
        ))
        .contains(&"run-load-test".to_string())
    );
    assert!(
        !ids(auto_verify(
            &plan,
            &RunbookState::default(),
            &gates,
            Some(&done),
            &HeldClock::default()
        ))
        .contains(&"run-load-test".to_string()),
        "not before Deploy is done"
    );
}

#[test]
fn go_needs_gates_steps_and_every_signoff() {
    let plan = gravl();
    let gates = all_gates(&plan, Status::Pass);
    let mut state = RunbookState::default();
    let d = decide(&plan, &gates, &state);
    assert_eq!(d.verdict, Verdict::Unknown);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.to_string().contains("runbook steps open")),
        "{:?}",
        d.reasons
    );
    for phase in &plan.runbook {
        for step in &phase.steps {
            state.steps.entry(step.id()).or_default().checked = true;
        }
    }
    let d = decide(&plan, &gates, &state);
    assert_eq!(d.verdict, Verdict::Unknown);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.to_string().contains("sign-off DevOps/PM missing")),
        "{:?}",
        d.reasons
    );
    for role in &plan.signoff {
        state.signoffs.push(SignOffRecord {
            role: role.clone(),
            name: "alice".into(),
            approve: true,
            comment: None,
            at: t(9),
            operator: "alice".into(),
            verdict: "go".into(),
            gates: vec![],
        });
    }
    assert_eq!(decide(&plan, &gates, &state).verdict, Verdict::Go);
    let mut failing = gates.clone();
    failing[2].status = Status::Fail;
    let d = decide(&plan, &failing, &state);
    assert_eq!(d.verdict, Verdict::NoGo);
    assert!(
        d.reasons[0].to_string().contains("cluster-issuers"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn a_rejected_signoff_is_no_go_and_an_override_is_recorded_not_hidden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "bob").expect("journal");
    journal
        .append(
            Action::SignOff {
                role: "Security".into(),
                name: "carol".into(),
                approve: false,
                comment: Some("issuer is False".into()),
                verdict: "no-go".into(),
                gates: vec![("cluster-issuers".into(), "fail".into())],
            },
            t(1),
        )
        .expect("append");
    let plan = gravl();
    let gates = all_gates(&plan, Status::Pass);
    let before = decide(&plan, &gates, &RunbookState::replay(&journal.entries));
    assert_eq!(before.verdict, Verdict::NoGo);
    assert!(before.reasons.iter().any(|r| {
        r.to_string()
            .contains("sign-off Security rejected by carol")
    }));
    assert!(before.overridden.is_none());
    journal
        .append(
            Action::Override {
                reason: "internal CA unused in prod".into(),
                verdict: "no-go".into(),
                failing: before.reasons.iter().map(ToString::to_string).collect(),
            },
            t(2),
        )
        .expect("append");
    let state = RunbookState::replay(&journal.entries);
    let d = decide(&plan, &gates, &state);
    // The verdict stays what the evidence says; the override sits beside it, named.
    assert_eq!(d.verdict, Verdict::NoGo);
    let o = d.overridden.expect("the override is part of the decision");
    assert_eq!(o.by, "bob");
    assert_eq!(o.reason, "internal CA unused in prod");

    // Ticking a step changes the count of open steps, not what the override covered.
    let mut progressed = state.clone();
    let first = plan.runbook[0].steps[0].id();
    progressed.steps.entry(first).or_default().checked = true;
    assert!(decide(&plan, &gates, &progressed).overridden.is_some());

    // A gate that fails after the override was given is not covered by it.
    let mut failing = gates.clone();
    failing[2].status = Status::Fail;
    let d = decide(&plan, &failing, &state);
    assert!(d.overridden.is_none(), "{d:?}");
    assert!(
        d.reasons.iter().any(|r| r.to_string().contains(
            "override by bob does not cover what failed since: gate cluster-issuers failing"
        )),
        "{:?}",
        d.reasons
    );
}

#[test]
fn requires_holds_back_ticks_until_the_phase_before_is_done() {
    let plan = gravl();
    let gates = all_gates(&plan, Status::Pass);
    let deploy = &plan.runbook[1];
    let step = &deploy.steps[0];
    let state = RunbookState::default();
    assert_eq!(
        missing_requirements(&plan, &state, deploy, step),
        vec!["Pre-flight".to_string()]
    );
    let verified = auto_verify(&plan, &state, &gates, None, &HeldClock::default());
    assert!(
        verified.iter().all(|a| matches!(a, Action::StepVerified { step, .. } if plan.runbook[0].steps.iter().any(|s| &s.id() == step))),
        "only Pre-flight steps may verify themselves first: {verified:?}"
    );
    let mut done = state.clone();
    for s in &plan.runbook[0].steps {
        done.steps.entry(s.id()).or_default().checked = true;
    }
    assert!(missing_requirements(&plan, &done, deploy, step).is_empty());
    assert!(
        auto_verify(&plan, &done, &gates, None, &HeldClock::default())
            .iter()
            .any(|a| matches!(a, Action::StepVerified { step: s, .. } if *s == step.id()))
    );
}

#[test]
fn a_step_unticked_by_hand_is_not_ticked_again_by_its_gate() {
    let plan = gravl();
    let gates = all_gates(&plan, Status::Pass);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal");
    let step = "confirm-production-cluster-access".to_string();
    journal
        .append(
            Action::StepVerified {
                step: step.clone(),
                verify: "gate cluster-access".into(),
                evidence: vec![],
            },
            t(1),
        )
        .expect("append");
    journal
        .append(Action::StepUnchecked { step: step.clone() }, t(2))
        .expect("append");
    let state = RunbookState::replay(&journal.entries);
    let again = auto_verify(&plan, &state, &gates, None, &HeldClock::default());
    assert!(
        !again
            .iter()
            .any(|a| matches!(a, Action::StepVerified { step: s, .. } if *s == step)),
        "{again:?}"
    );
    journal
        .append(Action::StepChecked { step: step.clone() }, t(3))
        .expect("append");
    let state = RunbookState::replay(&journal.entries);
    assert!(state.is_checked(&step));
    assert!(!state.steps[&step].unticked_by_hand);
}

#[test]
fn a_load_run_stopped_early_or_cut_by_a_crash_never_passes_on_replay() {
    let ok = vec![(
        "http_req_duration".to_string(),
        "p(95)<200".to_string(),
        true,
        "7ms".to_string(),
    )];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal");
    journal
        .append(Action::LoadStarted { target: "t".into() }, t(1))
        .expect("append");
    journal
        .append(
            Action::LoadFinished {
                requests: 500,
                thresholds_ok: true,
                thresholds: ok.clone(),
                aborted: Some("stopped on request".into()),
                stats: None,
            },
            t(2),
        )
        .expect("append");
    let state = RunbookState::replay(&journal.entries);
    let v = crate::gates::load_verdict(state.load.as_ref());
    assert_eq!(v.status, Status::Fail, "{}", v.summary);
    assert!(v.summary.contains("stopped on request"), "{}", v.summary);

    // Started, then golive died: the next session sees a run that never finished.
    journal
        .append(Action::LoadStarted { target: "t".into() }, t(3))
        .expect("append");
    journal
        .append(
            Action::SessionStarted {
                plan: "gravl".into(),
                version: "0".into(),
            },
            t(9),
        )
        .expect("append");
    let state = RunbookState::replay(&journal.entries);
    let load = state.load.as_ref().expect("load evidence");
    assert!(!load.running);
    let v = crate::gates::load_verdict(Some(load));
    assert_eq!(v.status, Status::Fail, "{}", v.summary);
    assert!(
        v.summary.contains("golive stopped while it ran"),
        "{}",
        v.summary
    );

    // A complete run passes.
    journal
        .append(Action::LoadStarted { target: "t".into() }, t(10))
        .expect("append");
    journal
        .append(
            Action::LoadFinished {
                requests: 500,
                thresholds_ok: true,
                thresholds: ok,
                aborted: None,
                stats: None,
            },
            t(40),
        )
        .expect("append");
    let state = RunbookState::replay(&journal.entries);
    assert_eq!(
        crate::gates::load_verdict(state.load.as_ref()).status,
        Status::Pass
    );
}

/// Ticks every step and approves every role through a real journal.
fn journal_of_a_complete_go_live(dir: &std::path::Path, plan: &plan::Plan) {
    let mut journal = Journal::open(dir, "alice").expect("journal");
    let mut second = 0;
    let mut next = || {
        second += 1;
        t(second)
    };
    for phase in &plan.runbook {
        for step in &phase.steps {
            journal
                .append(Action::StepChecked { step: step.id() }, next())
                .expect("append");
        }
    }
    for role in &plan.signoff {
        journal
            .append(
                Action::SignOff {
                    role: role.clone(),
                    name: "alice".into(),
                    approve: true,
                    comment: None,
                    verdict: "go".into(),
                    gates: vec![],
                },
                next(),
            )
            .expect("append");
    }
}

#[test]
fn an_edited_journal_is_no_go_whatever_it_records_and_no_override_covers_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut plan = gravl();
    plan.load = None;
    let gates = all_gates(&plan, Status::Pass);
    journal_of_a_complete_go_live(dir.path(), &plan);
    let (entries, verification) = super::journal::verify_dir(dir.path()).expect("verify");
    let state = RunbookState::replay_checked(&entries, &verification);
    assert_eq!(decide(&plan, &gates, &state).verdict, Verdict::Go);

    // Someone rewrites who approved: the chain breaks at that line.
    let path = dir.path().join(super::journal::FILE_NAME);
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replacen(r#""name":"alice""#, r#""name":"mallory""#, 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).expect("write");
    let (entries, verification) = super::journal::verify_dir(dir.path()).expect("verify");
    let mut state = RunbookState::replay_checked(&entries, &verification);
    let d = decide(&plan, &gates, &state);
    assert_eq!(d.verdict, Verdict::NoGo, "{d:?}");
    assert!(
        d.reasons[0].to_string().starts_with("journal line ")
            && d.reasons[0].to_string().contains("edited"),
        "{:?}",
        d.reasons
    );

    state.overrides.push(OverrideRecord {
        at: t(99),
        by: "mallory".into(),
        reason: "trust me".into(),
        verdict: "no-go".into(),
        failing: d.reasons.iter().map(ToString::to_string).collect(),
    });
    let d = decide(&plan, &gates, &state);
    assert!(d.overridden.is_none(), "{d:?}");
}

#[test]
fn an_override_given_before_any_load_result_does_not_cover_a_failed_load_test() {
    let mut plan = gravl();
    // A plan whose load test is judged by the decision itself, not by a gate.
    plan.gates.retain(|g| {
        !g.checks
            .iter()
            .any(|c| matches!(c, plan::Check::LoadThresholds(_)))
    });
    let gates = all_gates(&plan, Status::Pass);
    let mut state = RunbookState::default();
    let before = decide(&plan, &gates, &state);
    assert!(
        before
            .reasons
            .iter()
            .any(|r| r.to_string().starts_with("load test undecided")),
        "{:?}",
        before.reasons
    );
    state.overrides.push(OverrideRecord {
        at: t(1),
        by: "bob".into(),
        reason: "load test tomorrow".into(),
        verdict: "unknown".into(),
        failing: before.reasons.iter().map(ToString::to_string).collect(),
    });
    assert!(decide(&plan, &gates, &state).overridden.is_some());
    state.load = Some(LoadEvidence {
        source: None,
        finished_at: Some(t(5)),
        running: false,
        requests: 100,
        thresholds: vec![ThresholdEvidence {
            metric: "http_reqs".into(),
            expr: "rate>100".into(),
            ok: false,
            measured: "19.8".into(),
            ..Default::default()
        }],
    });
    let d = decide(&plan, &gates, &state);
    assert!(d.overridden.is_none(), "{d:?}");
    assert!(
        d.reasons.iter().any(|r| r
            .to_string()
            .contains("does not cover what failed since: load test failing")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn a_held_verification_ticks_only_after_the_gate_passed_that_long_without_a_break() {
    let text = "name: held\ngates:\n  - id: error-rate\n    title: e\n    group: monitoring\n    checks:\n      - cluster_access: {}\nrunbook:\n  - phase: Monitor\n    steps:\n      - {text: Verify no increased error rates, verify: {gate: error-rate, held: 30m}}\n      - {text: Text form, verify: gate error-rate held 10m}\n";
    let plan = plan::parse("held.yaml", text, |_| None)
        .expect("plan parses")
        .plan;
    let gates = all_gates(&plan, Status::Pass);
    let clock = |held_s: i64| HeldClock {
        pass_since: [("error-rate".to_string(), t(0))].into(),
        now: t(held_s),
    };
    let ids = |actions: Vec<Action>| -> Vec<String> {
        actions
            .into_iter()
            .filter_map(|a| match a {
                Action::StepVerified { step, .. } => Some(step),
                _ => None,
            })
            .collect()
    };
    let state = RunbookState::default();
    assert!(ids(auto_verify(&plan, &state, &gates, None, &clock(300))).is_empty());
    assert_eq!(
        ids(auto_verify(&plan, &state, &gates, None, &clock(600))),
        ["text-form"]
    );
    assert_eq!(
        ids(auto_verify(&plan, &state, &gates, None, &clock(1800))),
        ["verify-no-increased-error-rates", "text-form"]
    );
    let (status, evidence) = verification(
        &plan.runbook[0].steps[0]
            .0
            .verify
            .as_ref()
            .expect("verify")
            .value,
        &gates,
        None,
        &clock(1200),
    );
    assert_eq!(status, Status::Unknown);
    assert_eq!(evidence, ["gate error-rate: passing, held 20m of 30m"]);
    // No clock for the gate (it just stopped passing): nothing is held.
    let reset = HeldClock {
        pass_since: Default::default(),
        now: t(3600),
    };
    assert!(ids(auto_verify(&plan, &state, &gates, None, &reset)).is_empty());
    assert!(plan::parse("bad.yaml", &text.replace("held 10m", "held soon"), |_| None).is_err());
}
