//! Whole-frame snapshots of the cockpit in each state at 80×24 and 160×45, and the
//! behaviour of `App::update`. Time is injected, so frames are stable.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use golive::cluster::{ClusterEvent, WatchError, WatchErrorKind};
use golive::gates::{Status, Verdict, plan_watches};
use golive::plan::LoadedPlan;
use golive::runbook::journal::{Action, Journal};
use golive::runbook::state::RunbookState;
use golive::tui::app::{Effect, LoadState, Overlay, Pane, Shown};
use golive::tui::keys::Keymap;
use golive::tui::{App, Msg, Theme};
use golive_load::{
    HistogramBar, HistoryPoint, LatencyStats, Snapshot, Summary, ThresholdResult, ThresholdState,
};
use jiff::{SignedDuration, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn t0() -> Timestamp {
    "2026-11-25T03:00:00Z".parse().expect("valid timestamp")
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn gravl() -> Arc<LoadedPlan> {
    Arc::new(support::gravl())
}

fn objects() -> Vec<Value> {
    support::gravl_objects()
}

/// The demo cluster with the report's mistakes fixed: issuer Ready, DNS egress right, and
/// the staging pods' account no longer bound to `edit`.
fn healthy_objects() -> Vec<Value> {
    let mut all = objects();
    all.retain(|o| !(o["kind"] == "RoleBinding" && o["metadata"]["name"] == "ci-deploy"));
    for o in &mut all {
        let name = o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if o["kind"] == "ClusterIssuer" && name == "internal-ca-issuer" {
            o["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified", "message": "Signing CA verified"}]});
        }
        if o["kind"] == "VulnerabilityReport" && name == "replicaset-postgres-6f9b7c5d8-postgres" {
            o["report"]["summary"]["highCount"] = json!(0);
            o["report"]["vulnerabilities"] = json!([]);
        }
        if o["kind"] == "NetworkPolicy" && name == "allow-dns-egress" {
            o["spec"]["egress"][0]["to"] = json!([{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}
            }]);
        }
    }
    all
}

/// What a nameserver answers for the demo Ingress's hosts: its load-balancer address.
fn healthy_dns(now: Timestamp) -> Msg {
    let answer = |cnames: &[&str]| golive::dns::DnsAnswer {
        at: now,
        outcome: golive::dns::DnsOutcome::Resolved {
            cnames: cnames.iter().map(|c| c.to_string()).collect(),
            addresses: vec!["198.51.100.20".parse().expect("an address")],
        },
    };
    Msg::Dns(
        [
            ("staging.gravl.example", answer(&[])),
            (
                "api.staging.gravl.example",
                answer(&["staging.gravl.example"]),
            ),
        ]
        .into_iter()
        .map(|(host, a)| (golive::dns::dns_key(None, host), a))
        .collect(),
    )
}

fn new_app() -> App {
    App::new(
        gravl(),
        true,
        Keymap::default(),
        RunbookState::default(),
        t0(),
    )
}

fn connect(app: &mut App, now: Timestamp) {
    app.update(
        Msg::Connected {
            context: "golive-demo".into(),
            server: "https://127.0.0.1:6443/".into(),
        },
        now,
    );
}

fn sync(app: &mut App, objects: &[Value], now: Timestamp) {
    for key in plan_watches(&app.plan.plan) {
        let matching: Vec<Value> = objects
            .iter()
            .filter(|o| {
                o["kind"].as_str() == Some(key.resource.kind)
                    && key
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            })
            .cloned()
            .collect();
        app.update(
            Msg::Cluster(ClusterEvent::Synced {
                key,
                objects: matching.iter().map(golive::cluster::Stored::new).collect(),
            }),
            now,
        );
    }
}

fn failing_app() -> App {
    failing_app_and_effects().0
}

/// `failing_app`, with the effects its settling asked for (the auto-verifications).
fn failing_app_and_effects() -> (App, Vec<Effect>) {
    let mut app = new_app();
    connect(&mut app, at(1));
    sync(&mut app, &objects(), at(2));
    let effects = app.settle(at(14));
    (app, effects)
}

fn threshold(metric: &str, expr: &str, state: ThresholdState, value: f64) -> ThresholdResult {
    ThresholdResult {
        metric: metric.into(),
        expr: expr.into(),
        state,
        value: Some(value),
        abort_on_fail: false,
        aggregation: None,
    }
}

/// A run 12 s into 30 s: ~20 req/s against a >100 req/s threshold, as in the report.
fn running_snapshot(elapsed: u64, finished: bool, rps: f64) -> Snapshot {
    let latency = LatencyStats {
        count: 240,
        min: 0.61,
        avg: 2.4,
        med: 1.9,
        p90: 5.1,
        p95: 7.0,
        p99: 14.6,
        p999: 20.9,
        max: 21.8,
    };
    let rate_state = if rps > 100.0 {
        ThresholdState::Pass
    } else {
        ThresholdState::Fail
    };
    Snapshot {
        elapsed: Duration::from_secs(elapsed),
        remaining: Some(Duration::from_secs(30 - elapsed)),
        planned: Duration::from_secs(30),
        finished,
        vus: 10,
        vus_max: 10,
        http_reqs: (rps * elapsed as f64) as u64,
        rps,
        failure_rate: 0.0,
        data_received: 1_600_000,
        latency: latency.clone(),
        thresholds: vec![
            threshold("http_req_duration", "p(95)<200", ThresholdState::Pass, 7.0),
            threshold("http_req_duration", "p(99)<500", ThresholdState::Pass, 14.6),
            threshold("http_req_failed", "rate<0.01", ThresholdState::Pass, 0.0),
            threshold("http_reqs", "rate>100", rate_state, rps),
        ],
        histogram: [
            (0.5, 3),
            (1.0, 40),
            (2.5, 110),
            (5.0, 60),
            (10.0, 20),
            (25.0, 7),
        ]
        .into_iter()
        .map(|(le_ms, count)| HistogramBar { le_ms, count })
        .collect(),
        history: (1..=elapsed)
            .map(|s| HistoryPoint {
                elapsed_s: s,
                p95_ms: 5.0 + (s % 4) as f64,
                p99_ms: 10.0 + (s % 5) as f64 * 2.0,
                rps,
                failed: 0,
            })
            .collect(),
        ..Snapshot::default()
    }
}

fn start_load(app: &mut App, now: Timestamp) {
    let effects = app.update(key(KeyCode::Char('l')), now);
    assert_eq!(effects, vec![Effect::StartLoad]);
    app.update(Msg::LoadStarted, now);
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn frame(app: &App, theme: &Theme, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| golive::tui::ui::render(f, app, theme))
        .expect("draw");
    terminal.backend().to_string()
}

