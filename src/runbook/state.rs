//! Runbook state replayed from the journal, auto-verification, and the go/no-go rule.

use super::journal::{Action, Entry};
use crate::gates::{GateVerdict, LoadEvidence, Status, Verdict};
use crate::plan::{Plan, Verify};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StepState {
    pub checked: bool,
    pub by: Option<String>,
    pub at: Option<Timestamp>,
    /// `gate cluster-access`, `load`…: what ticked the step by itself.
    pub verified_by: Option<String>,
    pub evidence: Vec<String>,
    pub notes: Vec<(Timestamp, String, String)>,
    pub last_command: Option<CommandRecord>,
    /// The operator unticked it by hand: golive no longer ticks it by itself (it would
    /// overrule a person) until someone ticks it again.
    pub unticked_by_hand: bool,
    /// A command started and not (yet) finished: when, by whom, what.
    pub command_started: Option<(Timestamp, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandRecord {
    pub at: Timestamp,
    pub by: String,
    pub command: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub output_tail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignOffRecord {
    pub role: String,
    pub name: String,
    pub approve: bool,
    pub comment: Option<String>,
    pub at: Timestamp,
    pub operator: String,
    pub verdict: String,
    pub gates: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverrideRecord {
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
    pub verdict: String,
    pub failing: Vec<String>,
}

/// One journaled rollout event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutRecord {
    pub at: Timestamp,
    pub workload: String,
    pub event: String,
    pub revision: String,
    pub images: Vec<String>,
    pub detail: String,
    pub duration_s: Option<i64>,
}

impl RolloutRecord {
    /// Whether this records `event` for `workload` at `revision`.
    pub fn is(&self, workload: &str, revision: &str, event: &str) -> bool {
        self.workload == workload && self.revision == revision && self.event == event
    }
}

/// An alert the journal saw fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecord {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// When Alertmanager says it started.
    pub starts_at: Option<Timestamp>,
    /// When golive first saw it firing.
    pub seen_at: Timestamp,
    /// When golive saw it leave the active list; `None` while firing.
    pub resolved_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunbookState {
    pub steps: BTreeMap<String, StepState>,
    pub signoffs: Vec<SignOffRecord>,
    pub overrides: Vec<OverrideRecord>,
    pub load: Option<LoadEvidence>,
    pub load_started: Option<Timestamp>,
    pub load_stats: Option<super::journal::LoadStats>,
    pub started_at: Option<Timestamp>,
    /// Rollouts golive journaled (`started`, `failed`, `complete`), in order.
    pub rollouts: Vec<RolloutRecord>,
    /// Pre-deploy baselines of monitored queries, by check key.
    pub baselines: BTreeMap<String, crate::metrics::BaselineValue>,
    /// Alerts seen firing during the go-live, by fingerprint, with when each resolved.
    pub alerts: BTreeMap<String, AlertRecord>,
    /// What the journal's chain check found wrong (`journal line N: …`). Not part of the
    /// replay: the reader of the journal sets it. A record that fails its check is no
    /// ground for a GO, and no override covers it.
    pub integrity: Vec<String>,
}

impl RunbookState {
    pub fn replay(entries: &[Entry]) -> Self {
        let mut state = Self::default();
        for e in entries {
            state.apply(e);
        }
        state
    }

    /// Replays a journal as read and checked: its chain problems go into `integrity`.
    pub fn replay_checked(entries: &[Entry], verification: &super::journal::Verification) -> Self {
        let mut state = Self::replay(entries);
        state.integrity = verification.integrity_reasons();
        state
    }

    pub fn apply(&mut self, e: &Entry) {
        match &e.action {
            Action::Plan { .. } => {}
            Action::SessionStarted { .. } => {
                self.started_at.get_or_insert(e.at);
                // A load test that was running when the last session ended never finished.
                if let Some(load) = self.load.take_if(|l| l.running) {
                    let mut load = load.ended_early("golive stopped while it ran");
                    load.finished_at = Some(e.at);
                    self.load = Some(load);
                }
            }
            Action::StepChecked { step } => {
                let s = self.steps.entry(step.clone()).or_default();
                s.checked = true;
                s.by = Some(e.operator.clone());
                s.at = Some(e.at);
                s.verified_by = None;
                s.evidence.clear();
                s.unticked_by_hand = false;
            }
            Action::StepUnchecked { step } => {
                let s = self.steps.entry(step.clone()).or_default();
                s.checked = false;
                s.by = Some(e.operator.clone());
                s.at = Some(e.at);
                s.verified_by = None;
                s.unticked_by_hand = true;
            }
            Action::StepVerified {
                step,
                verify,
                evidence,
            } => {
                let s = self.steps.entry(step.clone()).or_default();
                s.checked = true;
                s.by = Some("golive".into());
                s.at = Some(e.at);
                s.verified_by = Some(verify.clone());
                s.evidence = evidence.clone();
            }
            Action::Note { step, text } => {
                let key = step.clone().unwrap_or_default();
                self.steps.entry(key).or_default().notes.push((
                    e.at,
                    e.operator.clone(),
                    text.clone(),
                ));
            }
            Action::CommandStarted { step, command } => {
                self.steps.entry(step.clone()).or_default().command_started =
                    Some((e.at, e.operator.clone(), command.clone()));
            }
            Action::CommandRun {
                step,
                command,
                exit_code,
                duration_ms,
                output_tail,
            } => {
                let s = self.steps.entry(step.clone()).or_default();
                s.command_started = None;
                s.last_command = Some(CommandRecord {
                    at: e.at,
                    by: e.operator.clone(),
                    command: command.clone(),
                    exit_code: *exit_code,
                    duration_ms: *duration_ms,
                    output_tail: output_tail.clone(),
                });
            }
            Action::SignOff {
                role,
                name,
                approve,
                comment,
                verdict,
                gates,
            } => {
                self.signoffs.retain(|s| &s.role != role);
                self.signoffs.push(SignOffRecord {
                    role: role.clone(),
                    name: name.clone(),
                    approve: *approve,
                    comment: comment.clone(),
                    at: e.at,
                    operator: e.operator.clone(),
                    verdict: verdict.clone(),
                    gates: gates.clone(),
                });
            }
            Action::Override {
                reason,
                verdict,
                failing,
            } => self.overrides.push(OverrideRecord {
                at: e.at,
                by: e.operator.clone(),
                reason: reason.clone(),
                verdict: verdict.clone(),
                failing: failing.clone(),
            }),
            // A record only: the file itself is the evidence, read again where it is judged.
            Action::LoadSummaryRead { .. } => {}
            Action::Alert {
                fingerprint,
                name,
                labels,
                starts_at,
                event,
            } => {
                let record =
                    self.alerts
                        .entry(fingerprint.clone())
                        .or_insert_with(|| AlertRecord {
                            name: name.clone(),
                            labels: labels.clone(),
                            starts_at: *starts_at,
                            seen_at: e.at,
                            resolved_at: None,
                        });
                // Firing again after it resolved: open again.
                record.resolved_at = (event == "resolved").then_some(e.at);
            }
            Action::Baseline { check, baseline } => {
                self.baselines
                    .entry(check.clone())
                    .or_insert_with(|| baseline.clone());
            }
            Action::Rollout {
                workload,
                event,
                revision,
                images,
                detail,
                duration_s,
            } => self.rollouts.push(RolloutRecord {
                at: e.at,
                workload: workload.clone(),
                event: event.clone(),
                revision: revision.clone(),
                images: images.clone(),
                detail: detail.clone(),
                duration_s: *duration_s,
            }),
            Action::LoadStarted { .. } => {
                self.load_started = Some(e.at);
                self.load_stats = None;
                self.load = Some(LoadEvidence {
                    source: None,
                    finished_at: None,
                    running: true,
                    thresholds: Vec::new(),
                    requests: 0,
                });
            }
            Action::LoadFinished {
                requests,
                thresholds,
                stats,
                aborted,
                ..
            } => {
                self.load_stats = stats.clone();
                let evidence = LoadEvidence {
                    source: None,
                    finished_at: Some(e.at),
                    running: false,
                    requests: *requests,
                    thresholds: thresholds
                        .iter()
                        .map(
                            |(metric, expr, ok, measured)| crate::gates::ThresholdEvidence {
                                metric: metric.clone(),
                                expr: expr.clone(),
                                ok: *ok,
                                measured: measured.clone(),
                                ..Default::default()
                            },
                        )
                        .collect(),
                };
                self.load = Some(match aborted {
                    Some(why) => evidence.ended_early(why),
                    None => evidence,
                });
            }
        }
    }

    pub fn is_checked(&self, step: &str) -> bool {
        self.steps.get(step).is_some_and(|s| s.checked)
    }
}

/// Whether a step's verification passes now, and the evidence it passes on.
/// Since when each gate has passed without a break, and the time now: what a held
/// verification (`{gate: error-rate, held: 30m}`) counts on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldClock {
    pub pass_since: BTreeMap<String, Timestamp>,
    pub now: Timestamp,
}

impl HeldClock {
    /// How long `gate` has passed without a break, if it passes now.
    pub fn held_for(&self, gate: &str) -> Option<jiff::SignedDuration> {
        self.pass_since
            .get(gate)
            .map(|since| self.now.duration_since(*since))
    }
}

pub fn verification(
    verify: &Verify,
    gates: &[GateVerdict],
    load: Option<&LoadEvidence>,
    clock: &HeldClock,
) -> (Status, Vec<String>) {
    match verify {
        Verify::Held(id, hold) => match gates.iter().find(|g| &g.id == id) {
            Some(g) if g.status == Status::Pass => {
                let needed =
                    jiff::SignedDuration::try_from(hold.0).unwrap_or(jiff::SignedDuration::MAX);
                match clock.held_for(id) {
                    Some(held) if held >= needed => (
                        Status::Pass,
                        vec![format!(
                            "gate {}: passed without a break for {} (since {}), held {hold}: {}",
                            g.id,
                            crate::plan::duration::PlanDuration(std::time::Duration::from_secs(
                                held.as_secs().max(0) as u64
                            )),
                            clock
                                .pass_since
                                .get(id)
                                .map(|t| t.to_string())
                                .unwrap_or_default(),
                            g.summary
                        )],
                    ),
                    held => (
                        Status::Unknown,
                        vec![format!(
                            "gate {}: passing, held {} of {hold}",
                            g.id,
                            crate::plan::duration::PlanDuration(std::time::Duration::from_secs(
                                held.map(|h| h.as_secs().max(0) as u64).unwrap_or(0)
                            ))
                        )],
                    ),
                }
            }
            Some(g) => (
                g.status,
                vec![format!("gate {}: {} {}", g.id, g.status.word(), g.summary)],
            ),
            None => (Status::Unknown, vec![format!("gate {id} not evaluated")]),
        },
        Verify::Gate(id) => match gates.iter().find(|g| &g.id == id) {
            Some(g) => (
                g.status,
                vec![format!("gate {}: {} {}", g.id, g.status.word(), g.summary)],
            ),
            None => (Status::Unknown, vec![format!("gate {id} not evaluated")]),
        },
        Verify::Group(group) => {
            let members: Vec<&GateVerdict> = gates.iter().filter(|g| &g.group == group).collect();
            let status = Status::worst(members.iter().map(|g| g.status)).unwrap_or(Status::Unknown);
            (
                status,
                members
                    .iter()
                    .map(|g| format!("gate {}: {} {}", g.id, g.status.word(), g.summary))
                    .collect(),
            )
        }
        Verify::Load => {
            let v = crate::gates::load_verdict(load);
            (
                v.status,
                vec![format!(
                    "load thresholds: {} {}",
                    v.status.word(),
                    v.summary
                )],
            )
        }
    }
}

/// Steps whose verification passes now but that are not ticked: tick them, with evidence.
/// A ticked step is never unticked silently; the cockpit shows when its evidence turns.
pub fn auto_verify(
    plan: &Plan,
    state: &RunbookState,
    gates: &[GateVerdict],
    load: Option<&LoadEvidence>,
    clock: &HeldClock,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for phase in &plan.runbook {
        for step in &phase.steps {
            let Some(verify) = &step.0.verify else {
                continue;
            };
            let id = step.id();
            let by_hand = state.steps.get(&id).is_some_and(|s| s.unticked_by_hand);
            if state.is_checked(&id)
                || by_hand
                || !missing_requirements(plan, state, phase, step).is_empty()
            {
                continue;
            }
            let (status, evidence) = verification(&verify.value, gates, load, clock);
            if status == Status::Pass {
                actions.push(Action::StepVerified {
                    step: id,
                    verify: verify.value.to_string(),
                    evidence,
                });
            }
        }
    }
    actions
}

/// What a step still waits for: the steps and whole phases its own `requires` and its
/// phase's `requires` name that are not done yet. Empty when it may be ticked.
pub fn missing_requirements(
    plan: &Plan,
    state: &RunbookState,
    phase: &crate::plan::Phase,
    step: &crate::plan::Step,
) -> Vec<String> {
    phase
        .requires
        .iter()
        .chain(&step.0.requires)
        .filter(
            |r| match plan.runbook.iter().find(|p| p.phase.value == r.value) {
                Some(required) => !required.steps.iter().all(|s| state.is_checked(&s.id())),
                None => !state.is_checked(&r.value),
            },
        )
        .map(|r| r.value.clone())
        .collect()
}

/// Why the launch decision is what it is. `Display` writes the text the journal, the
/// screen and the reports show; code decides on the variant, never on that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// What the journal's chain check found wrong (`journal line N: …`), as it wrote it.
    /// No ground for a GO, and no override covers it.
    JournalIntegrity(String),
    GateFailing {
        gate: String,
        summary: String,
    },
    GateUndecided {
        gate: String,
        summary: String,
    },
    LoadFailing(String),
    LoadUndecided(String),
    StepsOpen {
        open: usize,
        first: String,
    },
    SignOffRejected {
        role: String,
        by: String,
    },
    SignOffMissing {
        role: String,
    },
    /// The last override was given on evidence that did not include these (their keys).
    OverrideUncovered {
        by: String,
        since: Vec<String>,
    },
    /// Nothing stands in the way of a GO.
    AllClear,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::JournalIntegrity(problem) => f.write_str(problem),
            Reason::GateFailing { gate, summary } => write!(f, "gate {gate} failing: {summary}"),
            Reason::GateUndecided { gate, summary } => {
                write!(f, "gate {gate} undecided: {summary}")
            }
            Reason::LoadFailing(summary) => write!(f, "load test failing: {summary}"),
            Reason::LoadUndecided(summary) => write!(f, "load test undecided: {summary}"),
            Reason::StepsOpen { open, first } => {
                write!(f, "runbook steps open: {open} (first: {first})")
            }
            Reason::SignOffRejected { role, by } => write!(f, "sign-off {role} rejected by {by}"),
            Reason::SignOffMissing { role } => write!(f, "sign-off {role} missing"),
            Reason::OverrideUncovered { by, since } => write!(
                f,
                "override by {by} does not cover what failed since: {}",
                since.join(", ")
            ),
            Reason::AllClear => {
                f.write_str("every gate passes, every step done, every role approved")
            }
        }
    }
}

