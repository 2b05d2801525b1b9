//! What kubectl and k9s users expect of a command-line tool, from the real binary:
//! `--version` names the commit, shell completions for bash, zsh and fish, man pages.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests stop at the first surprise

use std::process::Command;

fn golive(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let (ok, stdout, stderr) = golive(&["--version"]);
    assert!(ok, "{stderr}");
    let commit = stdout
        .trim()
        .strip_prefix(&format!("golive {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected version line: {stdout}"));
    // Built from this checkout, the commit is HEAD's; built elsewhere, it says so.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        Some(head) => assert_eq!(commit, head, "{stdout}"),
        None => assert_eq!(commit, "unknown", "{stdout}"),
    }
}

#[test]
fn completions_for_bash_zsh_and_fish_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "_golive()"),
        ("zsh", "#compdef golive"),
        ("fish", "complete -c golive"),
    ] {
        let (ok, stdout, stderr) = golive(&["completions", shell]);
        assert!(ok, "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell}:\n{stdout}");
        for sub in ["check", "report", "demo", "journal"] {
            assert!(stdout.contains(sub), "{shell} completes {sub}");
        }
    }
    let (ok, _, stderr) = golive(&["completions", "tcsh"]);
    assert!(!ok);
    assert!(
        stderr.contains("bash"),
        "the error lists the shells: {stderr}"
    );
}

#[test]
fn man_prints_golive_1_and_writes_a_page_per_subcommand() {
    let (ok, stdout, stderr) = golive(&["man"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with(".ie"),
        "roff: {}",
        &stdout[..stdout.len().min(200)]
    );
    assert!(stdout.contains(".TH golive 1"), "{stdout}");
    assert!(stdout.contains("report"), "{stdout}");
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = golive(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(ok, "{stderr}");
    for page in [
        "golive.1",
        "golive-report.1",
        "golive-check.1",
        "golive-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}