/// Snapshots `app` at both reference sizes.
fn snap(name: &str, app: &mut App) {
    let theme = Theme::default();
    for (w, h) in [(80, 24), (160, 45)] {
        app.update(Msg::Resize(w, h), app.now);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), frame(app, &theme, w, h));
    }
}

#[test]
fn frame_loading_before_the_cluster_answers() {
    let mut app = new_app();
    snap("loading", &mut app);
}

#[test]
fn frame_failing_gates_on_the_report_cluster() {
    let mut app = failing_app();
    assert_eq!(app.verdict.0, Verdict::NoGo);
    snap("failing", &mut app);
}

#[test]
fn frame_healthy_after_fixes_and_a_passing_load_test() {
    let mut app = new_app();
    connect(&mut app, at(1));
    sync(&mut app, &healthy_objects(), at(2));
    app.update(healthy_dns(at(2)), at(2));
    start_load(&mut app, at(3));
    let snapshot = running_snapshot(30, true, 140.0);
    app.update(
        Msg::LoadFinished(Box::new(Summary {
            snapshot,
            aborted: None,
            scenario_names: vec!["baseline".into()],
            iterations_by_scenario: vec![2100],
            dropped_by_scenario: vec![0],
        })),
        at(34),
    );
    app.update(metrics_round(38, 0.001, false), at(38));
    app.settle(at(40));
    // Every gate passes, but the launch is not decided until the runbook and the roles are.
    assert_eq!(app.verdict.0, Verdict::Unknown, "{}", app.verdict.1);
    assert!(
        app.verdict.1.contains("runbook steps open: 16")
            && app
                .verdict
                .1
                .contains("sign-off missing: DevOps/PM, Security, Performance"),
        "{}",
        app.verdict.1
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let steps: Vec<String> = app
        .plan
        .plan
        .runbook
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| s.id()))
        .collect();
    for step in steps {
        record(&mut app, &mut journal, Action::StepChecked { step }, at(41));
    }
    for role in app.plan.plan.signoff.clone() {
        let action = Action::SignOff {
            role,
            name: "ana".into(),
            approve: true,
            comment: None,
            verdict: "UNKNOWN".into(),
            gates: vec![],
        };
        record(&mut app, &mut journal, action, at(42));
    }
    app.update(metrics_round(44, 0.001, false), at(44));
    app.settle(at(45));
    assert_eq!(app.verdict.0, Verdict::Go, "{}", app.verdict.1);
    snap("healthy", &mut app);
}

/// Appends to the journal and tells the app, as the runtime does.
fn record(app: &mut App, journal: &mut Journal, action: Action, now: Timestamp) {
    let entry = journal.append(action, now).expect("appended").clone();
    app.update(Msg::Recorded(Box::new(entry)), now);
}

fn typed(app: &mut App, text: &str, now: Timestamp) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)), now);
    }
}

#[test]
fn sign_off_records_role_name_decision_comment_and_the_gates_at_that_moment() {
    let mut app = failing_app();
    app.operator = "ana".into();
    assert!(app.update(key(KeyCode::Char('s')), at(20)).is_empty());
    assert!(matches!(app.overlay, Overlay::Form(_)));
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("sign off") && text.contains("DevOps/PM: pending"),
        "{text}"
    );
    app.update(key(KeyCode::Right), at(20)); // role: Security
    app.update(key(KeyCode::Enter), at(20)); // name: ana (the operator)
    app.update(key(KeyCode::Enter), at(20));
    app.update(key(KeyCode::Right), at(20)); // decision: reject
    app.update(key(KeyCode::Enter), at(20));
    let effects = app.update(key(KeyCode::Enter), at(20));
    assert!(
        effects.is_empty(),
        "a rejection without a comment is refused"
    );
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(text.contains("a rejection needs a comment"), "{text}");
    typed(&mut app, "internal-ca-issuer is False", at(21));
    let effects = app.update(key(KeyCode::Enter), at(21));
    let [Effect::Record(action)] = effects.as_slice() else {
        panic!("expected one journal record: {effects:?}");
    };
    let Action::SignOff {
        role,
        name,
        approve,
        comment,
        verdict,
        gates,
    } = action
    else {
        panic!("expected a sign-off: {action:?}");
    };
    assert_eq!(
        (role.as_str(), name.as_str(), *approve),
        ("Security", "ana", false)
    );
    assert_eq!(comment.as_deref(), Some("internal-ca-issuer is False"));
    assert_eq!(verdict, "NO-GO");
    assert!(
        gates.contains(&("cluster-issuers".to_string(), "fail".to_string())),
        "{gates:?}"
    );
    assert_eq!(app.overlay, Overlay::None);
    assert!(
        app.runbook.signoffs.is_empty(),
        "shown only once the journal has it"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    record(&mut app, &mut journal, action.clone(), at(21));
    assert!(
        app.verdict.1.contains("sign-off Security rejected by ana"),
        "{}",
        app.verdict.1
    );
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(text.contains("Security ✗"), "{text}");
}

#[test]
fn esc_cancels_a_form_and_records_nothing() {
    let mut app = failing_app();
    app.update(key(KeyCode::Char('s')), at(20));
    typed(&mut app, "qqq", at(20));
    assert!(!app.quit, "keys go to the form, not to the cockpit");
    assert!(app.update(key(KeyCode::Esc), at(20)).is_empty());
    assert_eq!(app.overlay, Overlay::None);
}

#[test]
fn an_override_needs_a_reason_shows_as_an_override_and_stops_covering_new_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let mut app = failing_app();
    assert_eq!(app.verdict.0, Verdict::NoGo);
    app.update(key(KeyCode::Char('o')), at(20));
    typed(&mut app, "looks fine", at(20));
    assert!(
        app.update(key(KeyCode::Enter), at(20)).is_empty(),
        "too short a reason"
    );
    typed(&mut app, " - internal CA unused in production", at(20));
    let effects = app.update(key(KeyCode::Enter), at(20));
    let [
        Effect::Record(
            action @ Action::Override {
                failing, verdict, ..
            },
        ),
    ] = effects.as_slice()
    else {
        panic!("expected an override record: {effects:?}");
    };
    assert_eq!(verdict, "NO-GO");
    assert!(
        failing
            .iter()
            .any(|f| f.starts_with("gate cluster-issuers failing")),
        "{failing:?}"
    );
    record(&mut app, &mut journal, action.clone(), at(20));
    app.settle(at(21));
    // The verdict the evidence gives does not change; the override is shown beside it.
    assert_eq!(app.verdict.0, Verdict::NoGo);
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("GO BY OVERRIDE") && text.contains("evidence says NO-GO"),
        "{text}"
    );

    // A gate that was passing fails: the override does not cover it.
    let key = plan_watches(&app.plan.plan)
        .into_iter()
        .find(|k| k.resource.kind == "Pod")
        .expect("the plan watches pods");
    app.update(
        Msg::Cluster(ClusterEvent::Failed {
            key,
            error: WatchError {
                kind: WatchErrorKind::Forbidden,
                message: "pods is forbidden".into(),
            },
        }),
        at(30),
    );
    app.settle(at(30));
    assert!(app.decision.overridden.is_none());
    assert!(
        app.verdict
            .1
            .starts_with("override by ana does not cover what failed since"),
        "{}",
        app.verdict.1
    );
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(!text.contains("GO BY OVERRIDE"), "{text}");
}

