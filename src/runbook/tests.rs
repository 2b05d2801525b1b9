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
    let actions = auto_verify(&plan, &RunbookState::default(), &gates, None);
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
    for action in auto_verify(&plan, &RunbookState::default(), &gates, None) {
        journal.append(action, t(1)).expect("append");
    }
    let state = RunbookState::replay(&journal.entries);
    assert!(state.is_checked("confirm-production-cluster-access"));
    let failing = all_gates(&plan, Status::Fail);
    assert!(auto_verify(&plan, &state, &failing, None).is_empty());
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
    assert!(
        !ids(auto_verify(
            &plan,
            &RunbookState::default(),
            &gates,
            Some(&running)
        ))
        .contains(&"run-load-test".to_string())
    );
    let done = LoadEvidence {
        finished_at: Some(t(5)),
        running: false,
        thresholds: vec![ThresholdEvidence {
            metric: "http_reqs".into(),
            expr: "rate>100".into(),
            ok: true,
            measured: "150".into(),
        }],
        requests: 4500,
    };
    assert!(
        ids(auto_verify(
            &plan,
            &RunbookState::default(),
            &gates,
            Some(&done)
        ))
        .contains(&"run-load-test".to_string())
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
        d.reasons.iter().any(|r| r.contains("runbook steps open")),
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
            .any(|r| r.contains("sign-off DevOps/PM missing")),
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
    assert!(d.reasons[0].contains("cluster-issuers"), "{:?}", d.reasons);
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
    journal
        .append(
            Action::Override {
                reason: "internal CA unused in prod".into(),
                verdict: "no-go".into(),
                failing: vec!["cluster-issuers".into()],
            },
            t(2),
        )
        .expect("append");
    let plan = gravl();
    let state = RunbookState::replay(&journal.entries);
    let d = decide(&plan, &all_gates(&plan, Status::Pass), &state);
    assert_eq!(d.verdict, Verdict::NoGo);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("sign-off Security rejected by carol"))
    );
    let o = d.overridden.expect("the override is part of the decision");
    assert_eq!(o.by, "bob");
    assert_eq!(o.reason, "internal CA unused in prod");
}
