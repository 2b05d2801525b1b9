//! The one owner of cockpit state. Everything that happens arrives as a [`Msg`];
//! [`App::update`] is synchronous and does no I/O, returning [`Effect`]s for the runtime
//! to carry out. Rendering reads `&App` only.
//!
//! `msg.rs` is the contract with the runtime and `state.rs` the types the state is made
//! of; the rules live by concern: `judge.rs` (evidence to verdicts), `input.rs` (keys and
//! mouse), `runbook.rs` (ticks, commands, load runs), `forms.rs` (sign-off, override, note).

mod evidence;
mod forms;
mod input;
mod judge;
pub mod msg;
mod runbook;
pub mod state;

pub use forms::OVERRIDE_REASON_MIN;
pub use judge::{LIST_DEADLINE, REEVALUATE_EVERY};
pub use msg::{CommandResult, Effect, Msg};
pub use runbook::DEFAULT_COMMAND_TIMEOUT;
pub use state::{
    COMMAND_LINES, Connection, GateRow, LoadState, Overlay, Pane, RunningCommand, STATUS_FOR,
    Severity, Shown, StatusLine,
};

use super::keys::Keymap;
use super::layout::{self, Areas};
use super::rows;
use crate::cluster::ClusterView;
use crate::gates::{self, Verdict};
use crate::plan::{LoadedPlan, Phase, Step};
use crate::runbook::state::{Decision, RunbookState, StepState};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::Arc;

pub struct App {
    // What this go-live is: the plan, who acts, whether anything is being recorded.
    pub plan: Arc<LoadedPlan>,
    pub demo: bool,
    /// The demo plays API server faults (`golive demo --chaos`).
    pub chaos: bool,
    /// The hyperlink the last frame drew, as (visible text, URL): the terminal writer
    /// wraps that text in an OSC 8 hyperlink after drawing.
    pub hyperlink: std::cell::RefCell<Option<(String, String)>>,
    /// Who the journal records as acting; the sign-off form starts with this name.
    pub operator: String,
    /// Why nothing is being journaled (no state directory, the journal locked by another
    /// golive or unreadable); None while the journal records.
    pub not_recording: Option<String>,
    /// golive's log file (in the state directory), which help points to; None without one.
    pub log_file: Option<std::path::PathBuf>,
    pub started: Timestamp,
    /// The clock handed in with the latest message.
    pub now: Timestamp,

    // What the world says: the cluster, the probes, the load run, the running command,
    // and everything the journal recorded.
    pub connection: Connection,
    pub view: ClusterView,
    /// The latest HTTP, SSE and TCP probe results; gates read them as evidence.
    pub probes: crate::probe::Probes,
    /// The latest answers to the `dns_records` lookups, and which were asked when.
    pub dns: crate::dns::DnsAnswers,
    pub dns_asked: Option<(BTreeSet<crate::dns::Lookup>, Timestamp)>,
    /// What Prometheus and Alertmanager answered, with each monitored check's history.
    pub metrics: Arc<crate::metrics::MetricsEvidence>,
    pub load: LoadState,
    /// The plan's `load: {from: FILE}` as last read and judged (k6's run, not golive's).
    pub load_file: Option<crate::gates::LoadEvidence>,
    /// The step command running now, if any.
    pub command: Option<RunningCommand>,
    /// Everything the journal recorded, replayed: ticks, verifications, load runs.
    pub runbook: RunbookState,
    /// The step whose tick is being written to disk; shown as saving, not as done.
    pub saving: Option<String>,
    /// Steps whose `step_verified` was asked of the journal this session: asked once, not
    /// per evaluation, and not again after the journal refused it.
    pub verifying: BTreeSet<String>,
    /// The plan's rollouts as judged with the gates (`fresh_rollouts`).
    pub judged_rollouts: Vec<crate::gates::rollout::Rollout>,
    /// Since when each gate has passed without a break (held verifications count on it).
    pub pass_since: std::collections::BTreeMap<String, Timestamp>,
    /// Baselines asked of Prometheus this session, by check key; when one failed, and why.
    pub baselines_asked: std::collections::BTreeMap<String, Option<(Timestamp, String)>>,
    /// Alert events (`fingerprint|event|…`) asked of the journal this session.
    pub alert_records_asked: std::collections::BTreeSet<String>,
    /// Rollout events (`workload|revision|event`) asked of the journal this session.
    pub rollouts_asked: BTreeSet<String>,