#[test]
fn a_step_waiting_for_its_phase_requirements_cannot_be_ticked() {
    let mut app = failing_app();
    app.update(key(KeyCode::Char(']')), at(20));
    assert_eq!(app.focus, Pane::Runbook);
    assert!(app.update(key(KeyCode::Char(' ')), at(20)).is_empty());
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(text.contains("requires Pre-flight first"), "{text}");
    assert!(text.contains("waits for Pre-flight"), "{text}");
}

/// Ticks every Pre-flight step, as if the journal had recorded them, so Deploy is open.
fn preflight_done(app: &mut App) {
    let plan = app.plan.clone();
    for step in &plan.plan.runbook[0].steps {
        app.runbook.steps.entry(step.id()).or_default().checked = true;
    }
}

#[test]
fn a_command_waiting_for_its_phase_requirements_does_not_run() {
    let mut app = failing_app();
    app.update(key(KeyCode::Char(']')), at(20)); // Deploy: Apply network policies
    assert!(app.update(key(KeyCode::Char('x')), at(20)).is_empty());
    assert_eq!(app.overlay, Overlay::None);
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("not run: this step requires Pre-flight first"),
        "{text}"
    );
}

#[test]
fn a_command_runs_only_after_confirmation_and_its_result_is_journaled() {
    let mut app = failing_app();
    preflight_done(&mut app);
    app.update(key(KeyCode::Char(']')), at(20)); // Deploy: Apply network policies
    assert!(app.update(key(KeyCode::Char('x')), at(20)).is_empty());
    let Overlay::ConfirmCommand { command, .. } = &app.overlay else {
        panic!("expected the confirmation: {:?}", app.overlay);
    };
    assert!(command.starts_with("kubectl apply"), "{command}");
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(text.contains("Run this command now?"), "{text}");
    assert!(
        app.update(key(KeyCode::Char('n')), at(20)).is_empty(),
        "n cancels"
    );
    assert_eq!(app.overlay, Overlay::None);

    app.update(key(KeyCode::Char('x')), at(21));
    let effects = app.update(key(KeyCode::Char('y')), at(21));
    let [Effect::RunCommand { step, timeout, .. }] = effects.as_slice() else {
        panic!("expected the command to run: {effects:?}");
    };
    assert_eq!(step, "apply-network-policies");
    assert_eq!(*timeout, Duration::from_secs(300));
    assert!(
        app.update(key(KeyCode::Char('x')), at(22)).is_empty(),
        "one at a time"
    );
    app.update(
        Msg::CommandOutput(vec!["networkpolicy/allow-dns-egress configured".into()]),
        at(22),
    );
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("⏵ running") && text.contains("allow-dns-egress configured"),
        "{text}"
    );
    let effects = app.update(
        Msg::CommandFinished(golive::tui::app::CommandResult {
            step: step.clone(),
            command: command_of(&app),
            exit_code: Some(0),
            duration_ms: 1200,
            output_tail: "networkpolicy/allow-dns-egress configured".into(),
        }),
        at(23),
    );
    let [Effect::Record(Action::CommandRun { exit_code, .. })] = effects.as_slice() else {
        panic!("expected a command_run record: {effects:?}");
    };
    assert_eq!(*exit_code, Some(0));
    assert!(app.command.is_none());
}

fn command_of(app: &App) -> String {
    app.plan.plan.runbook[1].steps[0]
        .0
        .command
        .clone()
        .expect("the step has a command")
}

#[test]
fn frame_stale_when_a_watch_fails() {
    let mut app = failing_app();
    let key = plan_watches(&app.plan.plan)
        .into_iter()
        .find(|k| k.resource.kind == "Pod" && k.namespace.as_deref() == Some("gravl-staging"))
        .expect("the plan watches staging pods");
    app.update(
        Msg::Cluster(ClusterEvent::Failed {
            key,
            error: WatchError {
                kind: WatchErrorKind::Unreachable,
                message: "connection refused (os error 111)".into(),
            },
        }),
        at(20),
    );
    app.settle(at(61));
    let pods = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "staging-pods")
        .expect("gate");
    assert_eq!(pods.shown, Shown::Stale);
    snap("stale", &mut app);
}

#[test]
fn frame_load_running() {
    let mut app = failing_app();
    start_load(&mut app, at(20));
    app.update(
        Msg::LoadSnapshot(Box::new(running_snapshot(12, false, 19.8))),
        at(32),
    );
    app.update(key(KeyCode::Tab), at(32));
    app.settle(at(32));
    assert_eq!(app.focus, Pane::Load);
    snap("load_running", &mut app);
}

#[test]
fn frame_help_open() {
    let mut app = failing_app();
    app.update(key(KeyCode::Char('?')), at(15));
    assert_eq!(app.overlay, Overlay::Help);
    snap("help", &mut app);
}

