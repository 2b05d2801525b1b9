//! k6's own summary files as load evidence, as a team brings them: the real binary's
//! `check` and `report` against the simulator, and the cockpit's `load: {from: FILE}`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use golive::runbook::journal::{Action, Journal};
use golive::runbook::state::RunbookState;
use golive::tui::app::Effect;
use golive::tui::keys::Keymap;
use golive::tui::{App, Msg, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    support::root().join("tests/fixtures/k6").join(name)
}

fn golive(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(args)
        .env("XDG_DATA_HOME", "/nonexistent-golive-test-home")
        .output()
        .expect("golive runs")
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        golive(&args)
    })
    .await
    .expect("join")
}

fn check_args(plan: &str, kubeconfig: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["check", "--plan", plan, "--format", "json", "--wait", "10"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push("--kubeconfig".into());
    args.push(kubeconfig.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn json_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn load_gate(report: &Value) -> &Value {
    report["gates"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["id"] == "load-test"))
        .unwrap_or_else(|| panic!("no load-test gate in {report}"))
}

/// The Gravl plan with its `load:` section replaced by `load`.
fn gravl_plan_with_load(load: &str) -> String {
    let text = std::fs::read_to_string(support::root().join("assets/plans/gravl.yaml"))
        .expect("the gravl plan");
    let start = text.find("\nload:\n").expect("a load section") + 1;
    let end = text.find("\nrunbook:\n").expect("a runbook") + 1;
    format!("{}{load}\n{}", &text[..start], &text[end..])
}

#[tokio::test]
async fn check_judges_the_gravl_k6_run_failing_rate_and_leaving_p99_unknown() {
    let (sim, _dir, kubeconfig) = support::gravl_sim(&[]).await;
    for file in ["gravl-summary-export.json", "gravl-handle-summary.json"] {
        let path = fixture(file).display().to_string();
        let output = run(check_args("gravl", &kubeconfig, &["--load-summary", &path])).await;
        let report = json_of(&output);
        assert_eq!(output.status.code(), Some(1), "{report}");
        let gate = load_gate(&report);
        assert_eq!(gate["status"], "fail", "{gate}");
        let check = &gate["checks"][0];
        assert!(
            check["summary"]
                .as_str()
                .unwrap_or("")
                .contains("http_reqs rate>100 (measured 19.83)"),
            "{check}"
        );
        let evidence = check["evidence"].as_array().expect("evidence");
        let detail = |object: &str| {
            evidence
                .iter()
                .find(|e| e["object"] == object)
                .and_then(|e| e["detail"].as_str())
                .unwrap_or_else(|| panic!("no {object} in {check}"))
                .to_string()
        };
        assert_eq!(
            detail("http_req_duration p(99)<500"),
            "unknown: k6 did not export p(99); add it to summaryTrendStats; k6: met"
        );
        assert!(detail("source").contains(&path), "{check}");
        assert!(detail("source").contains("written "), "{check}");
        assert!(
            detail("figures").contains("600 requests · 19.83 req/s"),
            "{check}"
        );
    }
    // The text a person reads says the same.
    let path = fixture("gravl-summary-export.json").display().to_string();
    let mut args = check_args("gravl", &kubeconfig, &["--load-summary", &path]);
    args[4] = "text".into();
    let output = run(args).await;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("k6 did not export p(99); add it to summaryTrendStats"),
        "{text}"
    );
    // JUnit: the failed rate is a failure, the p(99) no file holds an error (undecided).
    let output = run(vec![
        "report".into(),
        "--plan".into(),
        "gravl".into(),
        "--wait".into(),
        "10".into(),
        "--format".into(),
        "junit".into(),
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--load-summary".into(),
        path.clone(),
    ])
    .await;
    let xml = String::from_utf8_lossy(&output.stdout);
    assert!(
        xml.contains("name=\"http_reqs rate&gt;100\"><failure message=\"measured 19.83\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"http_req_duration p(99)&lt;500\"><error message=\"undecided: k6 did not export p(99); add it to summaryTrendStats\"/>"),
        "{xml}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn broken_files_are_refused_with_their_position_and_exit_2() {
    let (sim, dir, kubeconfig) = support::gravl_sim(&[]).await;
    let whole = std::fs::read_to_string(fixture("gravl-handle-summary.json")).expect("fixture");
    let cases = [
        (
            "truncated.json",
            whole[..whole.len() / 2].to_string(),
            "the file ends early",
        ),
        (
            "malformed.json",
            whole.replacen("\"count\": 600", "\"count\": 600 600", 1),
            "not valid JSON",
        ),
        (
            "wrong-type.json",
            whole.replacen("\"p(95)\": 6.98", "\"p(95)\": \"6.98ms\"", 1),
            "metrics.http_req_duration.values.p(95): expected a number, got a string",
        ),
        (
            "other.json",
            json!({"data": [1, 2]}).to_string(),
            "no `metrics` object",
        ),
    ];
    for (name, text, why) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let shown = path.display().to_string();
        let output = run(check_args(
            "gravl",
            &kubeconfig,
            &["--load-summary", &shown],
        ))
        .await;
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("{shown}:")), "{stderr}");
        assert!(stderr.contains(why), "{name}: {stderr}");
        if name != "other.json" {
            // file:line:column, as every file golive reads is positioned.
            let place = stderr
                .split(&format!("{shown}:"))
                .nth(1)
                .unwrap_or_default();
            let mut parts = place.splitn(3, ':');
            let numbers = [parts.next(), parts.next()];
            assert!(
                numbers
                    .iter()
                    .all(|n| n
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))),
                "{stderr}"
            );
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_plan_whose_load_is_from_a_k6_file_is_judged_without_a_flag() {
    let (sim, dir, kubeconfig) = support::gravl_sim(&[]).await;
    let mut json: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("gravl-handle-summary.json")).expect("fixture"),
    )
    .expect("json");
    json["metrics"]["http_req_duration"]["values"]["p(99)"] = json!(14.59);
    let results = dir.path().join("results.json");
    std::fs::write(&results, json.to_string()).expect("write");
    let plan = dir.path().join("plan.yaml");
    let load = format!(
        "load:\n  from: {}\n  thresholds:\n    http_req_duration: [\"p(95)<200\", \"p(99)<500\"]\n    http_req_failed: [\"rate<0.01\"]\n",
        results.display()
    );
    std::fs::write(&plan, gravl_plan_with_load(&load)).expect("write plan");
    let plan = plan.display().to_string();
    let output = run(check_args(&plan, &kubeconfig, &[])).await;
    let report = json_of(&output);
    let gate = load_gate(&report);
    assert_eq!(gate["status"], "pass", "{gate}");
    assert!(
        gate["checks"][0]["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with("5 thresholds met over 600 requests"),
        "the plan's three, the script's `errors` and its own `rate<0.1`: {gate}"
    );
    // `golive load` has nothing to run for such a plan, and says so.
    let output = run(vec!["load".into(), "--plan".into(), plan.clone()]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing for golive to run"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_file_older_than_the_go_live_is_stale_evidence_in_check_and_report() {
    let (sim, dir, kubeconfig) = support::gravl_sim(&[]).await;
    let results = dir.path().join("results.json");
    std::fs::copy(fixture("gravl-handle-summary.json"), &results).expect("copy");
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&results)
        .and_then(|f| f.set_modified(hour_ago))
        .expect("backdate the file");
    let state = dir.path().join("state");
    let mut journal = Journal::open(&state, "alice").expect("journal");
    journal
        .append(
            Action::SessionStarted {
                plan: "Gravl production go-live".into(),
                version: "test".into(),
            },
            jiff::Timestamp::now(),
        )
        .expect("append");
    drop(journal);
    let shown = results.display().to_string();
    let state_arg = state.display().to_string();
    let output = run(check_args(
        "gravl",
        &kubeconfig,
        &["--load-summary", &shown, "--state-dir", &state_arg],
    ))
    .await;
    let report = json_of(&output);
    let gate = load_gate(&report);
    assert_eq!(gate["status"], "unknown", "{gate}");
    let summary = gate["checks"][0]["summary"].as_str().unwrap_or("");
    assert!(
        summary.starts_with(&format!("stale evidence: {shown} was written")),
        "{summary}"
    );

    let mut args: Vec<String> = ["report", "--plan", "gravl", "--wait", "10"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend([
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--state-dir".into(),
        state_arg.clone(),
        "--load-summary".into(),
        shown.clone(),
    ]);
    let output = run(args).await;
    let markdown = String::from_utf8_lossy(&output.stdout);
    assert!(
        markdown.contains("Read from a file, not run by golive: k6 handleSummary data"),
        "{markdown}"
    );
    assert!(markdown.contains("**Stale evidence:**"), "{markdown}");
    assert!(
        markdown.contains("❔ unknown: k6 did not export p(99); add it to summaryTrendStats"),
        "{markdown}"
    );
    sim.shutdown().await;
}

fn frame(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| golive::tui::ui::render(f, app, &Theme::default()))
        .expect("draw");
    terminal.backend().to_string()
}

