//! The one owner of cockpit state. Everything that happens arrives as a [`Msg`];
//! [`App::update`] is synchronous and does no I/O, returning [`Effect`]s for the runtime
//! to carry out. Rendering reads `&App` only.

use super::form::{Field, Form, FormKind, Outcome};
use super::keys::{Action, Keymap};
use super::layout::{self, Areas};
use super::rows::{self, GateLine};
use crate::cluster::{ClusterEvent, ClusterView, Freshness, WatchErrorKind};
use crate::gates::{self, GateVerdict, LoadEvidence, Status, ThresholdEvidence, Verdict};
use crate::plan::{LoadedPlan, Verify};
use crate::runbook::journal::{Action as Record, Entry};
use crate::runbook::state::{Decision, RunbookState};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use golive_load::{Snapshot, Summary, ThresholdState};
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;

/// A watch that has not listed this long after connecting counts as stale, not pending.
pub const LIST_DEADLINE: SignedDuration = SignedDuration::from_secs(15);
/// Time-dependent gates (certificate expiry, key age, staleness) are re-judged this often.
pub const REEVALUATE_EVERY: SignedDuration = SignedDuration::from_secs(5);
/// How long a status-line message stays up.
pub const STATUS_FOR: SignedDuration = SignedDuration::from_secs(10);
/// A step's command is killed after this unless the plan sets `command_timeout`.
pub const DEFAULT_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// An override reason says why, not "ok".
pub const OVERRIDE_REASON_MIN: usize = 15;

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

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Only advances clocks.
    Tick,
    Connected {
        context: String,
        server: String,
    },
    ConnectFailed(String),
    Cluster(ClusterEvent),
    LoadStarted,
    LoadFailed(String),
    LoadSnapshot(Box<Snapshot>),
    LoadFinished(Box<Summary>),
    /// Fresh results of the plan's HTTP, SSE and TCP probes.
    Probes(crate::probe::Probes),
    /// The journal wrote and fsync'd this entry; only now does the screen show it.
    Recorded(Box<Entry>),
    /// The journal could not record this action; the screen does not show it.
    RecordFailed {
        action: Box<Record>,
        error: String,
    },
    /// Lines the running command printed (stdout and stderr, in arrival order).
    CommandOutput(Vec<String>),
    /// The command could not be started (nothing ran); why.
    CommandNotStarted(String),
    /// The running command ended: exited, was killed at its timeout, or could not be waited on.
    CommandFinished(CommandResult),
    ReportWritten(std::path::PathBuf),
    ReportFailed(String),
    /// Problems found at start-up (theme, config, journal) worth showing once.
    Warning(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    StartLoad,
    StopLoad,
    /// Append this to the journal, then answer with `Recorded` or `RecordFailed`.
    Record(Record),
    /// Write the Markdown report next to the journal; answer `ReportWritten` or `ReportFailed`.
    ExportReport,
    /// Record `command_started`, then run the command; answer with `CommandOutput`s and one
    /// `CommandFinished`, or `CommandNotStarted` (the journal refused, or spawn failed).
    RunCommand {
        step: String,
        command: String,
        timeout: std::time::Duration,
    },
    /// Put this text on the terminal's clipboard (OSC 52).
    Copy(String),
    Quit,
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

/// How a step's command ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandResult {
    pub step: String,
    pub command: String,
    /// None when it was killed (timeout, golive quitting) or its status could not be read.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The last lines it printed, with golive's own note when it killed it.
    pub output_tail: String,
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

/// Lines of a running command's output kept for the screen.
pub const COMMAND_LINES: usize = 200;

pub struct App {
    pub plan: Arc<LoadedPlan>,
    pub demo: bool,
    pub started: Timestamp,
    pub now: Timestamp,
    pub size: (u16, u16),
    /// For showing tick times; UTC unless the runtime sets the system zone.
    pub tz: jiff::tz::TimeZone,
    pub keymap: Keymap,
    pub connection: Connection,
    pub view: ClusterView,
    /// The latest HTTP, SSE and TCP probe results; gates read them as evidence.
    pub probes: crate::probe::Probes,
    pub gates: Vec<GateRow>,
    /// The launch decision as the header shows it: gates, load, runbook and sign-offs.
    pub verdict: (Verdict, String),
    /// The full decision behind it, with any override that covers it.
    pub decision: Decision,
    /// Who the journal records as acting; the sign-off form starts with this name.
    pub operator: String,
    /// Start-up problems (config, theme, journal): the status line shows the latest for a
    /// while, the `?` help lists them all for as long as golive runs.
    pub warnings: Vec<String>,
    /// Why nothing is being journaled (no state directory, the journal locked by another
    /// golive or unreadable); None while the journal records.
    pub not_recording: Option<String>,
    /// The step command running now, if any.
    pub command: Option<RunningCommand>,
    pub load: LoadState,
    /// Everything the journal recorded, replayed: ticks, verifications, load runs.
    pub runbook: RunbookState,
    /// The step whose tick is being written to disk; shown as saving, not as done.
    pub saving: Option<String>,
    /// Steps whose `step_verified` was asked of the journal this session: asked once, not
    /// per evaluation, and not again after the journal refused it.
    pub verifying: std::collections::BTreeSet<String>,
    /// Effects that came from settling rather than from a message; the runtime takes them.
    outbox: Vec<Effect>,
    pub focus: Pane,
    /// The pane the detail pane describes: the last list the operator was in.
    pub subject: Pane,
    pub gate_selected: usize,
    pub phase_selected: usize,
    pub step_selected: usize,
    pub detail_scroll: u16,
    pub filter: String,
    pub filter_editing: bool,
    pub overlay: Overlay,
    pub status: Option<StatusLine>,
    pub quit: bool,
    /// Until the operator moves, the selection follows the first failing gate.
    moved: bool,
    needs_evaluation: bool,
    evaluated_at: Option<Timestamp>,
}

impl App {
    pub fn new(
        plan: Arc<LoadedPlan>,
        demo: bool,
        keymap: Keymap,
        runbook: RunbookState,
        now: Timestamp,
    ) -> App {
        let keys = gates::plan_watches(&plan.plan);
        let load = if plan.plan.load.is_some() {
            LoadState::Idle
        } else {
            LoadState::NotConfigured
        };
        let mut app = App {
            view: ClusterView::new("", "", keys),
            probes: Default::default(),
            plan,
            demo,
            started: now,
            now,
            size: (80, 24),
            tz: jiff::tz::TimeZone::UTC,
            keymap,
            connection: Connection::Connecting,
            gates: Vec::new(),
            verdict: (Verdict::Unknown, "connecting to the cluster".into()),
            decision: Decision {
                verdict: Verdict::Unknown,
                reasons: Vec::new(),
                overridden: None,
            },
            operator: crate::runbook::journal::operator_name(None),
            warnings: Vec::new(),
            not_recording: None,
            command: None,
            load,
            runbook,
            saving: None,
            verifying: Default::default(),
            outbox: Vec::new(),
            focus: Pane::Gates,
            subject: Pane::Gates,
            gate_selected: 0,
            phase_selected: 0,
            step_selected: 0,
            detail_scroll: 0,
            filter: String::new(),
            filter_editing: false,
            overlay: Overlay::None,
            status: None,
            quit: false,
            moved: false,
            needs_evaluation: true,
            evaluated_at: None,
        };
        app.settle(now);
        app
    }

    pub fn areas(&self) -> Areas {
        layout::areas(self.size.0, self.size.1, self)
    }

    pub fn context(&self) -> &str {
        match &self.connection {
            Connection::Connected { context, .. } => context,
            _ => "",
        }
    }

    /// Applies a message. Pure apart from the clock handed in.
    pub fn update(&mut self, msg: Msg, now: Timestamp) -> Vec<Effect> {
        self.now = now;
        match msg {
            Msg::Tick => Vec::new(),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(mouse) => {
                self.on_mouse(mouse);
                Vec::new()
            }
            Msg::Connected { context, server } => {
                self.view.context = context.clone();
                self.view.server = server.clone();
                self.connection = Connection::Connected {
                    context,
                    server,
                    at: now,
                };
                self.needs_evaluation = true;
                Vec::new()
            }
            Msg::ConnectFailed(error) => {
                self.connection = Connection::Failed { error, at: now };
                self.needs_evaluation = true;
                Vec::new()
            }
            Msg::Cluster(event) => {
                self.view.apply(event, now);
                self.needs_evaluation = true;
                Vec::new()
            }
            Msg::Probes(probes) => {
                self.probes = probes;
                self.needs_evaluation = true;
                Vec::new()
            }
            Msg::LoadStarted => {
                if matches!(self.load, LoadState::Starting) {
                    let planned = self
                        .plan
                        .plan
                        .load
                        .as_ref()
                        .map(planned_duration)
                        .unwrap_or_default();
                    self.load = LoadState::Running {
                        snapshot: Box::new(Snapshot {
                            planned,
                            remaining: Some(planned),
                            ..Snapshot::default()
                        }),
                        stopping: false,
                    };
                    self.needs_evaluation = true;
                }
                Vec::new()
            }
            Msg::LoadFailed(error) => {
                self.set_status(format!("load test did not start: {error}"), Severity::Error);
                self.load = LoadState::Failed(error);
                self.needs_evaluation = true;
                Vec::new()
            }
            Msg::LoadSnapshot(snapshot) => {
                if let LoadState::Running {
                    snapshot: current, ..
                } = &mut self.load
                {
                    *current = snapshot;
                    self.needs_evaluation = true;
                }
                Vec::new()
            }
            Msg::LoadFinished(summary) => {
                let summary = *summary;
                let text = match &summary.aborted {
                    Some(why) => format!("load test ended early: {why}"),
                    None if summary.thresholds_ok() => {
                        "load test finished: every threshold met".to_string()
                    }
                    None => "load test finished: thresholds failed".to_string(),
                };
                self.set_status(text, Severity::Info);
                let record = Record::load_finished(&summary);
                self.load = LoadState::Finished {
                    snapshot: Box::new(summary.snapshot),
                    finished_at: now,
                    aborted: summary.aborted,
                };
                self.needs_evaluation = true;
                vec![Effect::Record(record)]
            }
            Msg::Recorded(entry) => {
                if let Record::StepChecked { step } | Record::StepUnchecked { step } = &entry.action
                    && self.saving.as_deref() == Some(step.as_str())
                {
                    self.saving = None;
                }
                if let Record::StepVerified { step, .. } = &entry.action {
                    self.verifying.remove(step);
                }
                match &entry.action {
                    Record::SignOff {
                        role,
                        name,
                        approve,
                        ..
                    } => self.set_status(
                        format!(
                            "sign-off recorded: {role} {} by {name}",
                            if *approve { "approved" } else { "REJECTED" }
                        ),
                        Severity::Info,
                    ),
                    Record::Override { .. } => self.set_status(
                        "override recorded in the journal with its reason and the failing evidence",
                        Severity::Warning,
                    ),
                    Record::Note { .. } => self.set_status("note recorded", Severity::Info),
                    _ => {}
                }
                self.runbook.apply(&entry);
                self.refresh_verdict();
                Vec::new()
            }
            Msg::RecordFailed { action, error } => {
                let text = match *action {
                    Record::StepChecked { .. } | Record::StepUnchecked { .. } => {
                        self.saving = None;
                        format!("step NOT recorded: {error}")
                    }
                    // Left in `verifying`: a journal that refused once would refuse every
                    // evaluation; the operator can still tick the step by hand.
                    Record::StepVerified { step, .. } => format!(
                        "auto-verified step {step} NOT recorded (not retried; tick it by hand): {error}"
                    ),
                    Record::CommandStarted { command, .. } => {
                        format!(
                            "command NOT run, the journal cannot record it: {error} ({command})"
                        )
                    }
                    _ => format!("journal NOT written: {error}"),
                };
                self.set_status(text, Severity::Error);
                Vec::new()
            }
            Msg::CommandOutput(lines) => {
                if let Some(running) = &mut self.command {
                    for line in lines {
                        if running.output.len() == COMMAND_LINES {
                            running.output.pop_front();
                        }
                        running.output.push_back(line);
                    }
                }
                Vec::new()
            }
            Msg::CommandNotStarted(error) => {
                self.command = None;
                self.set_status(format!("command NOT run: {error}"), Severity::Error);
                Vec::new()
            }
            Msg::CommandFinished(result) => {
                self.command = None;
                let (text, severity) = match result.exit_code {
                    Some(0) => (
                        format!("command exited 0: {}", result.command),
                        Severity::Info,
                    ),
                    Some(code) => (
                        format!("command FAILED, exit {code}: {}", result.command),
                        Severity::Error,
                    ),
                    None => (
                        format!(
                            "command did not finish: {}",
                            first_line(result.output_tail.lines().last().unwrap_or_default())
                        ),
                        Severity::Error,
                    ),
                };
                self.set_status(text, severity);
                vec![Effect::Record(Record::CommandRun {
                    step: result.step,
                    command: result.command,
                    exit_code: result.exit_code,
                    duration_ms: result.duration_ms,
                    output_tail: result.output_tail,
                })]
            }
            Msg::ReportWritten(path) => {
                self.set_status(
                    format!("report written to {}", path.display()),
                    Severity::Info,
                );
                Vec::new()
            }
            Msg::ReportFailed(error) => {
                self.set_status(format!("report NOT written: {error}"), Severity::Error);
                Vec::new()
            }
            Msg::Warning(text) => {
                self.warnings.push(text.clone());
                let shown = match self.warnings.len() {
                    1 => text,
                    n => format!("{text} · {n} start-up warnings, ? lists them"),
                };
                self.set_status(shown, Severity::Warning);
                Vec::new()
            }
        }
    }

    /// Re-judges the gates if anything they read changed, or every few seconds for the
    /// time-dependent ones. The runtime calls this once per burst of messages, before drawing.
    /// Returns whether it evaluated, so the runtime can pace evaluations that are slow.
    pub fn settle(&mut self, now: Timestamp) -> bool {
        self.now = now;
        let due = self
            .evaluated_at
            .is_none_or(|at| now.duration_since(at) >= REEVALUATE_EVERY);
        if !(self.needs_evaluation || due) {
            return false;
        }
        self.needs_evaluation = false;
        self.evaluated_at = Some(now);
        let ctx = gates::Context {
            now,
            load: self.load_evidence(),
            probes: self.probes.clone(),
        };
        let rows: Vec<GateRow> = self
            .plan
            .plan
            .gates
            .iter()
            .map(|gate| {
                let verdict = gates::evaluate_gate(gate, &self.view, &ctx);
                self.shown(gate, verdict)
            })
            .collect();
        self.gates = rows;
        self.refresh_verdict();
        self.auto_verify();
        let visible: Vec<usize> = rows::gate_lines(self, false)
            .iter()
            .filter_map(|l| match l {
                GateLine::Gate(i) => Some(*i),
                GateLine::Header(_) => None,
            })
            .collect();
        if !self.moved
            && let Some(pos) = visible
                .iter()
                .position(|i| self.gates[*i].shown == Shown::Fail)
        {
            self.gate_selected = pos;
        }
        self.gate_selected = self.gate_selected.min(visible.len().saturating_sub(1));
        true
    }

    /// Asks the journal to tick every step whose verification passes now. Stale gates count
    /// as undecided: a step is never verified on evidence nobody can vouch for.
    fn auto_verify(&mut self) {
        let verdicts = self.judged();
        let load = self.load_evidence();
        for action in crate::runbook::state::auto_verify(
            &self.plan.plan,
            &self.runbook,
            &verdicts,
            load.as_ref(),
        ) {
            if let Record::StepVerified { step, .. } = &action
                && self.verifying.insert(step.clone())
            {
                self.outbox.push(Effect::Record(action));
            }
        }
    }

    /// The effects settling produced (auto-verifications), for the runtime to carry out.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }

    /// Each gate's verdict as it counts for decisions: stale is undecided.
    pub fn judged(&self) -> Vec<GateVerdict> {
        self.gates
            .iter()
            .map(|row| {
                let mut v = row.verdict.clone();
                if matches!(row.shown, Shown::Stale | Shown::Unknown) {
                    v.status = Status::Unknown;
                }
                v
            })
            .collect()
    }

    /// The header's verdict: the launch decision over gates, load, runbook and sign-offs.
    /// The gate part keeps its own wording (connection, stale gates); the rest follows.
    fn refresh_verdict(&mut self) {
        let judged = self.judged();
        let decision = crate::runbook::state::decide(&self.plan.plan, &judged, &self.runbook);
        let (gate_verdict, gate_reason) = self.overall();
        let mut parts = Vec::new();
        // A record that fails its check, and an override that stopped covering, are the
        // first things the operator must read.
        if let Some(first) = self.runbook.integrity.first() {
            parts.push(format!(
                "journal fails verification ({} problem{}), {first}",
                self.runbook.integrity.len(),
                if self.runbook.integrity.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        parts.extend(
            decision
                .reasons
                .iter()
                .filter(|r| r.starts_with("override by "))
                .cloned(),
        );
        if gate_verdict != Verdict::Go {
            parts.push(gate_reason);
        }
        let mut missing = Vec::new();
        for r in &decision.reasons {
            if r.starts_with("gate ")
                || r.starts_with("override by ")
                || r.starts_with(crate::runbook::journal::INTEGRITY_REASON)
            {
                continue;
            }
            match r
                .strip_prefix("sign-off ")
                .and_then(|x| x.strip_suffix(" missing"))
            {
                Some(role) => missing.push(role.to_string()),
                None => parts.push(r.clone()),
            }
        }
        if !missing.is_empty() {
            parts.push(format!("sign-off missing: {}", missing.join(", ")));
        }
        let verdict = if matches!(self.connection, Connection::Failed { .. }) {
            Verdict::Unknown
        } else {
            decision.verdict
        };
        let reason = if parts.is_empty() {
            decision.reasons.join("; ")
        } else {
            parts.join(" · ")
        };
        self.verdict = (verdict, reason);
        self.decision = decision;
    }

    fn overall(&self) -> (Verdict, String) {
        // Stale counts as undecided: evidence nobody can vouch for decides nothing.
        let judged = self.judged();
        let (verdict, reason) = gates::overall(&judged);
        if let Connection::Failed { .. } = self.connection {
            return (Verdict::Unknown, format!("no cluster connection; {reason}"));
        }
        let stale: Vec<&str> = self
            .gates
            .iter()
            .filter(|r| r.shown == Shown::Stale)
            .map(|r| r.verdict.id.as_str())
            .collect();
        if verdict == Verdict::Unknown
            && !stale.is_empty()
            && stale.len()
                == judged
                    .iter()
                    .filter(|g| g.status == Status::Unknown)
                    .count()
        {
            let plural = if stale.len() == 1 { "gate" } else { "gates" };
            return (
                verdict,
                format!("{} {plural} stale: {}", stale.len(), stale.join(", ")),
            );
        }
        (verdict, reason)
    }

    fn shown(&self, gate: &crate::plan::Gate, verdict: GateVerdict) -> GateRow {
        let mut shown = Shown::from_status(verdict.status);
        let mut summary = verdict.summary.clone();
        let mut as_of = verdict.as_of;
        let uses_load = gate
            .checks
            .iter()
            .any(|c| matches!(c, crate::plan::Check::LoadThresholds(_)));
        if uses_load {
            match &self.load {
                LoadState::Finished { finished_at, .. } => as_of = Some(*finished_at),
                LoadState::Idle => {
                    as_of = self.runbook.load.as_ref().and_then(|l| l.finished_at);
                }
                _ => {}
            }
        }
        let reads_access = gate
            .checks
            .iter()
            .any(|c| matches!(c, crate::plan::Check::ClusterAccess(_)));
        if reads_access {
            // Access is as fresh as the stalest watch it vouches for.
            as_of = self
                .view
                .keys()
                .map(|(_, s)| s.last_sync.max(s.last_event))
                .min()
                .flatten();
        }
        let keys: Vec<_> = gate.checks.iter().flat_map(gates::watches).collect();
        let reads_cluster = !keys.is_empty() || reads_access;
        if reads_cluster {
            match &self.connection {
                Connection::Failed { .. } => {
                    shown = Shown::Unknown;
                    summary = "no cluster connection (see the header)".into();
                }
                Connection::Connecting => {
                    shown = Shown::Unknown;
                    summary = "connecting to the cluster…".into();
                }
                Connection::Connected { at, .. } => {
                    for key in &keys {
                        match self.view.freshness(&key.resource, key.namespace.as_deref()) {
                            Freshness::Failed(error, since)
                                if error.kind != WatchErrorKind::NotServed =>
                            {
                                shown = Shown::Stale;
                                let age = rows::age(self.now.duration_since(since));
                                summary = format!("stale {age}: {}", first_line(&error.message));
                                break;
                            }
                            Freshness::Pending if self.now.duration_since(*at) >= LIST_DEADLINE => {
                                shown = Shown::Stale;
                                summary = format!(
                                    "stale: {} not listed after {}",
                                    key.resource.qualified_name(),
                                    rows::age(self.now.duration_since(*at))
                                );
                                break;
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if shown == Shown::Pass && verdict.status != Status::Pass {
            shown = Shown::Unknown;
        }
        GateRow {
            verdict,
            shown,
            summary,
            as_of,
        }
    }

    /// The load result as the `load_thresholds` check sees it. A run stopped early, or
    /// one that died, does not pass: it did not run the planned test.
    pub fn load_evidence(&self) -> Option<LoadEvidence> {
        let thresholds = |s: &Snapshot| -> Vec<ThresholdEvidence> {
            s.thresholds
                .iter()
                .map(|t| ThresholdEvidence {
                    metric: t.metric.clone(),
                    expr: t.expr.clone(),
                    ok: t.state == ThresholdState::Pass,
                    measured: measured(t),
                })
                .collect()
        };
        match &self.load {
            LoadState::Running { snapshot, .. } => Some(LoadEvidence {
                finished_at: None,
                running: true,
                thresholds: thresholds(snapshot),
                requests: snapshot.http_reqs,
            }),
            LoadState::Finished {
                snapshot,
                finished_at,
                aborted,
            } => {
                let evidence = LoadEvidence {
                    finished_at: Some(*finished_at),
                    running: false,
                    thresholds: thresholds(snapshot),
                    requests: snapshot.http_reqs,
                };
                Some(match aborted {
                    Some(why) => evidence.ended_early(why),
                    None => evidence,
                })
            }
            // Nothing run this session: the last result the journal holds, if any.
            LoadState::Idle => self.runbook.load.clone().filter(|l| !l.running),
            LoadState::Starting | LoadState::Failed(_) | LoadState::NotConfigured => None,
        }
    }

    pub fn set_status(&mut self, text: impl Into<String>, severity: Severity) {
        self.status = Some(StatusLine {
            text: text.into(),
            severity,
            at: self.now,
        });
    }

    /// The status line if it is still recent enough to show.
    pub fn current_status(&self) -> Option<&StatusLine> {
        self.status
            .as_ref()
            .filter(|s| s.severity == Severity::Error || self.now.duration_since(s.at) < STATUS_FOR)
    }

    /// The gate row a step's `verify: gate X` points at, or the worst of a group.
    /// The recorded state of a ticked step; None while it is not ticked.
    pub fn tick(&self, step: &str) -> Option<&crate::runbook::state::StepState> {
        self.runbook.steps.get(step).filter(|s| s.checked)
    }

    pub fn verify_status(&self, verify: &Verify) -> (Shown, String) {
        match verify {
            Verify::Gate(id) => match self.gates.iter().find(|g| g.verdict.id == *id) {
                Some(g) => (g.shown, format!("gate {id}")),
                None => (Shown::Unknown, format!("gate {id} (not in plan)")),
            },
            Verify::Group(group) => {
                let rows: Vec<&GateRow> = self
                    .gates
                    .iter()
                    .filter(|g| g.verdict.group == *group)
                    .collect();
                let worst = rows
                    .iter()
                    .map(|g| g.shown)
                    .max_by_key(|s| match s {
                        Shown::Pass => 0,
                        Shown::Warn => 1,
                        Shown::Stale => 2,
                        Shown::Unknown => 3,
                        Shown::Fail => 4,
                    })
                    .unwrap_or(Shown::Unknown);
                (worst, format!("group {group}"))
            }
            Verify::Load => {
                let shown = match self.load_evidence() {
                    Some(e) => Shown::from_status(
                        gates::evaluate_check(
                            &crate::plan::Check::LoadThresholds(Default::default()),
                            &self.view,
                            &gates::Context {
                                now: self.now,
                                load: Some(e),
                                ..Default::default()
                            },
                        )
                        .status,
                    ),
                    None => Shown::Unknown,
                };
                (shown, "load test".into())
            }
        }
    }

    /// What the step still requires (its own `requires` and its phase's), not yet done.
    pub fn waits_for(&self, step: &crate::plan::Step) -> Vec<String> {
        let id = step.id();
        self.plan
            .plan
            .runbook
            .iter()
            .find(|p| p.steps.iter().any(|s| s.id() == id))
            .map(|phase| {
                crate::runbook::state::missing_requirements(
                    &self.plan.plan,
                    &self.runbook,
                    phase,
                    step,
                )
            })
            .unwrap_or_default()
    }

    pub fn selected_gate(&self) -> Option<&GateRow> {
        let lines = rows::gate_lines(self, false);
        let index = lines
            .iter()
            .filter_map(|l| match l {
                GateLine::Gate(i) => Some(*i),
                GateLine::Header(_) => None,
            })
            .nth(self.gate_selected)?;
        self.gates.get(index)
    }

    pub fn selected_step(&self) -> Option<&crate::plan::Step> {
        let steps = rows::visible_steps(self);
        let index = *steps.get(self.step_selected)?;
        self.plan
            .plan
            .runbook
            .get(self.phase_selected)?
            .steps
            .get(index)
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let action = self.keymap.action_for(&key);
        if action == Some(Action::ForceQuit) {
            self.quit = true;
            let mut effects = Vec::new();
            if self.load.is_running() {
                effects.push(Effect::StopLoad);
            }
            effects.push(Effect::Quit);
            return effects;
        }
        match &mut self.overlay {
            Overlay::Help => {
                self.overlay = Overlay::None;
                return Vec::new();
            }
            Overlay::ConfirmCommand {
                step,
                command,
                timeout,
            } => {
                let effects = match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        self.command = Some(RunningCommand {
                            step: step.clone(),
                            command: command.clone(),
                            started: self.now,
                            timeout: *timeout,
                            output: Default::default(),
                        });
                        vec![Effect::RunCommand {
                            step: step.clone(),
                            command: command.clone(),
                            timeout: *timeout,
                        }]
                    }
                    _ => Vec::new(),
                };
                if effects.is_empty() {
                    self.set_status("command not run", Severity::Info);
                }
                self.overlay = Overlay::None;
                return effects;
            }
            Overlay::Form(form) => {
                return match form.key(key) {
                    Outcome::Editing => Vec::new(),
                    Outcome::Cancelled => {
                        self.overlay = Overlay::None;
                        self.set_status("cancelled; nothing recorded", Severity::Info);
                        Vec::new()
                    }
                    Outcome::Submitted => {
                        let form = (**form).clone();
                        self.submit_form(form)
                    }
                };
            }
            Overlay::ConfirmQuit => {
                return match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        self.quit = true;
                        vec![Effect::StopLoad, Effect::Quit]
                    }
                    _ => {
                        self.overlay = Overlay::None;
                        self.set_status(
                            "quit cancelled; the load test keeps running",
                            Severity::Info,
                        );
                        Vec::new()
                    }
                };
            }
            Overlay::None => {}
        }
        if self.filter_editing {
            match key.code {
                KeyCode::Esc => {
                    self.filter.clear();
                    self.filter_editing = false;
                }
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.gate_selected = 0;
            self.moved = true;
            self.step_selected = 0;
            self.needs_evaluation = true;
            return Vec::new();
        }
        let Some(action) = action else {
            return Vec::new();
        };
        self.on_action(action)
    }

    pub fn on_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::ForceQuit => unreachable_force_quit(self),
            Action::Quit => {
                if self.load.is_running() {
                    self.overlay = Overlay::ConfirmQuit;
                    Vec::new()
                } else {
                    self.quit = true;
                    vec![Effect::Quit]
                }
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                Vec::new()
            }
            Action::Back => {
                if !self.filter.is_empty() {
                    self.filter.clear();
                } else if self.focus == Pane::Detail {
                    self.focus = self.subject;
                }
                Vec::new()
            }
            Action::FocusNext | Action::FocusPrev => {
                let i = Pane::ORDER
                    .iter()
                    .position(|p| *p == self.focus)
                    .unwrap_or(0);
                let n = Pane::ORDER.len();
                let next = if action == Action::FocusNext {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus_pane(Pane::ORDER[next]);
                Vec::new()
            }
            Action::Down | Action::Up => {
                let down = action == Action::Down;
                self.moved = true;
                match self.focus {
                    Pane::Gates => {
                        let n = rows::gate_count(self);
                        self.gate_selected = step_index(self.gate_selected, n, down);
                        self.detail_scroll = 0;
                    }
                    Pane::Runbook => {
                        let n = rows::visible_steps(self).len();
                        self.step_selected = step_index(self.step_selected, n, down);
                        self.detail_scroll = 0;
                    }
                    Pane::Detail => {
                        self.detail_scroll = if down {
                            self.detail_scroll.saturating_add(1)
                        } else {
                            self.detail_scroll.saturating_sub(1)
                        };
                    }
                    Pane::Load => {}
                }
                Vec::new()
            }
            Action::NextPhase | Action::PrevPhase => {
                let n = self.plan.plan.runbook.len();
                if n > 0 {
                    self.phase_selected = if action == Action::NextPhase {
                        (self.phase_selected + 1) % n
                    } else {
                        (self.phase_selected + n - 1) % n
                    };
                    self.step_selected = 0;
                    self.focus_pane(Pane::Runbook);
                }
                Vec::new()
            }
            Action::Details => {
                if self.focus != Pane::Detail {
                    self.focus_pane(Pane::Detail);
                } else {
                    self.focus = self.subject;
                }
                Vec::new()
            }
            Action::Toggle => self.toggle_step(),
            Action::Load => self.toggle_load(),
            Action::Filter => {
                self.filter_editing = true;
                Vec::new()
            }
            Action::Report => vec![Effect::ExportReport],
            Action::Note => {
                if let Some(step) = self.runbook_step_in_focus() {
                    let text = step.0.text.clone();
                    self.overlay = Overlay::Form(Box::new(Form {
                        kind: FormKind::Note { step: step.id() },
                        title: " note ".into(),
                        intro: vec![
                            format!("on: {text}"),
                            "recorded in the journal under your name".into(),
                        ],
                        fields: vec![Field::Text {
                            label: "note",
                            value: String::new(),
                            min: 1,
                        }],
                        focus: 0,
                        error: None,
                    }));
                }
                Vec::new()
            }
            Action::RunCommand => self.confirm_command(),
            Action::CopyCommand => {
                match self.runbook_step_in_focus().map(|s| s.0.command.clone()) {
                    Some(Some(command)) => {
                        self.set_status(
                            format!("copied to the clipboard (if your terminal allows OSC 52): {command}"),
                            Severity::Info,
                        );
                        vec![Effect::Copy(command)]
                    }
                    Some(None) => {
                        self.set_status("this step has no command", Severity::Info);
                        Vec::new()
                    }
                    None => Vec::new(),
                }
            }
            Action::SignOff => {
                self.open_signoff();
                Vec::new()
            }
            Action::Override => {
                self.open_override();
                Vec::new()
            }
        }
    }

    /// The selected step when the runbook (or its details) has the focus; says so otherwise.
    fn runbook_step_in_focus(&mut self) -> Option<crate::plan::Step> {
        if self.focus != Pane::Runbook
            && !(self.focus == Pane::Detail && self.subject == Pane::Runbook)
        {
            self.set_status(
                "select a runbook step first (tab to the Runbook pane)",
                Severity::Info,
            );
            return None;
        }
        self.selected_step().cloned()
    }

    fn confirm_command(&mut self) -> Vec<Effect> {
        let Some(step) = self.runbook_step_in_focus() else {
            return Vec::new();
        };
        let Some(command) = step.0.command.clone() else {
            self.set_status("this step has no command", Severity::Info);
            return Vec::new();
        };
        if let Some(running) = &self.command {
            self.set_status(
                format!("a command is still running: {}", running.command),
                Severity::Info,
            );
            return Vec::new();
        }
        // `requires` orders the work, not only the ticks: no deploy before pre-flight.
        let waits = self.waits_for(&step);
        if !waits.is_empty() {
            self.set_status(
                format!("not run: this step requires {} first", waits.join(", ")),
                Severity::Warning,
            );
            return Vec::new();
        }
        self.overlay = Overlay::ConfirmCommand {
            step: step.id(),
            command,
            timeout: step
                .0
                .command_timeout
                .map(|d| d.0)
                .unwrap_or(DEFAULT_COMMAND_TIMEOUT),
        };
        Vec::new()
    }

    fn gate_states(&self) -> Vec<(String, String)> {
        self.gates
            .iter()
            .map(|g| (g.verdict.id.clone(), g.shown.word().to_string()))
            .collect()
    }

    fn open_signoff(&mut self) {
        let roles = self.plan.plan.signoff.clone();
        if roles.is_empty() {
            self.set_status("this plan names no sign-off roles", Severity::Info);
            return;
        }
        // Start on the first role that has not approved yet.
        let selected = roles
            .iter()
            .position(|r| {
                !self
                    .runbook
                    .signoffs
                    .iter()
                    .any(|s| &s.role == r && s.approve)
            })
            .unwrap_or(0);
        let mut intro = vec![format!(
            "verdict now: {} · {}",
            self.verdict.0.word(),
            self.verdict.1
        )];
        for role in &roles {
            intro.push(
                match self.runbook.signoffs.iter().find(|s| &s.role == role) {
                    Some(s) => format!(
                        "  {role}: {} by {}",
                        if s.approve { "approved" } else { "rejected" },
                        s.name
                    ),
                    None => format!("  {role}: pending"),
                },
            );
        }
        intro.push("The journal records this verdict and every gate's state with it.".into());
        self.overlay = Overlay::Form(Box::new(Form {
            kind: FormKind::SignOff,
            title: " sign off ".into(),
            intro,
            fields: vec![
                Field::Choice {
                    label: "role",
                    options: roles,
                    selected,
                },
                Field::Text {
                    label: "name",
                    value: self.operator.clone(),
                    min: 1,
                },
                Field::Choice {
                    label: "decision",
                    options: vec!["approve".into(), "reject".into()],
                    selected: 0,
                },
                Field::Text {
                    label: "comment",
                    value: String::new(),
                    min: 0,
                },
            ],
            focus: 0,
            error: None,
        }));
    }

    fn open_override(&mut self) {
        if self.verdict.0 == Verdict::Go {
            self.set_status(
                "the verdict is GO; there is nothing to override",
                Severity::Info,
            );
            return;
        }
        let failing = self.decision.reasons.clone();
        let mut intro = vec![format!(
            "Overriding {} to GO: your name, this reason and the evidence below go into the \
             journal and the report. Anything that fails later is not covered.",
            self.verdict.0.word()
        )];
        intro.extend(failing.iter().map(|r| format!("  • {r}")));
        self.overlay = Overlay::Form(Box::new(Form {
            kind: FormKind::Override {
                verdict: self.verdict.0.word().to_string(),
                failing,
            },
            title: " override to GO ".into(),
            intro,
            fields: vec![Field::Text {
                label: "reason",
                value: String::new(),
                min: OVERRIDE_REASON_MIN,
            }],
            focus: 0,
            error: None,
        }));
    }

    /// A submitted form becomes one journal record; it shows once the journal has it.
    fn submit_form(&mut self, form: Form) -> Vec<Effect> {
        let record = match &form.kind {
            FormKind::SignOff => {
                let approve = form.value("decision") == "approve";
                let comment = form.value("comment").to_string();
                if !approve && comment.is_empty() {
                    if let Overlay::Form(f) = &mut self.overlay {
                        f.error = Some("a rejection needs a comment: say what must change".into());
                        f.focus = 3;
                    }
                    return Vec::new();
                }
                Record::SignOff {
                    role: form.value("role").to_string(),
                    name: form.value("name").to_string(),
                    approve,
                    comment: (!comment.is_empty()).then_some(comment),
                    verdict: self.verdict.0.word().to_string(),
                    gates: self.gate_states(),
                }
            }
            FormKind::Override { verdict, failing } => Record::Override {
                reason: form.value("reason").to_string(),
                verdict: verdict.clone(),
                failing: failing.clone(),
            },
            FormKind::Note { step } => Record::Note {
                step: Some(step.clone()),
                text: form.value("note").to_string(),
            },
        };
        self.overlay = Overlay::None;
        vec![Effect::Record(record)]
    }

    fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Detail {
            self.subject = pane;
        }
        self.detail_scroll = 0;
    }

    fn toggle_step(&mut self) -> Vec<Effect> {
        if self.focus != Pane::Runbook
            && !(self.focus == Pane::Detail && self.subject == Pane::Runbook)
        {
            self.set_status(
                "select a runbook step first (tab to the Runbook pane)",
                Severity::Info,
            );
            return Vec::new();
        }
        if self.saving.is_some() {
            self.set_status("still saving the last tick", Severity::Info);
            return Vec::new();
        }
        let Some(step) = self.selected_step() else {
            return Vec::new();
        };
        let id = step.id();
        if !self.runbook.is_checked(&id) {
            let waits = self.waits_for(step);
            if !waits.is_empty() {
                self.set_status(
                    format!("not ticked: this step requires {} first", waits.join(", ")),
                    Severity::Warning,
                );
                return Vec::new();
            }
        }
        let action = if self.runbook.is_checked(&id) {
            Record::StepUnchecked { step: id.clone() }
        } else {
            Record::StepChecked { step: id.clone() }
        };
        self.saving = Some(id);
        vec![Effect::Record(action)]
    }

    fn toggle_load(&mut self) -> Vec<Effect> {
        match &mut self.load {
            LoadState::NotConfigured => {
                self.set_status(
                    "this plan has no load section; nothing to run",
                    Severity::Info,
                );
                Vec::new()
            }
            LoadState::Starting => Vec::new(),
            LoadState::Running { stopping, .. } => {
                if *stopping {
                    return Vec::new();
                }
                *stopping = true;
                self.set_status(
                    "stopping the load test; in-flight requests finish first",
                    Severity::Info,
                );
                vec![Effect::StopLoad]
            }
            LoadState::Idle | LoadState::Finished { .. } | LoadState::Failed(_) => {
                self.load = LoadState::Starting;
                self.needs_evaluation = true;
                vec![Effect::StartLoad]
            }
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {}
            MouseEventKind::ScrollDown => {
                self.on_action(Action::Down);
                return;
            }
            MouseEventKind::ScrollUp => {
                self.on_action(Action::Up);
                return;
            }
            _ => return,
        }
        if self.overlay != Overlay::None {
            return;
        }
        let areas = self.areas();
        let Some((pane, rect)) = areas.pane_at(mouse.column, mouse.row) else {
            return;
        };
        self.focus_pane(pane);
        let inner_row = mouse.row.saturating_sub(rect.y + 1) as usize;
        let inner_height = rect.height.saturating_sub(2) as usize;
        match pane {
            Pane::Gates => {
                if let Some(i) = rows::gate_at(self, inner_row, inner_height) {
                    self.moved = true;
                    self.gate_selected = i;
                }
            }
            Pane::Runbook => {
                if inner_row == 0 {
                    if let Some(p) = rows::phase_at(
                        self,
                        mouse.column.saturating_sub(rect.x + 1),
                        rect.width.saturating_sub(2),
                    ) {
                        self.phase_selected = p;
                        self.step_selected = 0;
                    }
                } else if let Some(i) =
                    rows::step_at(self, inner_row - 1, inner_height.saturating_sub(1))
                {
                    self.step_selected = i;
                }
            }
            Pane::Load | Pane::Detail => {}
        }
    }
}

fn unreachable_force_quit(app: &mut App) -> Vec<Effect> {
    // ForceQuit is handled before overlays in on_key; reached only via on_action directly.
    app.quit = true;
    let mut effects = Vec::new();
    if app.load.is_running() {
        effects.push(Effect::StopLoad);
    }
    effects.push(Effect::Quit);
    effects
}

fn step_index(current: usize, len: usize, down: bool) -> usize {
    if len == 0 {
        0
    } else if down {
        (current + 1).min(len - 1)
    } else {
        current.saturating_sub(1)
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A threshold's observed value in its unit, for evidence.
pub fn measured(t: &golive_load::ThresholdResult) -> String {
    match t.value {
        None => "no data".into(),
        Some(v) if t.metric.starts_with("http_req_duration") || t.metric.ends_with("_duration") => {
            golive_load::format_ms(v)
        }
        Some(v) if t.expr.starts_with("rate") && t.metric.contains("failed") => {
            format!("{:.2}%", v * 100.0)
        }
        Some(v) if t.expr.starts_with("rate") => format!("{v:.1}/s"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The longest scenario, counting its start delay: how long the test is planned to run.
pub fn planned_duration(config: &golive_load::LoadConfig) -> std::time::Duration {
    config
        .scenarios
        .values()
        .map(|s| {
            let start = s.start_time.map(|d| d.as_duration()).unwrap_or_default();
            let run = match &s.stages {
                Some(stages) => stages.iter().map(|st| st.duration.as_duration()).sum(),
                None => s.duration.map(|d| d.as_duration()).unwrap_or_default(),
            };
            start + run
        })
        .max()
        .unwrap_or_default()
}