#[test]
fn frame_runbook_with_a_ticked_step_and_its_details() {
    let mut app = failing_app();
    app.update(key(KeyCode::Tab), at(15));
    app.update(key(KeyCode::Tab), at(15));
    assert_eq!(app.focus, Pane::Runbook);
    let effects = app.update(key(KeyCode::Char(' ')), at(16));
    let [Effect::Record(action)] = effects.as_slice() else {
        panic!("toggle asks the journal first: {effects:?}");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let entry = journal
        .append(action.clone(), at(16))
        .expect("appended")
        .clone();
    app.update(Msg::Recorded(Box::new(entry)), at(16));
    app.update(key(KeyCode::Char('j')), at(17));
    snap("runbook", &mut app);
}

#[test]
fn frame_connection_failed() {
    let mut app = new_app();
    app.update(
        Msg::ConnectFailed(
            "cannot read kubeconfig /home/oncall/.kube/config: No such file or directory".into(),
        ),
        at(1),
    );
    app.settle(at(3));
    assert_eq!(app.verdict.0, Verdict::Unknown);
    assert!(
        app.gates
            .iter()
            .all(|g| g.shown != Shown::Pass || g.verdict.id == "load-test")
    );
    snap("connect_failed", &mut app);
}

#[test]
fn frame_too_small_says_how_large_it_needs_to_be() {
    let app = failing_app();
    let text = frame(&app, &Theme::default(), 60, 20);
    assert!(text.contains("at least 80×24"), "{text}");
    insta::assert_snapshot!("too_small_60x20", text);
}

#[test]
fn resizing_to_any_size_never_panics() {
    let mut app = failing_app();
    start_load(&mut app, at(20));
    app.update(
        Msg::LoadSnapshot(Box::new(running_snapshot(12, false, 19.8))),
        at(32),
    );
    let theme = Theme::default();
    let sizes = [
        (0, 0),
        (1, 1),
        (79, 24),
        (80, 23),
        (80, 24),
        (81, 25),
        (120, 30),
        (250, 70),
        (400, 120),
    ];
    let draw_all = |app: &mut App| {
        for (w, h) in sizes {
            app.update(Msg::Resize(w, h), at(33));
            let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
            terminal
                .draw(|f| golive::tui::ui::render(f, app, &theme))
                .expect("draw");
        }
    };
    draw_all(&mut app);
    // Every overlay, too: help, the forms with long evidence, the command confirmation.
    app.update(key(KeyCode::Char('?')), at(33));
    draw_all(&mut app);
    app.update(key(KeyCode::Esc), at(33));
    for opener in ['o', 's'] {
        app.update(key(KeyCode::Char(opener)), at(33));
        typed(&mut app, &"a long reason ".repeat(40), at(33));
        draw_all(&mut app);
        app.update(key(KeyCode::Esc), at(33));
    }
    preflight_done(&mut app);
    app.update(key(KeyCode::Char(']')), at(33));
    app.update(key(KeyCode::Char('x')), at(33));
    assert!(matches!(app.overlay, Overlay::ConfirmCommand { .. }));
    draw_all(&mut app);
}

#[test]
fn the_override_form_keeps_its_reason_field_on_an_80x24_screen() {
    let mut app = failing_app();
    app.update(Msg::Resize(80, 24), at(20));
    app.update(key(KeyCode::Char('o')), at(20));
    let Overlay::Form(form) = &mut app.overlay else {
        panic!("expected the override form");
    };
    // Many failing reasons, each long: more than the screen holds.
    for i in 0..30 {
        form.intro
            .push(format!("  • gate g{i} failing: {}", "evidence ".repeat(12)));
    }
    let text = frame(&app, &Theme::default(), 80, 24);
    assert!(text.contains("▸ reason"), "{text}");
    assert!(text.contains("more, all recorded"), "{text}");
}

#[test]
fn tick_is_shown_only_after_the_journal_recorded_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let mut app = failing_app();
    app.update(key(KeyCode::Tab), at(15));
    app.update(key(KeyCode::Tab), at(15));
    let effects = app.update(key(KeyCode::Char(' ')), at(16));
    assert!(
        !app.runbook.is_checked("verify-all-production-dns-records"),
        "not ticked before the journal wrote it"
    );
    assert!(app.saving.is_some());
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("[…] Verify all production DNS records"),
        "{text}"
    );
    let Some(Effect::Record(action)) = effects.into_iter().next() else {
        panic!("expected a journal record");
    };
    let entry = journal.append(action, at(16)).expect("appended").clone();
    app.update(Msg::Recorded(Box::new(entry)), at(16));
    assert!(app.runbook.is_checked("verify-all-production-dns-records"));
    assert!(app.saving.is_none());
}

#[test]
fn tick_survives_a_restart_because_it_is_replayed_from_the_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
        journal
            .append(
                Action::StepChecked {
                    step: "verify-all-production-dns-records".into(),
                },
                at(16),
            )
            .expect("appended");
    }
    let journal = Journal::open(dir.path(), "ana").expect("journal reopens");
    let app = App::new(
        gravl(),
        true,
        Keymap::default(),
        RunbookState::replay(&journal.entries),
        at(20),
    );
    assert!(app.runbook.is_checked("verify-all-production-dns-records"));
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("[x] Verify all production DNS records"),
        "{text}"
    );
}

#[test]
fn the_last_load_result_survives_a_restart_and_still_judges_the_load_gate() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        // A session that ran a passing load test and then died.
        let mut app = failing_app();
        let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
        start_load(&mut app, at(20));
        let effects = app.update(
            Msg::LoadFinished(Box::new(Summary {
                snapshot: running_snapshot(30, true, 140.0),
                aborted: None,
                scenario_names: vec!["baseline".into()],
                iterations_by_scenario: vec![4200],
                dropped_by_scenario: vec![0],
            })),
            at(50),
        );
        journal
            .append(Action::LoadStarted { target: "t".into() }, at(20))
            .expect("appended");
        for e in effects {
            if let Effect::Record(a) = e {
                journal.append(a, at(50)).expect("appended");
            }
        }
    }
    let journal = Journal::open(dir.path(), "ana").expect("journal reopens");
    let mut app = App::new(
        gravl(),
        true,
        Keymap::default(),
        RunbookState::replay(&journal.entries),
        at(60),
    );
    connect(&mut app, at(61));
    sync(&mut app, &objects(), at(62));
    app.settle(at(63));
    let gate = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "load-test")
        .expect("load gate");
    assert_eq!(gate.shown, Shown::Pass, "{}", gate.summary);
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("last run 03:00 (journal): 4 thresholds met"),
        "{text}"
    );
}

#[test]
fn failed_record_leaves_the_step_unticked_and_says_so() {
    let mut app = failing_app();
    app.update(key(KeyCode::Tab), at(15));
    app.update(key(KeyCode::Tab), at(15));
    let effects = app.update(key(KeyCode::Char(' ')), at(16));
    let Some(Effect::Record(action)) = effects.into_iter().next() else {
        panic!("expected a journal record");
    };
    app.update(
        Msg::RecordFailed {
            action: Box::new(action),
            error: "disk full".into(),
        },
        at(16),
    );
    assert!(!app.runbook.is_checked("verify-all-production-dns-records"));
    assert!(app.saving.is_none());
    let status = app.current_status().expect("status line");
    assert!(status.text.contains("NOT recorded"), "{}", status.text);
}

#[test]
fn quit_asks_first_while_a_load_test_runs() {
    let mut app = failing_app();
    start_load(&mut app, at(20));
    assert!(app.update(key(KeyCode::Char('q')), at(21)).is_empty());
    assert_eq!(app.overlay, Overlay::ConfirmQuit);
    assert!(app.update(key(KeyCode::Char('n')), at(21)).is_empty());
    assert!(!app.quit);
    app.update(key(KeyCode::Char('q')), at(22));
    assert_eq!(
        app.update(key(KeyCode::Char('y')), at(22)),
        vec![Effect::StopLoad, Effect::Quit]
    );
    assert!(app.quit);
}

#[test]
fn ctrl_c_quits_even_from_help() {
    let mut app = failing_app();
    app.update(key(KeyCode::Char('?')), at(15));
    let effects = app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        at(15),
    );
    assert_eq!(effects, vec![Effect::Quit]);
}