#[test]
fn the_cockpit_reads_the_plans_k6_file_on_l_and_shows_both_verdicts() {
    let from = fixture("gravl-summary-export.json").display().to_string();
    let text = gravl_plan_with_load(&format!(
        "load:\n  from: {from}\n  thresholds:\n    http_req_duration: [\"p(95)<200\", \"p(99)<500\"]\n    http_reqs: [\"rate>100\"]\n"
    ));
    let plan = golive::plan::parse("plan.yaml", &text, |_| None).expect("the plan parses");
    let now: jiff::Timestamp = "2027-01-15T09:00:00Z".parse().expect("ts");
    let mut app = App::new(
        Arc::new(plan),
        true,
        Keymap::default(),
        RunbookState::default(),
        now,
    );
    assert!(
        app.load_evidence().is_none(),
        "nothing read yet is no result"
    );
    let effects = app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE)),
        now,
    );
    assert_eq!(effects, vec![Effect::ReadLoadSummary(from.clone())]);
    let contents = std::fs::read_to_string(&from).expect("fixture");
    let written: jiff::Timestamp = "2027-01-15T08:55:00Z".parse().expect("ts");
    let effects = app.update(
        Msg::LoadSummaryFile {
            path: from.clone(),
            read: Ok((contents, Some(written))),
        },
        now,
    );
    // The reading goes into the journal, whose chain holds with it.
    let [Effect::Record(record)] = effects.as_slice() else {
        panic!("one journal record expected: {effects:?}");
    };
    let Action::LoadSummaryRead {
        file,
        format,
        requests,
        status,
        ..
    } = record
    else {
        panic!("a load_summary_read record expected: {record:?}");
    };
    assert_eq!(
        (file, format.as_str(), *requests, status.as_str()),
        (&from, "k6 --summary-export", 600, "fail")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = Journal::open(dir.path(), "alice").expect("journal");
    journal.append(record.clone(), now).expect("append");
    drop(journal);
    let (entries, verification) = golive::runbook::journal::verify_dir(dir.path()).expect("verify");
    assert!(
        verification.integrity_reasons().is_empty(),
        "{verification:?}"
    );
    assert_eq!(&entries[0].action, record);
    let verdict = golive::gates::load_verdict(app.load_evidence().as_ref());
    assert_eq!(verdict.status, golive::gates::Status::Fail, "{verdict:?}");
    app.update(Msg::Resize(160, 45), now);
    let screen = frame(&app, 160, 45);
    assert!(screen.contains("k6 summary file"), "{screen}");
    assert!(
        screen.contains("p(99)<500 unknown: k6 did not export p(99)"),
        "{screen}"
    );
    assert!(
        screen.contains("rate>100 FAILED (measured 19.83)"),
        "{screen}"
    );

    // Relative to the package root, where the tests run, so the frames are the same anywhere.
    let shown = "tests/fixtures/k6/gravl-summary-export.json";
    app.update(
        Msg::LoadSummaryFile {
            path: shown.into(),
            read: Ok((
                std::fs::read_to_string(&from).expect("fixture"),
                Some(written),
            )),
        },
        now,
    );
    app.settle(now);
    let row = app
        .gates
        .iter()
        .find(|g| g.verdict.id == "load-test")
        .expect("the load-test gate");
    assert_eq!(
        row.verdict.status,
        golive::gates::Status::Fail,
        "{:?}",
        row.verdict
    );
    for (w, h) in [(80, 24), (160, 45)] {
        app.update(Msg::Resize(w, h), now);
        insta::assert_snapshot!(format!("k6_file_{w}x{h}"), frame(&app, w, h));
    }

    // A file that went bad since is no result at all, not the last good one.
    app.update(
        Msg::LoadSummaryFile {
            path: from.clone(),
            read: Ok(("{\"metrics\": {".into(), Some(written))),
        },
        now,
    );
    assert!(app.load_evidence().is_none());
}

#[tokio::test]
async fn control_characters_in_a_k6_file_never_reach_the_terminal_raw() {
    let (sim, dir, kubeconfig) = support::gravl_sim(&[]).await;
    let mut json: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("gravl-handle-summary.json")).expect("fixture"),
    )
    .expect("json");
    let metrics = json["metrics"].as_object_mut().expect("metrics");
    let errors = metrics.remove("errors").expect("errors metric");
    metrics.insert("errors\u{1b}]0;pwned\u{7}".into(), errors);
    let path = dir.path().join("results.json");
    std::fs::write(&path, json.to_string()).expect("write");
    let shown = path.display().to_string();
    let mut args = check_args(
        "gravl",
        &kubeconfig,
        &["--load-summary", &shown, "--verbose"],
    );
    args[4] = "text".into();
    let output = run(args).await;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("errors\\x1b]0;pwned\\x07 rate<0.01"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
    sim.shutdown().await;
}
