//! The runbook at work: ticking steps (and what they require first), running a step's
//! command, starting and stopping the load test, and what the journal answers to each.

use super::App;
use super::msg::{CommandResult, Effect};
use super::state::{COMMAND_LINES, LoadState, Overlay, Pane, Severity};
use crate::runbook::journal::{Action as Record, Entry};
use crate::tui::format::{first_line, planned_duration};
use golive_load::{Snapshot, Summary};

/// A step's command is killed after this unless the plan sets `command_timeout`.
pub const DEFAULT_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

impl App {
    pub(super) fn on_load_started(&mut self) -> Vec<Effect> {
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

    /// The plan's `load: {from: FILE}`: a k6 summary judged instead of a run of golive's.
    pub fn load_from(&self) -> Option<&str> {
        self.plan.plan.load.as_ref()?.from.as_deref()
    }

    /// The plan's k6 summary file as read: judged on the plan's thresholds. A file that
    /// cannot be read or understood leaves the last good reading out: no result, unknown.
    pub(super) fn on_load_summary_file(
        &mut self,
        path: &str,
        read: Result<(String, Option<jiff::Timestamp>), String>,
    ) -> Vec<Effect> {
        let judged = read.and_then(|(text, modified)| {
            let file = crate::gates::load_file::SummaryFile {
                path,
                text: &text,
                modified,
            };
            crate::gates::load_file::evidence(&file, self.plan.plan.load.as_ref())
        });
        let mut effects = Vec::new();
        match judged {
            Ok(evidence) => {
                let started = self.runbook.started_at;
                let verdict =
                    crate::gates::load_verdict(Some(&evidence.clone().against_start(started)));
                self.set_status(
                    format!("read {path}: {} {}", verdict.status.word(), verdict.summary),
                    Severity::Info,
                );
                if self.not_recording.is_none() {
                    let source = evidence.source.as_ref();
                    effects.push(Effect::Record(Record::LoadSummaryRead {
                        file: path.to_string(),
                        format: source.map(|s| s.format.clone()).unwrap_or_default(),
                        written_at: source.and_then(|s| s.written_at),
                        requests: evidence.requests,
                        status: verdict.status.word().to_string(),
                        summary: verdict.summary.clone(),
                    }));
                }
                self.load_file = Some(evidence);
            }
            Err(e) => {
                self.set_status(format!("cannot use {e}"), Severity::Error);
                self.load_file = None;
            }
        }
        self.needs_evaluation = true;
        effects
    }

    pub(super) fn on_load_failed(&mut self, error: String) -> Vec<Effect> {
        self.set_status(format!("load test did not start: {error}"), Severity::Error);
        self.load = LoadState::Failed(error);
        self.needs_evaluation = true;
        Vec::new()
    }

    pub(super) fn on_load_snapshot(&mut self, snapshot: Box<Snapshot>) -> Vec<Effect> {
        if let LoadState::Running {
            snapshot: current, ..
        } = &mut self.load
        {
            *current = snapshot;
            self.needs_evaluation = true;
        }
        Vec::new()
    }

    pub(super) fn on_load_finished(&mut self, summary: Summary) -> Vec<Effect> {
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
            finished_at: self.now,
            aborted: summary.aborted,
        };
        self.needs_evaluation = true;
        vec![Effect::Record(record)]
    }

    pub(super) fn on_recorded(&mut self, entry: &Entry) -> Vec<Effect> {
        // Only an open journal answers `Recorded`: what stopped recording has passed.
        self.not_recording = None;
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
        self.runbook.apply(entry);
        self.refresh_verdict();
        Vec::new()
    }

