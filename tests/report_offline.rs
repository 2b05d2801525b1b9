//! `golive report` after the cluster is gone: the real binary writes the whole report
//! from the journal (runbook, sign-offs, load results, the last gate verdicts the journal
//! holds with their time), the gates that read the cluster `unknown: cluster not
//! reachable (…)`, exit 3; the journal names its plan, so `--state-dir` is enough.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests stop at the first surprise

use golive::runbook::journal::{Action, Journal, LoadStats};
use jiff::Timestamp;
use std::path::Path;
use std::process::{Command, Output};

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

/// A go-live's journal as the cockpit leaves it: its plan, a session, ticks, a load test
/// and a sign-off over the gates as they were.
fn journal_of_a_go_live(dir: &Path, record_plan: bool) {
    let plan = golive::plan::load_with_env("gravl", |_| None).unwrap();
    let mut j = Journal::open(dir, "alice").unwrap();
    if record_plan {
        j.append(
            Action::Plan {
                name: plan.plan.name.clone(),
                source: plan.source.clone(),
                sha256: plan.sha256(),
                text: plan.text.clone(),
            },
            at(0),
        )
        .unwrap();
    }
    let first_step = plan.plan.runbook[0].steps[0].id();
    let actions = vec![
        Action::SessionStarted {
            plan: plan.plan.name.clone(),
            version: "0.1.0".into(),
        },
        Action::StepChecked {
            step: first_step.clone(),
        },
        Action::LoadStarted {
            target: "http://127.0.0.1:1".into(),
        },
        Action::LoadFinished {
            requests: 600,
            thresholds_ok: true,
            thresholds: vec![(
                "http_req_duration".into(),
                "p(95)<200".into(),
                true,
                "7.0 ms".into(),
            )],
            aborted: None,
            stats: Some(LoadStats {
                duration_s: 30.0,
                rps: 20.0,
                failure_rate: 0.0,
                p50_ms: 1.9,
                p90_ms: 5.1,
                p95_ms: 7.0,
                p99_ms: 14.6,
                max_ms: 21.8,
                avg_ms: 2.5,
                data_received: 1_600_000,
            }),
        },
        Action::SignOff {
            role: "Security".into(),
            name: "bob".into(),
            approve: true,
            comment: Some("fine by me".into()),
            verdict: "NO-GO".into(),
            gates: plan
                .plan
                .gates
                .iter()
                .map(|g| (g.id.value.clone(), "pass".into()))
                .collect(),
        },
    ];
    for (i, action) in actions.into_iter().enumerate() {
        j.append(action, at(60 * (i as i64 + 1))).unwrap();
    }
}

/// A kubeconfig whose server is a loopback port nothing listens on.
fn dead_cluster(dir: &Path) -> std::path::PathBuf {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    path
}

fn report(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_golive"))
        .arg("report")
        .args(args)
        .args(["--wait", "3"])
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("GRAVL_PROMETHEUS_URL", "http://127.0.0.1:1")
        .env("GRAVL_ALERTMANAGER_URL", "http://127.0.0.1:1")
        .env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_written_from_the_journal(stdout: &str, stderr: &str) {
    assert!(stdout.contains("# Go-live report: "), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("cluster not reachable ("),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("❔ unknown"), "{stdout}");
    // Only the load test, judged from its journaled result, may pass without a cluster.
    for line in stdout.lines().filter(|l| l.contains("| ✅ pass |")) {
        assert!(
            line.starts_with("| load-test |"),
            "passes without a cluster: {line}"
        );
    }
    // The record: a tick, the load results, the sign-off and the journaled verdicts with time.
    assert!(stdout.contains("[x]"), "{stdout}");
    assert!(stdout.contains("| 30 s | 20.0 |"), "{stdout}");
    assert!(stdout.contains("fine by me"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "last journaled verdict: pass at {} (sign-off Security by bob)",
            at(300)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("chain intact"), "{stdout}");
}

#[test]
fn a_report_with_only_the_state_dir_and_no_cluster_comes_from_the_journal_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    journal_of_a_go_live(state.path(), true);
    // No kubeconfig anywhere: the client cannot even be built.
    let out = report(
        &["--state-dir", state.path().to_str().unwrap()],
        home.path(),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_written_from_the_journal(&stdout, &stderr);
    assert!(stdout.contains("context `(no cluster)`"), "{stdout}");
}

#[test]
fn a_report_against_a_server_that_is_gone_comes_from_the_journal_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    journal_of_a_go_live(state.path(), true);
    let kubeconfig = dead_cluster(home.path());
    let out = report(
        &[
            "--state-dir",
            state.path().to_str().unwrap(),
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        home.path(),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_written_from_the_journal(&stdout, &stderr);
    // The failing watches are in the state directory's log, for after the fact.
    let log = std::fs::read_to_string(state.path().join("golive.log")).unwrap();
    assert!(log.contains("golive started"), "{log}");
    assert!(
        log.contains("WARN") && log.contains("watch failed"),
        "{log}"
    );
}

#[test]
fn a_journal_without_its_plan_needs_plan_and_still_replays() {
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    journal_of_a_go_live(state.path(), false);
    let dir = state.path().to_str().unwrap();
    let out = report(&["--state-dir", dir], home.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("records no plan"), "{stderr}");
    assert!(stderr.contains("--plan"), "{stderr}");
    let out = report(&["--state-dir", dir, "--plan", "gravl"], home.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_written_from_the_journal(&stdout, &stderr);
}

#[test]
fn a_report_with_another_plan_text_says_so() {
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    journal_of_a_go_live(state.path(), true);
    let edited = home.path().join("gravl-edited.yaml");
    let edited_text =
        include_str!("../assets/plans/gravl.yaml").to_string() + "\n# edited after the go-live\n";
    std::fs::write(&edited, edited_text).unwrap();
    let out = report(
        &[
            "--state-dir",
            state.path().to_str().unwrap(),
            "--plan",
            edited.to_str().unwrap(),
        ],
        home.path(),
    );
    let (stdout, stderr) = text(&out);
    assert!(stderr.contains("its text differs"), "{stderr}");
    assert!(
        stdout.contains("> **Note:** this journal belongs to the plan"),
        "{stdout}"
    );
}

#[test]
fn a_report_whose_plan_reads_load_from_a_missing_file_is_still_written() {
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    journal_of_a_go_live(state.path(), true);
    // The plan judges a k6 file written on the load machine, which is not here.
    let gravl = include_str!("../assets/plans/gravl.yaml");
    let start = gravl.find("\nload:\n").expect("gravl has a load section");
    let end = start
        + 1
        + gravl[start + 1..]
            .find("\nrunbook:")
            .expect("then a runbook");
    let missing = home.path().join("results.json");
    let plan = format!(
        "{}\nload: {{from: \"{}\"}}\n{}",
        &gravl[..start],
        missing.display(),
        &gravl[end..]
    );
    let path = home.path().join("gravl-k6.yaml");
    std::fs::write(&path, plan).unwrap();
    let out = report(
        &[
            "--state-dir",
            state.path().to_str().unwrap(),
            "--plan",
            path.to_str().unwrap(),
        ],
        home.path(),
    );
    let (stdout, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("# Go-live report: "), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("load summary not read, the load gate is unknown")
            && stdout.contains("results.json"),
        "{stdout}"
    );
    assert!(stderr.contains("load summary not read"), "{stderr}");

    // Named on the command line, the same missing file is refused.
    let out = report(
        &[
            "--state-dir",
            state.path().to_str().unwrap(),
            "--load-summary",
            missing.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}
