//! Go-live reports: Markdown for the launch ticket, JSON with the same content, JUnit for CI.
//! Nothing in a report is typed by hand: every ✅ comes from evidence or a named person's tick.
//! A phase's time against its budget is the cockpit's (`runbook::timing`), as of
//! `generated_at`.

mod junit;
mod markdown;
pub mod offline;

use crate::gates::{GateVerdict, Verdict};
use crate::plan::Plan;
use crate::runbook::journal::Verification;
use crate::runbook::state::{CommandRecord, Decision, RunbookState};
use crate::runbook::timing::{PhaseTime, short_duration};
use jiff::Timestamp;
use serde::Serialize;

pub use junit::render as junit;
pub use markdown::render as markdown;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Json,
    Junit,
}

/// Everything a report shows, gathered once.
pub struct ReportInput<'a> {
    pub plan: &'a Plan,
    pub context: &'a str,
    pub generated_at: Timestamp,
    pub gates: &'a [GateVerdict],
    pub state: &'a RunbookState,
    pub decision: &'a Decision,
    pub journal: &'a Verification,
    /// What Prometheus and Alertmanager said: the cockpit's whole session, or one look
    /// for `golive report`; None when the plan monitors nothing or nobody asked.
    pub metrics: Option<&'a crate::metrics::MetricsEvidence>,
    /// What the reader of the journal found worth saying before the verdict: a plan text
    /// other than the journal's, a cluster that could not be reached.
    pub notes: &'a [String],
}

#[derive(Serialize)]
struct StepJson<'a> {
    id: String,
    text: &'a str,
    checked: bool,
    by: Option<&'a str>,
    at: Option<Timestamp>,
    verified_by: Option<&'a str>,
    evidence: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    notes: Vec<NoteJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<&'a CommandRecord>,
    /// A command that started and has no recorded end (golive stopped while it ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    command_unfinished: Option<NoteJson<'a>>,
}

#[derive(Serialize)]
struct NoteJson<'a> {
    at: Timestamp,
    by: &'a str,
    text: &'a str,
}

pub fn json(input: &ReportInput) -> serde_json::Value {
    let phases: Vec<serde_json::Value> = input
        .plan
        .runbook
        .iter()
        .map(|p| {
            let steps: Vec<StepJson> = p
                .steps
                .iter()
                .map(|s| {
                    let id = s.id();
                    let st = input.state.steps.get(&id);
                    StepJson {
                        text: &s.0.text,
                        checked: st.is_some_and(|x| x.checked),
                        by: st.and_then(|x| x.by.as_deref()),
                        at: st.and_then(|x| x.at),
                        verified_by: st.and_then(|x| x.verified_by.as_deref()),
                        evidence: st.map(|x| x.evidence.as_slice()).unwrap_or(&[]),
                        verify: s.0.verify.as_ref().map(|v| v.value.to_string()),
                        owner: s.0.owner.as_deref(),
                        notes: st
                            .map(|x| x.notes.as_slice())
                            .unwrap_or(&[])
                            .iter()
                            .map(|(at, by, text)| NoteJson { at: *at, by, text })
                            .collect(),
                        command: st.and_then(|x| x.last_command.as_ref()),
                        command_unfinished: st
                            .and_then(|x| x.command_started.as_ref())
                            .map(|(at, by, text)| NoteJson { at: *at, by, text }),
                        id,
                    }
                })
                .collect();
            let time = PhaseTime::of(&input.plan.runbook, input.state, p, input.generated_at);
            serde_json::json!({
                "phase": p.phase.value,
                "budget": p.budget.map(|b| b.to_string()),
                "elapsed": time.spent_secs().map(short_duration),
                "elapsed_s": time.spent_secs(),
                "over_budget": time.over_budget(),
                "steps": steps,
            })
        })
        .collect();
    serde_json::json!({
        "plan": input.plan.name,
        "context": input.context,
        "generated_at": input.generated_at,
        "verdict": input.decision.verdict,
        "reasons": input.decision.reasons,
        "notes": input.notes,
        "override": input.decision.overridden,
        "gates": input.gates,
        "load": {
            "result": input.state.load,
            "stats": input.state.load_stats,
        },
        "runbook": {"phases": phases, "rollouts": input.state.rollouts},
        "signoffs": input.state.signoffs,
        "overrides": input.state.overrides,
        "journal": {
            "entries": input.journal.entries,
            "final_hash": input.journal.final_hash,
            "intact": input.journal.ok(),
            "problems": input.journal.problems,
        },
    })
}

pub(crate) fn verdict_word(v: Verdict) -> &'static str {
    v.word()
}

#[cfg(test)]
mod tests;
