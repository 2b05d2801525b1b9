//! The pieces the cockpit state is made of: panes, the cluster connection, the load run,
//! what a gate shows, the status line, the overlay and the running command. Plain data;
//! the rules that change them live with [`super::App`].

use crate::gates::{GateVerdict, Status};
use crate::tui::form::Form;
use golive_load::Snapshot;
use jiff::{SignedDuration, Timestamp};

/// How long a status-line message stays up.
pub const STATUS_FOR: SignedDuration = SignedDuration::from_secs(10);
/// Lines of a running command's output kept for the screen.
pub const COMMAND_LINES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Gates,
    Load,
    Runbook,
    Detail,
}

impl Pane {
    pub const ORDER: [Pane; 4] = [Pane::Gates, Pane::Load, Pane::Runbook, Pane::Detail];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Gates => "Gates",
            Pane::Load => "Load",
            Pane::Runbook => "Runbook",
            Pane::Detail => "Details",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting,
    Connected {
        context: String,
        server: String,
        at: Timestamp,
    },
    Failed {
        error: String,
        at: Timestamp,
    },
}

#[derive(Debug, Clone)]
pub enum LoadState {
    NotConfigured,
    Idle,
    Starting,
    Running {
        snapshot: Box<Snapshot>,
        stopping: bool,
    },
    Finished {
        snapshot: Box<Snapshot>,
        finished_at: Timestamp,
        aborted: Option<String>,
    },
    Failed(String),
}

impl LoadState {
    pub fn is_running(&self) -> bool {
        matches!(self, LoadState::Starting | LoadState::Running { .. })
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        match self {
            LoadState::Running { snapshot, .. } | LoadState::Finished { snapshot, .. } => {
                Some(snapshot)
            }
            _ => None,
        }
    }
}

/// What the operator sees for a gate: its verdict, or stale when the evidence behind it
/// cannot be trusted any more. Stale is never shown as pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Pass,
    Warn,
    Fail,
    Unknown,
    Stale,
}

impl Shown {
    pub fn symbol(self) -> &'static str {
        match self {
            Shown::Pass => "✓",
            Shown::Warn => "!",
            Shown::Fail => "✗",
            Shown::Unknown => "?",
            Shown::Stale => "◌",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Shown::Pass => "pass",
            Shown::Warn => "warn",
            Shown::Fail => "fail",
            Shown::Unknown => "unknown",
            Shown::Stale => "stale",
        }
    }

    pub fn from_status(s: Status) -> Shown {
        match s {
            Status::Pass => Shown::Pass,
            Status::Warn => Shown::Warn,
            Status::Fail => Shown::Fail,
            Status::Unknown => Shown::Unknown,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GateRow {
    pub verdict: GateVerdict,
    pub shown: Shown,
    /// The one-line summary, rewritten when the gate is stale or the cluster unreachable.
    pub summary: String,
    /// When the evidence was last confirmed (cluster) or produced (load).
    pub as_of: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone)]
pub struct StatusLine {
    pub text: String,
    pub severity: Severity,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    ConfirmQuit,
    /// Run this step's command? Nothing runs without `y`.
    ConfirmCommand {
        step: String,
        command: String,
        timeout: std::time::Duration,
    },
    Form(Box<Form>),
}

/// The command running now: one at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningCommand {
    pub step: String,
    pub command: String,
    pub started: Timestamp,
    pub timeout: std::time::Duration,
    /// The last lines it printed.
    pub output: std::collections::VecDeque<String>,
}