#[test]
fn load_gate_is_unknown_while_running_and_fails_when_stopped_early() {
    let mut app = failing_app();
    start_load(&mut app, at(20));
    app.update(
        Msg::LoadSnapshot(Box::new(running_snapshot(12, false, 140.0))),
        at(32),
    );
    app.settle(at(32));
    let gate = |app: &App| {
        app.gates
            .iter()
            .find(|g| g.verdict.id == "load-test")
            .expect("gate")
            .verdict
            .status
    };
    assert_eq!(gate(&app), Status::Unknown);
    app.update(
        Msg::LoadFinished(Box::new(Summary {
            snapshot: running_snapshot(12, true, 140.0),
            aborted: Some("stopped by the operator".into()),
            scenario_names: vec![],
            iterations_by_scenario: vec![],
            dropped_by_scenario: vec![],
        })),
        at(33),
    );
    app.settle(at(33));
    assert_eq!(gate(&app), Status::Fail);
    assert!(matches!(app.load, LoadState::Finished { .. }));
}

#[test]
fn watch_pending_past_the_deadline_is_stale_not_pass() {
    let mut app = new_app();
    connect(&mut app, at(0));
    app.settle(at(30));
    let pods = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "staging-pods")
        .expect("gate");
    assert_eq!(pods.shown, Shown::Stale);
    assert_ne!(app.verdict.0, Verdict::Go);
}

#[test]
fn filter_narrows_gates_and_steps() {
    let mut app = failing_app();
    app.update(key(KeyCode::Char('/')), at(15));
    for c in "cert".chars() {
        app.update(key(KeyCode::Char(c)), at(15));
    }
    app.update(key(KeyCode::Enter), at(15));
    let ids: Vec<&str> = golive::tui::rows::gate_lines(&app.gates, &app.filter, false)
        .iter()
        .filter_map(|l| match l {
            golive::tui::rows::GateLine::Gate(i) => Some(app.gates[*i].verdict.id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec!["cert-manager", "certificates"]);
    assert!(
        golive::tui::rows::visible_steps(&app.plan.plan.runbook[app.phase_selected], &app.filter)
            .is_empty(),
        "no Pre-flight step mentions cert"
    );
}

#[test]
fn clicking_a_gate_row_focuses_the_pane_and_selects_it() {
    let mut app = failing_app();
    app.update(Msg::Resize(160, 45), at(15));
    app.update(key(KeyCode::Tab), at(15));
    let gates = app.areas().gates;
    // With 18 gates the group headers give way at this size: row 1 is the second gate.
    app.update(
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: gates.x + 3,
            row: gates.y + 1 + 1,
            modifiers: KeyModifiers::NONE,
        }),
        at(15),
    );
    assert_eq!(app.focus, Pane::Gates);
    assert_eq!(app.gate_selected, 1);
}

#[test]
fn no_color_theme_keeps_symbols_and_drops_colours() {
    let app = failing_app();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
    let theme = Theme::load("default", None, true).0;
    terminal
        .draw(|f| golive::tui::ui::render(f, &app, &theme))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
    assert!(terminal.backend().to_string().contains('✗'));
}

#[test]
fn failing_gate_symbol_is_drawn_in_the_theme_fail_colour() {
    use golive::tui::theme::Role;
    let mut app = failing_app();
    app.update(Msg::Resize(160, 45), at(15));
    for name in ["default", "light", "high-contrast"] {
        let theme = Theme::load(name, None, false).0;
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("test terminal");
        terminal
            .draw(|f| golive::tui::ui::render(f, &app, &theme))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        let gates = app.areas().gates;
        let cell = (gates.y..gates.y + gates.height)
            .filter_map(|y| buffer.cell((gates.x + 1, y)))
            .find(|c| c.symbol() == "✗")
            .expect("a failing gate row");
        assert_eq!(cell.fg, theme.color(Role::Fail), "{name}");
    }
}

#[test]
fn auto_verify_ticks_cluster_access_once_the_journal_records_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let (mut app, effects) = failing_app_and_effects();
    let verified: Vec<Action> = effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Record(a @ Action::StepVerified { .. }) => Some(a),
            _ => None,
        })
        .collect();
    assert!(
        verified.iter().any(|a| matches!(a,
            Action::StepVerified { step, verify, .. }
                if step == "confirm-production-cluster-access" && verify == "gate cluster-access")),
        "{verified:?}"
    );
    assert!(
        !app.runbook.is_checked("confirm-production-cluster-access"),
        "not ticked before the journal wrote it"
    );
    assert!(
        app.settle(at(30)).is_empty(),
        "a verification in flight is not asked for again"
    );
    for action in verified {
        let entry = journal.append(action, at(30)).expect("appended").clone();
        app.update(Msg::Recorded(Box::new(entry)), at(30));
    }
    assert!(app.runbook.is_checked("confirm-production-cluster-access"));
    let text = frame(&app, &Theme::default(), 250, 70);
    assert!(
        text.contains("[x] Confirm production cluster access")
            && text.contains("✓ by gate cluster-access"),
        "{text}"
    );

    // The gate turns: the step stays ticked and says its gate is no longer passing.
    app.update(Msg::ConnectFailed("connection refused".into()), at(40));
    app.settle(at(40));
    assert!(app.runbook.is_checked("confirm-production-cluster-access"));
    let text = frame(&app, &Theme::default(), 250, 70);
    assert!(text.contains("✓ by gate cluster-access now"), "{text}");
}

#[test]
fn finished_load_test_is_recorded_in_the_journal() {
    let mut app = failing_app();
    start_load(&mut app, at(20));
    let effects = app.update(
        Msg::LoadFinished(Box::new(Summary {
            snapshot: running_snapshot(30, true, 140.0),
            aborted: None,
            scenario_names: vec!["baseline".into()],
            iterations_by_scenario: vec![2100],
            dropped_by_scenario: vec![0],
        })),
        at(50),
    );
    let [Effect::Record(Action::LoadFinished { requests, .. })] = effects.as_slice() else {
        panic!("expected a load_finished record: {effects:?}");
    };
    assert!(*requests > 0);
}

#[test]
fn report_key_writes_a_markdown_report_with_the_verdict_next_to_the_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    journal
        .append(
            Action::StepChecked {
                step: "verify-all-production-dns-records".into(),
            },
            at(10),
        )
        .expect("appended");
    let mut app = App::new(
        gravl(),
        true,
        Keymap::default(),
        RunbookState::replay(&journal.entries),
        t0(),
    );
    connect(&mut app, at(1));
    sync(&mut app, &objects(), at(2));
    app.settle(at(14));
    assert_eq!(
        app.update(key(KeyCode::Char('r')), at(20)),
        vec![Effect::ExportReport]
    );
    let path = golive::tui::export::write_report(&app, dir.path(), at(20)).expect("report written");
    assert_eq!(
        path,
        dir.path().join("report-20261125T030020Z.md"),
        "named by UTC time, next to the journal"
    );
    let text = std::fs::read_to_string(&path).expect("report readable");
    assert!(text.contains("## Verdict"), "{text}");
    app.update(Msg::ReportWritten(path.clone()), at(20));
    let status = app.current_status().expect("status line");
    assert!(
        status.text.contains(&path.display().to_string()),
        "{}",
        status.text
    );
}

