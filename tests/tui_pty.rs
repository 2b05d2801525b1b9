//! The real binary in a pseudo-terminal: `golive demo` draws its panes, ticks a step to
//! disk, opens help, starts and stops the load test, quits through the confirmation and
//! leaves the alternate screen; ticks, a note and a sign-off survive SIGKILL; a step's
//! command runs only after confirmation and lands in the journal; the demo's deploy fails
//! fast on its crash-looping pod, offers the way back and journals its completion.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use expectrl::Expect;
use expectrl::process::Healthcheck;
use std::process::Command;
use std::time::{Duration, Instant};

const COLS: u16 = 160;
const ROWS: u16 = 45;

struct Cockpit {
    session: expectrl::session::OsSession,
    parser: vt100::Parser,
    /// Everything the process wrote, for text that scrolled off the screen.
    raw: Vec<u8>,
}

impl Cockpit {
    fn pump(&mut self) {
        let mut buf = [0u8; 65536];
        loop {
            match self.session.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.parser.process(&buf[..n]);
                    self.raw.extend_from_slice(&buf[..n]);
                }
                Err(_) => break,
            }
        }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Reads output until `predicate` holds on the screen, or fails with the screen.
    fn wait_for(&mut self, what: &str, timeout: Duration, predicate: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if predicate(&self.screen()) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Reads output until the process has exited, or fails with the screen after 8 s.
    fn wait_exit(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(8);
        while self.session.is_alive().unwrap_or(false) {
            self.pump();
            assert!(
                Instant::now() < deadline,
                "golive did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, keys: &str) {
        self.session.send(keys).expect("send keys");
    }

    /// Completes Pre-flight from its first step, which `select` focuses: DNS records,
    /// cluster access and backups verify themselves through their gates (the demo's DNS
    /// stand-in answers, last night's backup completed); the backup step gets
    /// `backup_note`, if any, and stakeholders are ticked by hand.
    fn tick_preflight(&mut self, select: &str, backup_note: Option<&str>) {
        self.send(select);
        self.wait_for("the gate-verified steps", Duration::from_secs(15), |s| {
            s.contains("✓ by gate dns-records")
                && s.contains("✓ by gate cluster-access")
                && s.contains("✓ by gate backups")
        });
        if let Some(note) = backup_note {
            self.send(&format!("jjn{note}\r"));
            self.wait_for("the note recorded", Duration::from_secs(5), |s| {
                s.contains("note recorded")
            });
            self.send("j ");
        } else {
            self.send("jjj ");
        }
        self.wait_for("Pre-flight done", Duration::from_secs(10), |s| {
            s.contains("Pre-flight 4/4")
        });
    }
}

fn spawn(home: &std::path::Path, state: &std::path::Path, panic: bool) -> Cockpit {
    spawn_demo(home, state, panic, &[])
}

fn spawn_demo(
    home: &std::path::Path,
    state: &std::path::Path,
    panic: bool,
    extra: &[&str],
) -> Cockpit {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_golive"));
    cmd.args(["demo", "--state-dir"])
        .arg(state)
        .args(extra)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("TERM", "xterm-256color")
        .env("GOLIVE_OPERATOR", "pty-tester")
        .env_remove("NO_COLOR")
        .env_remove("GOLIVE_CONFIG");
    if panic {
        cmd.env("GOLIVE_TEST_PANIC", "task");
    } else {
        cmd.env_remove("GOLIVE_TEST_PANIC");
    }
    let mut session = expectrl::Session::spawn(cmd).expect("spawn golive demo");
    session
        .get_process_mut()
        .set_window_size(COLS, ROWS)
        .expect("window size");
    Cockpit {
        session,
        parser: vt100::Parser::new(
            std::num::NonZeroU16::new(ROWS).expect("rows > 0"),
            std::num::NonZeroU16::new(COLS).expect("cols > 0"),
            0,
        ),
        raw: Vec::new(),
    }
}

#[test]
fn panic_in_a_background_task_restores_the_terminal_and_exits_101() {
    let home = tempfile::tempdir().expect("home");
    let state = tempfile::tempdir().expect("state dir");
    let mut c = spawn(home.path(), state.path(), true);
    c.wait_for("the cockpit", Duration::from_secs(10), |s| {
        s.contains("Gates")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        c.pump();
        match c.session.get_process().status().expect("process status") {
            expectrl::process::unix::WaitStatus::StillAlive => {}
            other => break other,
        }
        assert!(
            Instant::now() < deadline,
            "golive kept running after a panic"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    c.pump();
    assert!(
        matches!(status, expectrl::process::unix::WaitStatus::Exited(_, 101)),
        "exit status {status:?}"
    );
    assert!(!c.parser.screen().alternate_screen(), "terminal restored");
    assert!(
        String::from_utf8_lossy(&c.raw).contains("deliberate panic"),
        "the report is printed after the restore:\n{}",
        c.screen()
    );
}

#[test]
fn demo_cockpit_end_to_end_in_a_pty() {
    let home = tempfile::tempdir().expect("home");
    let state = tempfile::tempdir().expect("state dir");
    let mut c = spawn(home.path(), state.path(), false);
    let started = Instant::now();
    c.wait_for("panes and a verdict", Duration::from_secs(10), |s| {
        s.contains("Gates") && s.contains("Runbook") && s.contains("DEMO") && s.contains("NO-GO")
    });
    eprintln!("first frame with a verdict after {:?}", started.elapsed());
    assert!(
        c.parser.screen().alternate_screen(),
        "the cockpit draws on the alternate screen"
    );

    // Tick the last Pre-flight step by hand: tab to the runbook, down three, space.
    c.send("\t\t");
    c.send("jjj ");
    c.wait_for("the ticked step", Duration::from_secs(5), |s| {
        s.contains("[x] Notify stakeholders")
    });
    let journal =
        std::fs::read_to_string(state.path().join("journal.jsonl")).expect("journal written");
    assert!(
        journal.contains(r#""type":"step_checked","step":"notify-stakeholders""#),
        "{journal}"
    );
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(["journal", "verify"])
        .arg(state.path())
        .output()
        .expect("golive journal verify runs");
    assert!(
        verify.status.success(),
        "golive journal verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // The demo's cluster-access gate passes, so its step ticks itself through the journal.
    c.wait_for("the auto-verified step", Duration::from_secs(5), |s| {
        s.contains("✓ by gate cluster-access")
    });
    let journal =
        std::fs::read_to_string(state.path().join("journal.jsonl")).expect("journal written");
    assert!(
        journal.contains(r#""type":"step_verified","step":"confirm-production-cluster-access""#),
        "{journal}"
    );

    // `r` writes the report next to the journal and says so.
    c.send("r");
    c.wait_for("the report written", Duration::from_secs(5), |s| {
        s.contains("report written to")
    });
    let report = std::fs::read_dir(state.path())
        .expect("state dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "md"))
        .expect("a report file in the state dir");
    let text = std::fs::read_to_string(&report).expect("report readable");
    assert!(text.contains("## Verdict"), "{text}");

    // A mouse click (SGR encoding, 1-based) on a gate row focuses the Gates pane.
    assert!(c.screen().contains("┌ Gates"), "{}", c.screen());
    c.send("\x1b[<0;6;6M\x1b[<0;6;6m");
    c.wait_for(
        "the Gates pane focused by a click",
        Duration::from_secs(5),
        |s| s.contains("┏ Gates"),
    );

    c.send("?");
    c.wait_for("help", Duration::from_secs(5), |s| {
        s.contains("golive keys") && s.contains("toggle")
    });
    c.send("x");
    c.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("golive keys")
    });

    // The monitor view: the Grafana link is an OSC 8 hyperlink to the whole URL.
    c.send("m");
    c.wait_for("the monitor view", Duration::from_secs(5), |s| {
        s.contains("g https://grafana.example/d/gravl-overview")
    });
    assert!(
        String::from_utf8_lossy(&c.raw)
            .contains("\x1b]8;;https://grafana.example/d/gravl-overview?from="),
        "no OSC 8 hyperlink written"
    );
    c.send("m");

    c.send("l");
    c.wait_for("the load test running", Duration::from_secs(8), |s| {
        s.contains("▶ running")
    });
    c.send("l");
    c.wait_for("the load test stopped", Duration::from_secs(8), |s| {
        s.contains("stopped early")
    });
    c.send("l");
    c.wait_for("the load test running again", Duration::from_secs(8), |s| {
        s.contains("▶ running")
    });

    c.send("q");
    c.wait_for("the quit confirmation", Duration::from_secs(5), |s| {
        s.contains("Stop it and quit")
    });
    c.send("y");
    c.wait_exit();
    c.pump();
    assert!(
        !c.parser.screen().alternate_screen(),
        "the terminal left the alternate screen"
    );
    // Quitting mid-run still journals the run's end: no start without a finish.
    let text = std::fs::read_to_string(state.path().join("journal.jsonl")).expect("journal");
    assert_eq!(
        text.matches(r#""type":"load_started""#).count(),
        text.matches(r#""type":"load_finished""#).count(),
        "{text}"
    );
    // And the chain, load statistics included, verifies.
    journal_verifies(state.path());
}

fn journal(state: &std::path::Path) -> String {
    std::fs::read_to_string(state.join("journal.jsonl")).expect("journal written")
}

fn journal_verifies(state: &std::path::Path) {
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(["journal", "verify"])
        .arg(state)
        .output()
        .expect("golive journal verify runs");
    assert!(
        verify.status.success(),
        "golive journal verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn ticks_a_note_and_a_sign_off_survive_sigkill_and_a_restart() {
    let home = tempfile::tempdir().expect("home");
    let state = tempfile::tempdir().expect("state dir");
    let mut c = spawn(home.path(), state.path(), false);
    c.wait_for("panes and a verdict", Duration::from_secs(10), |s| {
        s.contains("Runbook") && s.contains("NO-GO")
    });
    c.tick_preflight("\t\t", Some("backup restored to a scratch cluster"));
    c.send("s");
    c.wait_for("the sign-off form", Duration::from_secs(5), |s| {
        s.contains("sign off") && s.contains("pty-tester")
    });
    c.send("\r\r\rready from ops\r");
    c.wait_for("the sign-off recorded", Duration::from_secs(5), |s| {
        s.contains("sign-off recorded: DevOps/PM approved by pty-tester")
    });
    let before = journal(state.path());
    assert!(before.contains(r#""type":"sign_off""#), "{before}");
    assert!(
        before.contains("backup restored to a scratch cluster"),
        "{before}"
    );

    // No chance to clean up: SIGKILL.
    let pid = c.session.get_process().pid();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.session.is_alive().unwrap_or(false) {
        assert!(Instant::now() < deadline, "pid {pid} survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    journal_verifies(state.path());

    let mut c = spawn(home.path(), state.path(), false);
    c.wait_for(
        "every tick back after the restart",
        Duration::from_secs(10),
        |s| {
            s.contains("[x] Verify all production DNS records")
                && s.contains("[x] Confirm production cluster access")
                && s.contains("[x] Validate backup procedures")
                && s.contains("[x] Notify stakeholders")
                && s.contains("DevOps/PM ✓")
        },
    );
    // The note is in the step's details.
    c.send("\t\tjj");
    c.wait_for("the note in the details", Duration::from_secs(5), |s| {
        s.contains("backup restored to a scratch cluster")
    });
    let after = journal(state.path());
    assert!(after.starts_with(&before), "the journal only grows");
    journal_verifies(state.path());
    c.send("q");
}

#[test]
fn a_step_command_runs_after_confirmation_and_its_exit_code_is_journaled() {
    let home = tempfile::tempdir().expect("home");
    let state = tempfile::tempdir().expect("state dir");
    let mut c = spawn(home.path(), state.path(), false);
    c.wait_for("panes", Duration::from_secs(10), |s| s.contains("Runbook"));
    // Deploy's first step applies the network policies; Deploy requires Pre-flight.
    c.send("]x");
    c.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains("not run: this step requires Pre-flight first")
    });
    assert!(!c.screen().contains("Run this command now?"));
    c.tick_preflight("[", None);
    c.send("]x");
    c.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains("Run this command now?") && s.contains("$ kubectl apply")
    });
    c.send("n");
    c.wait_for("the confirmation gone", Duration::from_secs(5), |s| {
        !s.contains("Run this command now?")
    });
    assert!(
        !journal(state.path()).contains("command_started"),
        "nothing runs without y"
    );
    c.send("xy");
    // The demo has no k8s/staging/network-policy.yaml (or no kubectl): a failing exit.
    c.wait_for("the command's exit", Duration::from_secs(20), |s| {
        s.contains("$ exit ")
    });
    let text = journal(state.path());
    assert!(
        text.contains(r#""type":"command_started","step":"apply-network-policies""#),
        "{text}"
    );
    assert!(
        text.contains(r#""type":"command_run","step":"apply-network-policies""#)
            && !text.contains(r#""exit_code":0"#),
        "{text}"
    );
    journal_verifies(state.path());
    c.send("q");
}

#[test]
fn the_demo_deploy_fails_fast_offers_the_undo_and_journals_its_completion() {
    let home = tempfile::tempdir().expect("home");
    let state = tempfile::tempdir().expect("state dir");
    // Ten times faster: the deploy at 4 s, the crash loop at 4.6 s, revision 5 done at 10.5 s.
    let mut c = spawn_demo(home.path(), state.path(), false, &["--speed", "10"]);
    c.wait_for("panes", Duration::from_secs(10), |s| s.contains("Runbook"));
    c.send("d");
    c.wait_for("the deploy view", Duration::from_secs(5), |s| {
        s.contains("Deploy") && s.contains("deployment/backend")
    });
    let failing = Instant::now();
    c.wait_for(
        "the crash loop failing the rollout",
        Duration::from_secs(15),
        |s| {
            s.contains("✗ failing")
                && s.contains("✗ pod backend-5b7f9d4c8-k2m7x container backend CrashLoopBackOff")
                && s.contains("↶ u: kubectl rollout undo deployment/backend -n gravl-staging --to-")
        },
    );
    eprintln!(
        "fail-fast shown {:?} after the deploy view opened",
        failing.elapsed()
    );
    c.send("u");
    c.wait_for("the undo asked first", Duration::from_secs(5), |s| {
        s.contains("Run this command now?")
            && s.contains(
                "$ kubectl rollout undo deployment/backend -n gravl-staging --to-revision=3",
            )
    });
    c.send("n");
    c.wait_for("the undo not run", Duration::from_secs(5), |s| {
        s.contains("command not run")
    });
    c.wait_for("revision 5 rolled out", Duration::from_secs(15), |s| {
        s.contains("✓ rolled out") && s.contains("deployment/backend rev 4 → 5")
    });
    c.send("q");
    c.wait_exit();
    let journal = journal(state.path());
    let rollouts: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a journal line is JSON"))
        .filter(|e| e["action"]["type"] == "rollout")
        .map(|e| e["action"].clone())
        .collect();
    let events: Vec<(String, String)> = rollouts
        .iter()
        .map(|a| {
            (
                a["revision"].as_str().unwrap().to_string(),
                a["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("rev 3 → 4".to_string(), "started".to_string()),
            ("rev 3 → 4".to_string(), "failed".to_string()),
            ("rev 4 → 5".to_string(), "started".to_string()),
            ("rev 4 → 5".to_string(), "complete".to_string()),
        ],
        "{rollouts:#?}"
    );
    assert_eq!(
        rollouts[0]["images"][0],
        "backend: ghcr.io/gravl/backend:1.8.0 → ghcr.io/gravl/backend:1.9.0"
    );
    assert!(
        rollouts[3]["duration_s"].as_i64().is_some(),
        "{rollouts:#?}"
    );
    assert!(
        !journal.contains("command_started"),
        "nothing runs without y"
    );
    journal_verifies(state.path());
}
