//! Runs a step's command after the operator confirmed it: `sh -c` in its own process
//! group, stdin closed, stdout and stderr streamed to the screen line by line, killed
//! (the whole group) at its timeout or when golive quits. The journal gets the start
//! before anything runs and the exit code with the last lines after.

use super::app::{CommandResult, Msg};
use std::collections::VecDeque;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Lines of output the journal keeps per run, and at most this many bytes of them.
const TAIL_LINES: usize = 20;
const TAIL_BYTES: usize = 2000;
/// A line longer than this is cut: output is for reading, not for storing.
const LINE_CHARS: usize = 400;
/// After the shell exits, how long its output may still arrive (a background child can
/// hold the pipes open forever).
const DRAIN: Duration = Duration::from_millis(500);
/// Between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

pub struct Spec {
    pub step: String,
    pub command: String,
    pub timeout: Duration,
    /// Extra environment, e.g. the cockpit's KUBECONFIG.
    pub env: Vec<(String, String)>,
}

/// Runs the command to its end and reports on `tx`; `cancel` kills it (golive quitting).
pub async fn run(spec: Spec, tx: mpsc::Sender<Msg>, cancel: CancellationToken) {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx
                .send(Msg::CommandNotStarted(format!("cannot start sh: {e}")))
                .await;
            return;
        }
    };
    let pgid = child.id().map(|id| id as i32);
    let (line_tx, mut lines) = mpsc::channel::<String>(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(read_lines(out, line_tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(read_lines(err, line_tx.clone()));
    }
    drop(line_tx);

    let mut tail: VecDeque<String> = VecDeque::new();
    let keep = |line: &str, tail: &mut VecDeque<String>| {
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_string());
    };
    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let mut note = None;
    let mut status = None;
    let mut drain_until: Option<tokio::time::Instant> = None;
    let mut open = true;
    loop {
        let drain = async {
            match drain_until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = lines.recv(), if open => match line {
                Some(line) => {
                    keep(&line, &mut tail);
                    if tx.send(Msg::CommandOutput(vec![line])).await.is_err() {
                        // The cockpit is gone; nobody will read the result.
                        let _ = kill_group(pgid, &mut child).await;
                        return;
                    }
                }
                None => open = false,
            },
            st = child.wait(), if status.is_none() => {
                status = Some(st);
                drain_until = Some(tokio::time::Instant::now() + DRAIN);
            }
            _ = &mut deadline, if status.is_none() => {
                note = Some(format!(
                    "[golive: killed after its {} timeout]",
                    super::format::short_duration(spec.timeout.as_secs())
                ));
                status = Some(kill_group(pgid, &mut child).await);
                drain_until = Some(tokio::time::Instant::now() + DRAIN);
            }
            _ = cancel.cancelled(), if status.is_none() => {
                note = Some("[golive: killed, golive was quitting]".to_string());
                status = Some(kill_group(pgid, &mut child).await);
                drain_until = Some(tokio::time::Instant::now());
            }
            _ = drain => break,
        }
        if status.is_some() && !open {
            break;
        }
    }
    let (exit_code, signal_note) = match status {
        Some(Ok(st)) => {
            use std::os::unix::process::ExitStatusExt;
            (
                st.code(),
                st.signal().map(|s| format!("[ended by signal {s}]")),
            )
        }
        Some(Err(e)) => (
            None,
            Some(format!("[golive: cannot read its exit status: {e}]")),
        ),
        None => (None, None),
    };
    let killed = note.is_some();
    if let Some(n) = note.or(signal_note) {
        keep(&n, &mut tail);
        let _ = tx.send(Msg::CommandOutput(vec![n])).await;
    }
    let _ = tx
        .send(Msg::CommandFinished(CommandResult {
            step: spec.step,
            command: spec.command,
            exit_code: if killed { None } else { exit_code },
            duration_ms: started.elapsed().as_millis() as u64,
            output_tail: tail_text(&tail),
        }))
        .await;
}

/// The last lines, at most TAIL_BYTES of them, cut at a character boundary.
fn tail_text(tail: &VecDeque<String>) -> String {
    let text = tail.iter().cloned().collect::<Vec<_>>().join("\n");
    if text.len() <= TAIL_BYTES {
        return text;
    }
    let mut start = text.len() - TAIL_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

async fn read_lines(stream: impl AsyncRead + Unpin, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line: String = text
                    .trim_end_matches(['\n', '\r'])
                    .chars()
                    .take(LINE_CHARS)
                    .collect();
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// SIGTERM to the whole group, SIGKILL after a grace period; returns the shell's status.
async fn kill_group(
    pgid: Option<i32>,
    child: &mut tokio::process::Child,
) -> std::io::Result<std::process::ExitStatus> {
    if let Some(pgid) = pgid {
        // SAFETY: killpg only sends a signal; the group is the child's own (process_group(0)).
        unsafe {
            libc::killpg(pgid, libc::SIGTERM);
        }
        if let Ok(status) = tokio::time::timeout(GRACE, child.wait()).await {
            // The shell is gone; make sure nothing it started lingers.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
            return status;
        }
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    let _ = child.start_kill();
    child.wait().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run_to_end(command: &str, timeout: Duration) -> (Vec<String>, CommandResult) {
        let (tx, mut rx) = mpsc::channel(64);
        let spec = Spec {
            step: "s".into(),
            command: command.into(),
            timeout,
            env: vec![("GOLIVE_TEST_VALUE".into(), "from-golive".into())],
        };
        tokio::spawn(run(spec, tx, CancellationToken::new()));
        let mut lines = Vec::new();
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::CommandOutput(l) => lines.extend(l),
                Msg::CommandFinished(r) => return (lines, r),
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("no result");
    }

    #[tokio::test]
    async fn output_and_exit_code_are_captured_in_order() {
        let (lines, result) = run_to_end(
            "echo one; echo two >&2; echo $GOLIVE_TEST_VALUE; exit 3",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(result.exit_code, Some(3));
        assert!(lines.contains(&"one".to_string()), "{lines:?}");
        assert!(lines.contains(&"two".to_string()), "{lines:?}");
        assert!(lines.contains(&"from-golive".to_string()), "{lines:?}");
        assert!(result.output_tail.contains("from-golive"));
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("tempdir");
        let late = dir.path().join("late");
        let started = Instant::now();
        let (_, result) = run_to_end(
            &format!(
                "echo started; (sleep 1; echo late > {}) & sleep 30; echo never",
                late.display()
            ),
            Duration::from_millis(300),
        )
        .await;
        assert_eq!(result.exit_code, None);
        assert!(
            result.output_tail.contains("killed after its"),
            "{}",
            result.output_tail
        );
        assert!(!result.output_tail.contains("never"));
        assert!(started.elapsed() < Duration::from_secs(5));
        // The background child was in the group and died with it.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!late.exists(), "a child of the command outlived the kill");
    }

    #[test]
    fn the_tail_is_bounded_and_cut_at_a_character() {
        let tail: VecDeque<String> = (0..TAIL_LINES).map(|_| "é".repeat(300)).collect();
        let text = tail_text(&tail);
        assert!(text.len() <= TAIL_BYTES + "…".len());
        assert!(text.starts_with('…'));
    }
}
