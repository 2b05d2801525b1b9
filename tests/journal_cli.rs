//! `golive journal verify` and `golive report` as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

mod support;

use golive::runbook::journal::{Action, FILE_NAME, Journal};
use jiff::Timestamp;
use std::process::Command;
use support::*;

fn golive() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golive"))
}

fn journal(dir: &std::path::Path) {
    let mut j = Journal::open(dir, "alice").expect("journal");
    for step in [
        "verify-all-production-dns-records",
        "notify-stakeholders",
        "validate-backup-procedures",
    ] {
        j.append(Action::StepChecked { step: step.into() }, Timestamp::now())
            .expect("append");
    }
}

/// `golive report --plan gravl` on the simulator's kubeconfig and a state directory.
async fn report(
    kubeconfig: &std::path::Path,
    state: &std::path::Path,
    format: &str,
) -> std::process::Output {
    let mut cmd = golive();
    cmd.args([
        "report", "--plan", "gravl", "--format", format, "--wait", "10",
    ])
    .arg("--kubeconfig")
    .arg(kubeconfig)
    .arg("--state-dir")
    .arg(state);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("runs")
}

#[test]
fn verify_passes_an_intact_journal_and_names_the_tampered_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    journal(dir.path());
    let out = golive()
        .args(["journal", "verify"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 entries, chain intact"));

    let path = dir.path().join(FILE_NAME);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replacen("notify-stakeholders", "notify-nobody", 1),
    )
    .expect("tamper");
    let out = golive()
        .args(["journal", "verify"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("journal.jsonl:2: content does not match its hash"),
        "{stdout}"
    );
}

#[tokio::test]
async fn report_combines_the_cluster_and_the_journal() {
    let (sim, dir, kubeconfig) = gravl_sim(&[]).await;
    journal(dir.path());
    let out = report(&kubeconfig, dir.path(), "markdown").await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("## Verdict: NO-GO"), "{text}");
    assert!(
        text.contains("| cluster-issuers | ❌ fail | internal-ca-issuer False |"),
        "{text}"
    );
    assert!(
        text.contains("- [x] Verify all production DNS records — alice at"),
        "{text}"
    );
    assert!(text.contains("chain intact"), "{text}");
    sim.shutdown().await;
}

#[test]
fn verify_finds_lines_cut_off_the_end_and_checks_a_report_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    journal(dir.path());
    let (_, full) = golive::runbook::journal::verify_dir(dir.path()).expect("verify");
    let verify = |expect: Option<&str>| {
        let mut cmd = golive();
        cmd.args(["journal", "verify"]).arg(dir.path());
        if let Some(hash) = expect {
            cmd.args(["--expect", hash]);
        }
        let out = cmd.output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = verify(Some(&full.final_hash));
    assert_eq!(code, Some(0), "{stdout}");

    // The last line goes: the chain alone still holds, journal.head does not agree.
    let path = dir.path().join(FILE_NAME);
    let text = std::fs::read_to_string(&path).expect("read");
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&path, format!("{}\n", kept.join("\n"))).expect("cut");
    let (code, stdout) = verify(None);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "journal.jsonl:3: the journal ends after 2 entries but journal.head recorded 3"
        ),
        "{stdout}"
    );

    // Without journal.head, the hash a report printed still finds it.
    std::fs::remove_file(dir.path().join(golive::runbook::journal::HEAD_FILE_NAME))
        .expect("remove head");
    let (code, stdout) = verify(None);
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout) = verify(Some(&full.final_hash));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("no entry has the expected hash"),
        "{stdout}"
    );
}

#[tokio::test]
async fn report_on_a_tampered_journal_is_no_go_with_the_line_first() {
    let (sim, dir, kubeconfig) = gravl_sim(&[]).await;
    journal(dir.path());
    let path = dir.path().join(FILE_NAME);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replacen(r#""alice""#, r#""mallory""#, 1)).expect("tamper");
    let out = report(&kubeconfig, dir.path(), "json").await;
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(json["verdict"], "no-go");
    assert_eq!(json["journal"]["intact"], false);
    let first = json["reasons"][0].as_str().unwrap_or_default();
    assert!(
        first.starts_with("journal line 1: content does not match its hash"),
        "{first}"
    );
    sim.shutdown().await;
}
