//! Auto-verification end to end: the simulated cluster's scenario fixes the DNS egress
//! rule, the real watchers carry it into the cockpit's `App`, the network-policies gate
//! passes, and the step verified by it ticks itself through a real journal, with the
//! evidence it passed on. Before the fix, and before its phase's requirements are done,
//! it does not.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::cluster::{self, Target};
use golive::gates;
use golive::runbook::journal::{Action, Journal};
use golive::runbook::state::RunbookState;
use golive::tui::app::Effect;
use golive::tui::keys::Keymap;
use golive::tui::{App, Msg};
use golive_sim::Scenario;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use support::{gravl, gravl_sim};
use tokio::sync::mpsc;

const STEP: &str = "apply-network-policies";

const FIX_DNS: &str = r#"
name: DNS egress fixed after a second
steps:
  - at: 1500ms
    apply:
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: allow-dns-egress
        namespace: gravl-staging
      spec:
        podSelector: {}
        policyTypes: [Egress]
        egress:
          - to:
              - namespaceSelector:
                  matchLabels:
                    kubernetes.io/metadata.name: kube-system
                podSelector:
                  matchLabels:
                    k8s-app: kube-dns
            ports:
              - {protocol: UDP, port: 53}
              - {protocol: TCP, port: 53}
"#;

/// Carries out the effects the app asks for the way the runtime does: journal first,
/// then `Recorded`. Returns the step ids verified.
fn carry_out(app: &mut App, journal: &mut Journal, effects: Vec<Effect>) -> Vec<String> {
    let mut verified = Vec::new();
    for effect in effects {
        if let Effect::Record(action) = effect {
            if let Action::StepVerified { step, .. } = &action {
                verified.push(step.clone());
            }
            let entry = journal
                .append(action, Timestamp::now())
                .expect("journal append")
                .clone();
            app.update(Msg::Recorded(Box::new(entry)), Timestamp::now());
        }
    }
    verified
}

#[tokio::test]
async fn a_step_ticks_itself_when_the_scenario_makes_its_gate_pass() {
    let plan = Arc::new(gravl());
    let (sim, dir, kubeconfig) = gravl_sim(&[]).await;
    let state_dir = dir.path().join("state");
    let mut journal = Journal::open(&state_dir, "ana").expect("journal opens");
    // Pre-flight done by hand: Deploy's steps may verify themselves.
    for step in &plan.plan.runbook[0].steps {
        journal
            .append(Action::StepChecked { step: step.id() }, Timestamp::now())
            .expect("append");
    }
    let mut app = App::new(
        plan.clone(),
        true,
        Keymap::default(),
        RunbookState::replay(&journal.entries),
        Timestamp::now(),
    );
    let target = Target {
        kubeconfig: Some(kubeconfig.clone()),
        context: None,
    };
    let connection = cluster::connect(&target)
        .await
        .expect("connects to the sim");
    app.update(
        Msg::Connected {
            context: connection.context.clone(),
            server: connection.server.clone(),
        },
        Timestamp::now(),
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let watchers =
        cluster::watch::spawn_watchers(&connection.client, gates::plan_watches(&plan.plan), tx);

    let gate_status = |app: &App| {
        app.gates
            .iter()
            .find(|g| g.verdict.id == "network-policies")
            .map(|g| g.verdict.status)
    };
    // Until every watch has listed, and while DNS egress is broken, the step stays open.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut saw_fail = false;
    sim.play(Scenario::from_text("fix-dns.yaml", FIX_DNS).expect("the scenario parses"))
        .expect("the scenario plays");
    let ticked_at_fail = loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("the step ticked itself before the deadline")
            .expect("watchers running");
        app.update(Msg::Cluster(event), Timestamp::now());
        let effects = app.settle(Timestamp::now());
        let status = gate_status(&app);
        if status == Some(golive::gates::Status::Fail) {
            saw_fail = true;
        }
        let verified = carry_out(&mut app, &mut journal, effects);
        if verified.iter().any(|s| s == STEP) {
            break status != Some(golive::gates::Status::Pass);
        }
    };
    assert!(
        saw_fail,
        "the gate failed before the scenario fixed the rule"
    );
    assert!(!ticked_at_fail, "ticked only once its gate passed");
    let tick = app.runbook.steps.get(STEP).expect("recorded");
    assert!(tick.checked);
    assert_eq!(tick.verified_by.as_deref(), Some("gate network-policies"));
    assert!(
        tick.evidence
            .iter()
            .any(|e| e.starts_with("gate network-policies: pass")),
        "{:?}",
        tick.evidence
    );
    // The journal on disk says the same, and its chain holds.
    let (_, verification) =
        golive::runbook::journal::verify_dir(&state_dir).expect("journal readable");
    assert!(verification.ok(), "{verification:?}");
    let text = std::fs::read_to_string(state_dir.join("journal.jsonl")).expect("journal");
    assert!(
        text.contains(&format!(r#""type":"step_verified","step":"{STEP}""#)),
        "{text}"
    );
    for w in watchers {
        w.abort();
    }
    sim.shutdown().await;
}