    // What golive judged from it (`judge.rs`).
    pub gates: Vec<GateRow>,
    /// The launch decision as the header shows it: gates, load, runbook and sign-offs.
    pub verdict: (Verdict, String),
    /// The full decision behind it, with any override that covers it.
    pub decision: Decision,
    needs_evaluation: bool,
    evaluated_at: Option<Timestamp>,
    /// Each gate's latest verdict and what it read: a gate is judged again only when
    /// something it read changed.
    judgements: crate::gates::incremental::Judgements,
    /// Bumped when a part of the judging context changes (probes, metrics, load, moments).
    epochs: crate::gates::incremental::Epochs,
    /// The load evidence and moments of the latest judging, to see when they change.
    judged_inputs: (Option<crate::gates::LoadEvidence>, crate::gates::Moments),
    /// The view's revision when the rollouts were last worked out.
    judged_inputs_revision: Option<u64>,

    // What the screen shows and where the operator is in it.
    pub size: (u16, u16),
    /// For showing tick times; UTC unless the runtime sets the system zone.
    pub tz: jiff::tz::TimeZone,
    pub keymap: Keymap,
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
    /// The top-right pane shows the rollouts (`d`) or the monitoring (`m`) instead of
    /// the load test.
    pub deploy_view: bool,
    pub monitor_view: bool,
    /// The workload selected in the deploy view.
    pub deploy_selected: usize,
    pub status: Option<StatusLine>,
    /// Start-up problems (config, theme, journal): the status line shows the latest for a
    /// while, the `?` help lists them all for as long as golive runs.
    pub warnings: Vec<String>,
    pub quit: bool,
    /// Until the operator moves, the selection follows the first failing gate.
    moved: bool,
}

impl App {
    /// The cockpit before anything arrived, its gates judged once for the first frame.
    /// The first [`App::settle`] judges again and returns what that asks for.
    pub fn new(
        plan: Arc<LoadedPlan>,
        demo: bool,
        keymap: Keymap,
        runbook: RunbookState,
        now: Timestamp,
    ) -> App {
        let watches = gates::plan_watch_specs(&plan.plan);
        let load = if plan.plan.load.is_some() {
            LoadState::Idle
        } else {
            LoadState::NotConfigured
        };
        let mut app = App {
            plan,
            demo,
            chaos: false,
            hyperlink: Default::default(),
            operator: crate::runbook::journal::operator_name(None),
            not_recording: None,
            log_file: None,
            started: now,
            now,
            connection: Connection::Connecting,
            view: ClusterView::for_watches("", "", &watches),
            probes: Default::default(),
            dns: Default::default(),
            dns_asked: None,
            metrics: Default::default(),
            load,
            load_file: None,
            command: None,
            runbook,
            saving: None,
            verifying: Default::default(),
            rollouts_asked: Default::default(),
            baselines_asked: Default::default(),
            alert_records_asked: Default::default(),
            pass_since: Default::default(),
            judged_rollouts: Vec::new(),
            gates: Vec::new(),
            verdict: (Verdict::Unknown, "connecting to the cluster".into()),
            decision: Decision {
                verdict: Verdict::Unknown,
                reasons: Vec::new(),
                overridden: None,
            },
            needs_evaluation: true,
            evaluated_at: None,
            judgements: Default::default(),
            epochs: Default::default(),
            judged_inputs: Default::default(),
            judged_inputs_revision: None,
            size: (80, 24),
            tz: jiff::tz::TimeZone::UTC,
            keymap,
            focus: Pane::Gates,
            subject: Pane::Gates,
            gate_selected: 0,
            phase_selected: 0,
            step_selected: 0,
            detail_scroll: 0,
            filter: String::new(),
            filter_editing: false,
            overlay: Overlay::None,
            deploy_view: false,
            monitor_view: false,
            deploy_selected: 0,
            status: None,
            warnings: Vec::new(),
            quit: false,
            moved: false,
        };
        app.judge();
        app
    }