#[test]
fn refused_auto_verification_is_reported_once_and_not_retried() {
    let (mut app, effects) = failing_app_and_effects();
    let action = effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Record(a @ Action::StepVerified { .. }) => Some(a),
            _ => None,
        })
        .expect("an auto-verification");
    app.update(
        Msg::RecordFailed {
            action: Box::new(action),
            error: "disk full".into(),
        },
        at(15),
    );
    let status = app.current_status().expect("status line");
    assert!(status.text.contains("NOT recorded"), "{}", status.text);
    app.update(Msg::Tick, at(30));
    assert!(
        app.settle(at(30)).is_empty(),
        "not retried every evaluation"
    );
}

#[test]
fn a_cockpit_that_cannot_journal_says_so_on_the_runbook_pane() {
    let mut app = failing_app();
    app.not_recording = Some("locked by another golive".into());
    let text = frame(&app, &Theme::default(), 120, 30);
    assert!(
        text.contains("NOT RECORDING: locked by another golive"),
        "{text}"
    );
}

#[test]
fn a_journal_that_fails_its_check_heads_the_verdict() {
    let mut app = new_app();
    app.runbook.integrity =
        vec!["journal line 3: content does not match its hash: the line was edited".into()];
    connect(&mut app, at(1));
    sync(&mut app, &objects(), at(2));
    app.settle(at(14));
    assert_eq!(app.verdict.0, golive::gates::Verdict::NoGo);
    assert!(
        app.verdict
            .1
            .starts_with("journal fails verification (1 problem), journal line 3:"),
        "{}",
        app.verdict.1
    );
}

/// The demo cluster in the middle of the deploy: backend's revision 4 (1.9.0) has one pod,
/// crash-looping, with a BackOff warning event on it.
fn mid_deploy_objects() -> Vec<Value> {
    let mut all = objects();
    for o in all.iter_mut() {
        if o["kind"] == "Deployment" && o["metadata"]["name"] == "backend" {
            o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("4");
            o["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!("ghcr.io/gravl/backend:1.9.0");
            o["status"]["replicas"] = json!(3);
            o["status"]["updatedReplicas"] = json!(1);
        }
    }
    let labels = json!({"app": "backend", "pod-template-hash": "5b7f9d4c8"});
    all.push(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "backend-5b7f9d4c8", "namespace": "gravl-staging", "labels": labels,
                     "creationTimestamp": "2026-11-25T02:58:48Z",
                     "annotations": {"deployment.kubernetes.io/revision": "4"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend", "uid": "uid-backend", "controller": true}]},
        "spec": {"replicas": 1, "template": {"metadata": {"labels": labels},
                 "spec": {"containers": [{"name": "backend", "image": "ghcr.io/gravl/backend:1.9.0"}]}}},
        "status": {"replicas": 1}
    }));
    all.push(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "backend-5b7f9d4c8-k2m7x", "namespace": "gravl-staging", "labels": labels,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "backend-5b7f9d4c8", "uid": "uid-backend-5b7f9d4c8", "controller": true}]},
        "spec": {"containers": [{"name": "backend", "image": "ghcr.io/gravl/backend:1.9.0"}]},
        "status": {"phase": "Running", "podIP": "10.244.1.31",
                   "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                   "containerStatuses": [{"name": "backend", "ready": false, "restartCount": 2,
                       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container=backend"}},
                       "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
    }));
    all.push(json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "backend-5b7f9d4c8-k2m7x.backoff", "namespace": "gravl-staging", "creationTimestamp": "2026-11-25T02:59:50Z"},
        "type": "Warning", "reason": "BackOff", "note": "Back-off restarting failed container backend",
        "regarding": {"kind": "Pod", "namespace": "gravl-staging", "name": "backend-5b7f9d4c8-k2m7x"},
        "deprecatedCount": 3, "deprecatedLastTimestamp": "2026-11-25T02:59:50Z"
    }));
    all
}