/// Written as its text, as the journal and the reports have always had it.
impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Reason {
    /// What the reason is about, without the figures that change as it is worked on:
    /// `gate cert-manager failing: 1 of 3…` → `gate cert-manager failing`.
    pub fn key(&self) -> String {
        reason_key(&self.to_string()).to_string()
    }

    /// Whether an override given on `failing` (the reasons it recorded, as the journal
    /// holds them) covers this reason. Both are compared by [`reason_key`] of their text,
    /// the only form a recorded reason has. A journal that fails its check is never covered.
    pub fn covered_by(&self, failing: &[String]) -> bool {
        match self {
            Reason::JournalIntegrity(_) => false,
            _ => {
                let key = self.key();
                failing.iter().any(|f| reason_key(f) == key)
            }
        }
    }
}

/// The launch decision: GO only when every gate passes, the load thresholds are met,
/// every step is done and every sign-off role approved. Reasons name what is missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// An operator overrode a non-GO verdict; the record says who and why.
    pub overridden: Option<OverrideRecord>,
}

pub fn decide(plan: &Plan, gates: &[GateVerdict], state: &RunbookState) -> Decision {
    let mut blocking: Vec<Reason> = state
        .integrity
        .iter()
        .cloned()
        .map(Reason::JournalIntegrity)
        .collect();
    let mut pending = Vec::new();
    for g in gates {
        match g.status {
            Status::Fail => blocking.push(Reason::GateFailing {
                gate: g.id.clone(),
                summary: g.summary.clone(),
            }),
            Status::Unknown => pending.push(Reason::GateUndecided {
                gate: g.id.clone(),
                summary: g.summary.clone(),
            }),
            Status::Pass | Status::Warn => {}
        }
    }
    if plan.load.is_some()
        && !plan.gates.iter().any(|g| {
            g.checks
                .iter()
                .any(|c| matches!(c, crate::plan::Check::LoadThresholds(_)))
        })
    {
        let v = crate::gates::load_verdict(state.load.as_ref());
        match v.status {
            Status::Fail => blocking.push(Reason::LoadFailing(v.summary)),
            Status::Unknown => pending.push(Reason::LoadUndecided(v.summary)),
            _ => {}
        }
    }
    let open: Vec<String> = plan
        .runbook
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter(|s| !state.is_checked(&s.id()))
        .map(|s| s.0.text.clone())
        .collect();
    if let Some(first) = open.first() {
        pending.push(Reason::StepsOpen {
            open: open.len(),
            first: first.clone(),
        });
    }
    for role in &plan.signoff {
        match state.signoffs.iter().find(|s| &s.role == role) {
            Some(s) if s.approve => {}
            Some(s) => blocking.push(Reason::SignOffRejected {
                role: role.clone(),
                by: s.name.clone(),
            }),
            None => pending.push(Reason::SignOffMissing { role: role.clone() }),
        }
    }
    let (verdict, mut reasons) = if !blocking.is_empty() {
        (Verdict::NoGo, blocking)
    } else if !pending.is_empty() {
        (Verdict::Unknown, pending.clone())
    } else {
        (Verdict::Go, vec![Reason::AllClear])
    };
    if verdict == Verdict::NoGo {
        reasons.extend(pending);
    }
    // An override covers the evidence it was given on, not whatever fails later: a reason
    // that was not failing then voids it.
    let mut overridden = None;
    if verdict != Verdict::Go
        && let Some(o) = state.overrides.last()
    {
        let since: Vec<String> = reasons
            .iter()
            .filter(|r| !r.covered_by(&o.failing))
            .map(Reason::key)
            .collect();
        if since.is_empty() {
            overridden = Some(o.clone());
        } else {
            reasons.push(Reason::OverrideUncovered {
                by: o.by.clone(),
                since,
            });
        }
    }
    Decision {
        verdict,
        reasons,
        overridden,
    }
}

/// What a reason's text is about, without the figures that change as it is worked on:
/// `gate cert-manager failing: 1 of 3…` → `gate cert-manager failing`.
pub fn reason_key(reason: &str) -> &str {
    reason.split(':').next().unwrap_or(reason).trim()
}