    pub(super) fn on_record_failed(&mut self, action: Record, error: String) -> Vec<Effect> {
        let text = match action {
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
                format!("command NOT run, the journal cannot record it: {error} ({command})")
            }
            _ => format!("journal NOT written: {error}"),
        };
        // Until a write succeeds again, the runbook pane says that ticks are not kept; a
        // reason known since start-up (locked, no state directory) stays the one shown.
        self.not_recording
            .get_or_insert_with(|| "the journal refused the last write".into());
        self.set_status(text, Severity::Error);
        Vec::new()
    }

    pub(super) fn on_command_output(&mut self, lines: Vec<String>) -> Vec<Effect> {
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

    pub(super) fn on_command_not_started(&mut self, error: String) -> Vec<Effect> {
        self.command = None;
        self.set_status(format!("command NOT run: {error}"), Severity::Error);
        Vec::new()
    }

    pub(super) fn on_command_finished(&mut self, result: CommandResult) -> Vec<Effect> {
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

    pub(super) fn toggle_step(&mut self) -> Vec<Effect> {
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

    pub(super) fn toggle_load(&mut self) -> Vec<Effect> {
        if let Some(from) = self.load_from().map(str::to_string) {
            self.set_status(format!("reading {from}…"), Severity::Info);
            return vec![Effect::ReadLoadSummary(from)];
        }
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

    /// The selected step when the runbook (or its details) has the focus; says so otherwise.
    pub(super) fn runbook_step_in_focus(&mut self) -> Option<crate::plan::Step> {
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

    /// Whether a command is running (one at a time); says so on the status line.
    fn busy(&mut self) -> bool {
        let Some(running) = &self.command else {
            return false;
        };
        let text = format!("a command is still running: {}", running.command);
        self.set_status(text, Severity::Info);
        true
    }

    pub(super) fn confirm_command(&mut self) -> Vec<Effect> {
        let Some(step) = self.runbook_step_in_focus() else {
            return Vec::new();
        };
        let Some(command) = step.0.command.clone() else {
            self.set_status("this step has no command", Severity::Info);
            return Vec::new();
        };
        if self.busy() {
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

    /// The rollouts as last judged, for the deploy view, Details and the way back.
    pub fn rollouts(&self) -> &[crate::gates::rollout::Rollout] {
        &self.judged_rollouts
    }

    /// The rollouts of the plan's `rollout` checks whose evidence is fresh; judged with the
    /// gates, not per frame.
    pub(super) fn fresh_rollouts(&self) -> Vec<crate::gates::rollout::Rollout> {
        let mut out = Vec::new();
        for check in self.plan.plan.gates.iter().flat_map(|g| &g.checks) {
            let crate::plan::Check::Rollout(c) = check else {
                continue;
            };
            let fresh = crate::gates::watches(check).iter().all(|w| {
                matches!(
                    self.view.freshness(&w.resource, w.namespace.as_deref()),
                    crate::cluster::Freshness::Fresh
                )
            });
            if fresh {
                out.extend(crate::gates::rollout::rollouts(c, &self.view).0);
            }
        }
        out
    }

    /// The way back for the first failing rollout: `kubectl rollout undo`, asked first,
    /// then run, journaled and shown like a step's command.
    pub(super) fn confirm_undo(&mut self) -> Vec<Effect> {
        // The selected workload in the deploy view when it is failing, else the first.
        let rollouts = self.rollouts().to_vec();
        let selected = rollouts
            .get(self.deploy_selected)
            .filter(|_| self.deploy_view)
            .cloned();
        let failing = selected
            .into_iter()
            .chain(rollouts)
            .filter(|r| r.status() == crate::gates::Status::Fail)
            .find_map(|r| Some((r.undo_command()?, r)));
        let Some((command, r)) = failing else {
            self.set_status(
                "no failing rollout with an earlier revision to go back to",
                Severity::Info,
            );
            return Vec::new();
        };
        if self.busy() {
            return Vec::new();
        }
        // The cockpit's cluster, not whatever context kubectl would pick by itself.
        let context = self.context();
        let command = if context.is_empty() {
            command
        } else {
            format!("{command} --context {}", shell_word(context))
        };
        self.overlay = Overlay::ConfirmCommand {
            step: format!("undo {}/{}/{}", r.kind.kubectl(), r.namespace, r.name),
            command,
            timeout: DEFAULT_COMMAND_TIMEOUT,
        };
        Vec::new()
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
}

/// `word` as one shell word: bare when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/@+-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