#[test]
fn frame_deploy_view_with_a_crash_looping_rollout_and_its_journal_records() {
    let mut app = new_app();
    connect(&mut app, at(1));
    sync(&mut app, &mid_deploy_objects(), at(2));
    let effects = app.settle(at(14));
    let rollouts: Vec<(String, String, String)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record(Action::Rollout {
                workload,
                event,
                revision,
                ..
            }) => Some((workload.clone(), revision.clone(), event.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        rollouts,
        [
            (
                "Deployment gravl-staging/backend".into(),
                "rev 3 → 4".into(),
                "started".into()
            ),
            (
                "Deployment gravl-staging/backend".into(),
                "rev 3 → 4".into(),
                "failed".into()
            ),
        ]
    );
    // Asked once: the next settle does not ask again while the journal answers.
    assert!(
        app.settle(at(30))
            .iter()
            .all(|e| !matches!(e, Effect::Record(Action::Rollout { .. })))
    );
    app.update(key(KeyCode::Char('d')), at(15));
    app.update(key(KeyCode::Tab), at(15));
    snap("deploy", &mut app);
    app.update(key(KeyCode::Char('u')), at(16));
    assert!(
        matches!(&app.overlay, golive::tui::app::Overlay::ConfirmCommand { command, .. }
            if command == "kubectl rollout undo deployment/backend -n gravl-staging --to-revision=3 --context golive-demo"),
        "{:?}",
        app.overlay
    );
}

/// One round of the stand-in's kind of answers at `secs`, with the 5xx ratio `ratio`.
fn metrics_round(secs: i64, ratio: f64, firing: bool) -> Msg {
    use golive::demo::standin::{ERROR_RATIO, P95, P99, TRAFFIC, UP};
    use golive::metrics::alertmanager::{Alert, AlertState, Status as AmStatus};
    use golive::metrics::prom::{QueryAnswer, QueryData, Sample};
    let one = |labels: &[(&str, &str)], v: f64| QueryAnswer {
        data: QueryData::Vector(vec![Sample {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            at: at(secs),
            value: v,
        }]),
        warnings: vec![],
    };
    let alert = |name: &str| Alert {
        labels: [
            ("alertname".to_string(), name.to_string()),
            ("namespace".to_string(), "gravl-staging".to_string()),
        ]
        .into(),
        annotations: [("summary".to_string(), format!("{name} summary"))].into(),
        starts_at: Some(at(0)),
        ends_at: None,
        state: AlertState::Active,
        silenced_by: vec![],
        inhibited_by: vec![],
        fingerprint: name.into(),
        generator_url: String::new(),
    };
    let mut alerts = vec![alert("Watchdog")];
    if firing {
        alerts.push(alert("GravlBackendHighErrorRate"));
    }
    Msg::Metrics(Box::new(golive::metrics::MetricsUpdate {
        at: at(secs),
        queries: vec![
            (ERROR_RATIO.into(), Ok(one(&[], ratio))),
            (TRAFFIC.into(), Ok(one(&[], 20.0))),
            (P95.into(), Ok(one(&[], 0.007))),
            (P99.into(), Ok(one(&[], 0.015))),
            (UP.into(), Ok(one(&[("instance", "10.244.1.19:3001")], 1.0))),
        ],
        alerts: Some(Ok(alerts)),
        alertmanager_status: Some(Ok(AmStatus {
            cluster: "disabled".into(),
            version: "0.25.0".into(),
        })),
        prometheus_alerts: Some(Ok(vec![])),
        prometheus_version: Some(Ok("2.42.0".into())),
        alertmanager_url: None,
    }))
}

#[test]
fn frame_monitor_view_with_an_error_burst_held_against_for() {
    let mut app = failing_app();
    for (i, ratio) in [0.001, 0.001, 0.002, 0.05, 0.06].iter().enumerate() {
        let secs = 15 + 15 * i as i64;
        app.update(metrics_round(secs, *ratio, *ratio > 0.01), at(secs));
    }
    app.settle(at(76));
    let row = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "error-rate")
        .expect("error-rate");
    assert_eq!(
        row.shown,
        Shown::Warn,
        "bad for 15s of 2m: {}",
        row.verdict.summary
    );
    assert!(
        row.verdict.summary.contains("fails < 0.01 for 15s of 2m"),
        "{}",
        row.verdict.summary
    );
    let alerts = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "alerts")
        .expect("alerts");
    assert_eq!(alerts.shown, Shown::Fail);
    app.update(key(KeyCode::Char('m')), at(76));
    snap("monitor", &mut app);

    // The chart follows the gate selected in the Gates pane.
    let theme = Theme::default();
    app.update(Msg::Resize(160, 45), app.now);
    for _ in 0..app.gates.len() {
        if app
            .selected_gate()
            .is_some_and(|g| g.verdict.id == "latency")
        {
            break;
        }
        app.update(key(KeyCode::Down), at(76));
    }
    assert_eq!(
        app.selected_gate().map(|g| g.verdict.id.as_str()),
        Some("latency")
    );
    let shown = frame(&app, &theme, 160, 45);
    assert!(
        shown.contains("chart: latency p95 < 0.2 (select a gate to chart it)"),
        "{shown}"
    );

    // Another namespace's alert is not this go-live's: the alerts check's matchers
    // (namespace="gravl-staging") leave it out of the list.
    let Msg::Metrics(mut update) = metrics_round(90, 0.06, true) else {
        unreachable!()
    };
    if let Some(Ok(alerts)) = update.alerts.as_mut() {
        let mut other = alerts[0].clone();
        other
            .labels
            .insert("alertname".into(), "PaymentsDown".into());
        other.labels.insert("namespace".into(), "payments".into());
        other.fingerprint = "payments".into();
        alerts.push(other);
    }
    app.update(Msg::Metrics(update), at(90));
    app.settle(at(91));
    let shown = frame(&app, &theme, 160, 45);
    assert!(
        shown.contains("firing GravlBackendHighErrorRate"),
        "{shown}"
    );
    assert!(!shown.contains("PaymentsDown"), "{shown}");
}

/// A baseline journaled in one session is the one the next session compares against: the
/// cockpit replays it from the journal and never asks Prometheus for it again.
#[test]
fn a_journaled_baseline_is_reused_after_a_restart() {
    use golive::demo::standin::ERROR_RATIO;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let check = app_check_key();
    let baseline = golive::metrics::BaselineValue {
        query: ERROR_RATIO.into(),
        start: at(-1800),
        end: at(0),
        value: 0.001,
        samples: 120,
    };
    // The deploy moment: a rollout golive saw start; from it the baseline window ends.
    journal
        .append(backend_rollout_started(), at(0))
        .expect("appended");
    let asks = |state: RunbookState| {
        let mut app = App::new(gravl(), true, Keymap::default(), state, t0());
        connect(&mut app, at(2));
        app.settle(at(3))
            .into_iter()
            .filter(|e| matches!(e, Effect::CaptureBaseline { check: c, .. } if *c == check))
            .count()
    };
    assert_eq!(
        asks(RunbookState::replay(&journal.entries)),
        1,
        "without a baseline it asks once"
    );
    journal
        .append(
            Action::Baseline {
                check: check.clone(),
                baseline: baseline.clone(),
            },
            at(1),
        )
        .expect("appended");
    assert_eq!(
        asks(RunbookState::replay(&journal.entries)),
        0,
        "with one it never asks again"
    );
    // A new cockpit on the same journal.
    let state = RunbookState::replay(&journal.entries);
    assert_eq!(state.baselines.get(&check), Some(&baseline));
    let mut app = App::new(gravl(), true, Keymap::default(), state, t0());
    connect(&mut app, at(2));
    sync(&mut app, &healthy_objects(), at(2));
    for secs in [15, 30, 45, 60, 75] {
        app.update(metrics_round(secs, 0.02, false), at(secs));
    }
    app.settle(at(76));
    let row = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "error-rate")
        .expect("error-rate");
    let evidence: Vec<String> = row.verdict.checks[0]
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.object, e.detail))
        .collect();
    assert!(
        evidence
            .iter()
            .any(|e| e.starts_with("baseline: 0.001 over 120 samples")),
        "{evidence:#?}"
    );
}

/// A baseline Prometheus could not give at the deploy moment is asked again a minute
/// later, and until then the gate's evidence says why no comparison is made.
#[test]
fn a_failed_baseline_capture_is_said_and_asked_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let check = app_check_key();
    journal
        .append(backend_rollout_started(), at(0))
        .expect("appended");
    let mut app = App::new(
        gravl(),
        true,
        Keymap::default(),
        RunbookState::replay(&journal.entries),
        t0(),
    );
    connect(&mut app, at(2));
    sync(&mut app, &healthy_objects(), at(2));
    let asked = |effects: Vec<Effect>| {
        effects
            .into_iter()
            .filter(|e| matches!(e, Effect::CaptureBaseline { check: c, .. } if *c == check))
            .count()
    };
    assert_eq!(asked(app.settle(at(3))), 1);
    app.update(
        Msg::BaselineCaptured {
            check: check.clone(),
            result: Err("cannot reach Prometheus: connection refused".into()),
        },
        at(4),
    );
    app.update(metrics_round(15, 0.0, false), at(15));
    assert_eq!(asked(app.settle(at(30))), 0, "not again within the minute");
    let row = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "error-rate")
        .expect("error-rate");
    let evidence: Vec<String> = row.verdict.checks[0]
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.object, e.detail))
        .collect();
    assert!(
        evidence.iter().any(|e| e
            == "baseline: no baseline: relative comparison not made (cannot reach Prometheus: connection refused)"),
        "{evidence:#?}"
    );
    assert_eq!(asked(app.settle(at(65))), 1, "asked again a minute later");
}