    /// Applies a message. Pure apart from the clock handed in. Each handler answers with
    /// the effects the runtime is to carry out, most often none.
    pub fn update(&mut self, msg: Msg, now: Timestamp) -> Vec<Effect> {
        self.now = now;
        match msg {
            Msg::Tick => Vec::new(),
            Msg::Resize(w, h) => self.on_resize(w, h),
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Terminated => self.force_quit(),
            Msg::Connected { context, server } => self.on_connected(context, server),
            Msg::ConnectFailed(error) => self.on_connect_failed(error),
            Msg::Cluster(event) => self.on_cluster(event),
            Msg::Probes(probes) => self.on_probes(probes),
            Msg::Dns(answers) => self.on_dns(answers),
            Msg::Metrics(update) => self.on_metrics(*update),
            Msg::BaselineCaptured { check, result } => self.on_baseline(check, result),
            Msg::LoadStarted => self.on_load_started(),
            Msg::LoadFailed(error) => self.on_load_failed(error),
            Msg::LoadSnapshot(snapshot) => self.on_load_snapshot(snapshot),
            Msg::LoadFinished(summary) => self.on_load_finished(*summary),
            Msg::Recorded(entry) => self.on_recorded(&entry),
            Msg::RecordFailed { action, error } => self.on_record_failed(*action, error),
            Msg::CommandOutput(lines) => self.on_command_output(lines),
            Msg::CommandNotStarted(error) => self.on_command_not_started(error),
            Msg::CommandFinished(result) => self.on_command_finished(result),
            Msg::ReportWritten(path) => self.on_report_written(&path),
            Msg::ReportFailed(error) => self.on_report_failed(error),
            Msg::Warning(text) => self.on_warning(text),
            Msg::LoadSummaryFile { path, read } => self.on_load_summary_file(&path, read),
        }
    }

    fn on_resize(&mut self, width: u16, height: u16) -> Vec<Effect> {
        self.size = (width, height);
        Vec::new()
    }

    fn on_report_written(&mut self, path: &std::path::Path) -> Vec<Effect> {
        self.set_status(
            format!("report written to {}", path.display()),
            Severity::Info,
        );
        Vec::new()
    }

    fn on_report_failed(&mut self, error: String) -> Vec<Effect> {
        self.set_status(format!("report NOT written: {error}"), Severity::Error);
        Vec::new()
    }

    fn on_warning(&mut self, text: String) -> Vec<Effect> {
        self.warnings.push(text.clone());
        let shown = match self.warnings.len() {
            1 => text,
            n => format!("{text} · {n} start-up warnings, ? lists them"),
        };
        self.set_status(shown, Severity::Warning);
        Vec::new()
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

    pub fn context(&self) -> &str {
        match &self.connection {
            Connection::Connected { context, .. } => context,
            _ => "",
        }
    }

    /// Where each pane goes at the size the runtime last reported.
    pub fn areas(&self) -> Areas {
        self.areas_for(self.size.0, self.size.1)
    }

    /// Where each pane goes on a `width`×`height` screen, for what the panes hold now.
    pub fn areas_for(&self, width: u16, height: u16) -> Areas {
        let content = layout::Content {
            gate_lines: rows::gate_lines(&self.gates, &self.filter, true).len(),
            longest_phase: self
                .plan
                .plan
                .runbook
                .iter()
                .map(|p| p.steps.len())
                .max()
                .unwrap_or(0),
        };
        layout::areas(width, height, content)
    }

    /// The recorded state of a ticked step; None while it is not ticked.
    pub fn tick(&self, step: &str) -> Option<&StepState> {
        self.runbook.steps.get(step).filter(|s| s.checked)
    }

    pub fn selected_gate(&self) -> Option<&GateRow> {
        let index = *rows::visible_gates(&self.gates, &self.filter).get(self.gate_selected)?;
        self.gates.get(index)
    }

    pub fn selected_phase(&self) -> Option<&Phase> {
        self.plan.plan.runbook.get(self.phase_selected)
    }

    /// The selected phase's steps that pass the filter, as indices into it.
    pub fn visible_steps(&self) -> Vec<usize> {
        self.selected_phase()
            .map(|phase| rows::visible_steps(phase, &self.filter))
            .unwrap_or_default()
    }

    pub fn selected_step(&self) -> Option<&Step> {
        let index = *self.visible_steps().get(self.step_selected)?;
        self.selected_phase()?.steps.get(index)
    }

    /// Tab labels for the runbook phases, as drawn and as clicked.
    pub fn phase_tabs(&self) -> Vec<String> {
        rows::phase_tabs(&self.plan.plan.runbook, &self.runbook, self.now)
    }
}
