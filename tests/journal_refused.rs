//! A journal that refuses a write leaves the tick unticked and the runbook pane saying
//! NOT RECORDING, in the real binary: a file size limit (RLIMIT_FSIZE, set in the child
//! golive only) that the journal reaches mid-session, and a state directory golive may
//! not write to (as root, which writes through permissions, a directory in the journal's
//! place).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests stop at the first surprise

use expectrl::process::Healthcheck;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const COLS: u16 = 160;
const ROWS: u16 = 45;

struct Cockpit {
    session: expectrl::session::OsSession,
    parser: vt100::Parser,
}

impl Cockpit {
    fn spawn(home: &Path, state: &Path, file_size_limit: Option<u64>) -> Cockpit {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_golive"));
        cmd.args(["demo", "--state-dir"])
            .arg(state)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("TERM", "xterm-256color")
            .env("GOLIVE_OPERATOR", "pty-tester")
            .env_remove("GOLIVE_TEST_PANIC")
            .env_remove("GOLIVE_CONFIG");
        if let Some(limit) = file_size_limit {
            // SAFETY: setrlimit is async-signal-safe; it runs in the forked child before exec.
            unsafe {
                cmd.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut session = expectrl::Session::spawn(cmd).expect("spawn golive demo");
        session
            .get_process_mut()
            .set_window_size(COLS, ROWS)
            .expect("window size");
        Cockpit {
            session,
            parser: vt100::Parser::new(
                std::num::NonZeroU16::new(ROWS).unwrap(),
                std::num::NonZeroU16::new(COLS).unwrap(),
                0,
            ),
        }
    }

    fn pump(&mut self) {
        let mut buf = [0u8; 65536];
        while let Ok(n) = self.session.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            self.parser.process(&buf[..n]);
        }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    fn wait_for(&mut self, what: &str, timeout: Duration, predicate: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if predicate(&self.screen()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, keys: &str) {
        use expectrl::Expect;
        self.session.send(keys).expect("send keys");
    }

    fn quit(mut self) {
        self.send("q");
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
}

fn journal_verifies(state: &Path) {
    let verify = Command::new(env!("CARGO_BIN_EXE_golive"))
        .args(["journal", "verify"])
        .arg(state)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "golive journal verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

const FIRST_STEP: &str = "Verify all production DNS records";
/// The Pre-flight step no gate verifies: ticked by hand (tab to the runbook, down three).
const HAND_STEP: &str = "Notify stakeholders";

#[test]
fn a_file_size_limit_reached_mid_session_leaves_the_tick_unticked_and_says_not_recording() {
    let home = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    // A first session writes the journal's plan and session entries and the step that
    // ticks itself, then quits.
    let mut c = Cockpit::spawn(home.path(), state.path(), None);
    c.wait_for("the self-verified steps", Duration::from_secs(15), |s| {
        s.contains("NO-GO")
            && s.contains("[x] Confirm production cluster access")
            && s.contains(&format!("[x] {FIRST_STEP}"))
            && s.contains("[x] Validate backup procedures")
    });
    // Help says where the log is; the log is there.
    c.send("?");
    let log = state.path().join("golive.log");
    c.wait_for("the log in help", Duration::from_secs(5), |s| {
        s.contains(&format!("Log: {}", log.display()))
    });
    c.send("?");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("golive started")
    );
    c.quit();
    let journal_path = state.path().join("journal.jsonl");
    let before = std::fs::read_to_string(&journal_path).unwrap();
    let session_line = before
        .lines()
        .rfind(|l| l.contains(r#""type":"session_started""#))
        .expect("a session entry")
        .len() as u64;
    // Room for the next session's entry (timestamps vary in length a little), not for a tick.
    let limit = before.len() as u64 + session_line + 40;

    let mut c = Cockpit::spawn(home.path(), state.path(), Some(limit));
    c.wait_for("panes and a verdict", Duration::from_secs(10), |s| {
        s.contains("Runbook") && s.contains("NO-GO")
    });
    assert!(
        !c.screen().contains("NOT RECORDING"),
        "the session's own entry fits under the limit:\n{}",
        c.screen()
    );
    c.send("\t\t");
    c.send("jjj ");
    c.wait_for("the refused tick", Duration::from_secs(5), |s| {
        s.contains("NOT RECORDING: the journal refused the last write")
    });
    let screen = c.screen();
    assert!(screen.contains(&format!("[ ] {HAND_STEP}")), "{screen}");
    assert!(!screen.contains(&format!("[x] {HAND_STEP}")), "{screen}");
    c.quit();
    let after = std::fs::read_to_string(&journal_path).unwrap();
    assert!(
        !after.contains(r#""type":"step_checked""#),
        "the refused tick is not in the journal:\n{after}"
    );
    assert!(after.starts_with(&before), "the journal only grows");
    journal_verifies(state.path());
}

#[test]
fn a_journal_golive_cannot_open_for_writing_says_not_recording_and_ticks_stay_unticked() {
    let home = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let mut perms = std::fs::metadata(&state).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&state, perms).unwrap();
    if std::fs::write(state.join("probe"), b"x").is_ok() {
        // root writes through directory permissions; a directory where the journal file
        // should be refuses it too, through the same open.
        eprintln!(
            "this user writes to read-only directories (root): journal.jsonl is a directory instead"
        );
        std::fs::remove_file(state.join("probe")).unwrap();
        std::fs::create_dir(state.join("journal.jsonl")).unwrap();
    }
    let mut c = Cockpit::spawn(home.path(), &state, None);
    c.wait_for("panes and a verdict", Duration::from_secs(10), |s| {
        s.contains("Runbook") && s.contains("NO-GO")
    });
    c.wait_for("NOT RECORDING", Duration::from_secs(5), |s| {
        s.contains("NOT RECORDING: cannot write the journal")
    });
    // The gate-verified steps try (and fail) to record themselves first.
    c.wait_for("the auto-verifications", Duration::from_secs(10), |s| {
        s.matches("auto ✓").count() >= 3
    });
    c.send("\t\t");
    c.send("jjj ");
    c.wait_for("the refused tick", Duration::from_secs(5), |s| {
        s.contains("step NOT recorded")
    });
    let screen = c.screen();
    assert!(screen.contains(&format!("[ ] {HAND_STEP}")), "{screen}");
    assert!(screen.contains(&format!("[ ] {FIRST_STEP}")), "{screen}");
    c.quit();
}