/// Each alert that starts or stops firing is journaled once, so the report lists every
/// alert of the window with its end, after a restart too.
#[test]
fn alerts_that_start_and_stop_firing_are_journaled_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "ana").expect("journal opens");
    let mut app = App::new(
        gravl(),
        true,
        Keymap::default(),
        RunbookState::replay(&journal.entries),
        t0(),
    );
    connect(&mut app, at(2));
    let alert_events = |effects: Vec<Effect>| -> Vec<Action> {
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Record(a @ Action::Alert { .. }) => Some(a),
                _ => None,
            })
            .collect()
    };
    // The watchdog and the error alert start firing: both are journaled, once.
    let first = alert_events(app.update(metrics_round(15, 0.06, true), at(15)));
    let names: Vec<&str> = first
        .iter()
        .map(|a| match a {
            Action::Alert { name, event, .. } if event == "firing" => name.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["GravlBackendHighErrorRate", "Watchdog"]);
    assert!(
        alert_events(app.update(metrics_round(30, 0.06, true), at(30))).is_empty(),
        "asked already"
    );
    for a in first {
        record(&mut app, &mut journal, a, at(31));
    }
    // The error alert resolves.
    let resolved = alert_events(app.update(metrics_round(45, 0.001, false), at(45)));
    assert!(
        matches!(resolved.as_slice(), [Action::Alert { name, event, .. }]
            if name == "GravlBackendHighErrorRate" && event == "resolved"),
        "{resolved:?}"
    );
    for a in resolved {
        record(&mut app, &mut journal, a, at(46));
    }
    let state = RunbookState::replay(&journal.entries);
    let error = state
        .alerts
        .get("GravlBackendHighErrorRate")
        .expect("journaled");
    assert_eq!(error.resolved_at, Some(at(46)));
    assert_eq!(
        state.alerts.get("Watchdog").and_then(|a| a.resolved_at),
        None
    );
}

/// The deploy moment as the cockpit journals it: the backend's rollout seen starting.
fn backend_rollout_started() -> Action {
    Action::Rollout {
        workload: "Deployment gravl-staging/backend".into(),
        event: "started".into(),
        revision: "rev 3 → 4".into(),
        images: vec![],
        detail: String::new(),
        duration_s: None,
    }
}

fn app_check_key() -> String {
    let plan = gravl();
    plan.plan
        .gates
        .iter()
        .flat_map(|g| &g.checks)
        .find_map(|c| match c {
            golive::plan::Check::Prometheus(p) if p.condition.to_string() == "< 0.01" => {
                Some(golive::gates::monitor::key(p))
            }
            _ => None,
        })
        .expect("the gravl error-rate check")
}

/// The cockpit asks for the DNS lookups once the Ingress is listed, not again until the
/// answers are 20 s old, and judges the dns-records gate from the answers it gets.
#[test]
fn the_cockpit_asks_for_dns_lookups_and_judges_the_answers() {
    let mut app = new_app();
    connect(&mut app, at(1));
    sync(&mut app, &objects(), at(2));
    let asked: Vec<Vec<String>> = app
        .settle(at(3))
        .into_iter()
        .filter_map(|e| match e {
            Effect::LookUpDns(lookups) => Some(lookups.into_iter().map(|(_, h)| h).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(
        asked,
        vec![vec![
            "api.staging.gravl.example".to_string(),
            "staging.gravl.example".to_string()
        ]]
    );
    let dns_row = |app: &App| {
        app.gates
            .iter()
            .find(|g| g.verdict.id == "dns-records")
            .map(|g| (g.verdict.status, g.verdict.summary.clone()))
            .expect("dns-records")
    };
    assert_eq!(dns_row(&app).0, Status::Unknown);
    app.update(healthy_dns(at(4)), at(4));
    let again = app.settle(at(10));
    assert!(
        !again.iter().any(|e| matches!(e, Effect::LookUpDns(_))),
        "{again:?}"
    );
    assert_eq!(
        dns_row(&app),
        (
            Status::Pass,
            "2 hosts resolve to their Ingress's addresses".to_string()
        )
    );
    let later = app.settle(at(30));
    assert!(
        later.iter().any(|e| matches!(e, Effect::LookUpDns(_))),
        "{later:?}"
    );
}

#[test]
fn a_refused_write_marks_the_runbook_pane_not_recording_until_a_write_succeeds() {
    let mut app = failing_app();
    app.update(key(KeyCode::Tab), at(15));
    app.update(key(KeyCode::Tab), at(15));
    let effects = app.update(key(KeyCode::Char(' ')), at(16));
    let Some(Effect::Record(action)) = effects.into_iter().next() else {
        panic!("expected a journal record");
    };
    app.update(
        Msg::RecordFailed {
            action: Box::new(action.clone()),
            error: "File too large (os error 27)".into(),
        },
        at(16),
    );
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("NOT RECORDING: the journal refused the last write"),
        "{text}"
    );
    assert!(
        text.contains("[ ] Verify all production DNS records"),
        "{text}"
    );
    // Space freed: the next write lands, and the pane says nothing more.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "alice").expect("journal");
    record(&mut app, &mut journal, action, at(17));
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(!text.contains("NOT RECORDING"), "{text}");
    assert!(
        text.contains("[x] Verify all production DNS records"),
        "{text}"
    );
}

#[test]
fn help_says_where_the_log_is() {
    let mut app = failing_app();
    app.log_file = Some("/var/lib/golive/gravl/golive.log".into());
    app.update(key(KeyCode::Char('?')), at(15));
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("Log: /var/lib/golive/gravl/golive.log"),
        "{text}"
    );
}

#[test]
fn a_refused_write_keeps_the_reason_known_since_start_up() {
    let mut app = failing_app();
    app.not_recording = Some("locked by another golive".into());
    app.update(key(KeyCode::Tab), at(15));
    app.update(key(KeyCode::Tab), at(15));
    let effects = app.update(key(KeyCode::Char(' ')), at(16));
    let Some(Effect::Record(action)) = effects.into_iter().next() else {
        panic!("expected a journal record");
    };
    app.update(
        Msg::RecordFailed {
            action: Box::new(action),
            error: "no journal".into(),
        },
        at(16),
    );
    let text = frame(&app, &Theme::default(), 160, 45);
    assert!(
        text.contains("NOT RECORDING: locked by another golive"),
        "{text}"
    );
}
