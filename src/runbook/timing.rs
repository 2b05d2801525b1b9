//! How long each runbook phase took against its budget: when a phase opened (the go-live's
//! start, its `requires` met, or its first tick), when it ended, and the short text for it
//! (`22m/15m over`). The cockpit's phase tabs and the reports print the same words from
//! the same numbers, so the record says what the operator saw.

use crate::plan::Phase;
use crate::runbook::state::RunbookState;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// Ends the time of a phase that is over its budget.
pub const OVERDUE: &str = " over";

/// `41s`, `12m`, `1h05`, `3h`, `2d`: a duration in the fewest characters.
pub fn short_duration(s: u64) -> String {
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        let (h, m) = (s / 3600, (s % 3600) / 60);
        if m == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{m:02}")
        }
    } else {
        format!("{}d", s / 86_400)
    }
}

/// A phase's time so far and its budget, as of a moment (the cockpit's clock, or when a
/// report was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseTime {
    /// None before the phase opened.
    pub elapsed: Option<SignedDuration>,
    pub budget: Option<Duration>,
}

impl PhaseTime {
    pub fn of(phases: &[Phase], runbook: &RunbookState, phase: &Phase, now: Timestamp) -> Self {
        Self {
            elapsed: phase_elapsed(phases, runbook, phase, now),
            budget: phase.budget.map(|b| b.0),
        }
    }

    /// Whole seconds spent, never negative (a clock that stepped back counts as none).
    pub fn spent_secs(&self) -> Option<u64> {
        self.elapsed.map(|e| e.as_secs().max(0) as u64)
    }

    /// Whether the phase took longer than its budget (never without one).
    pub fn over_budget(&self) -> bool {
        match (self.spent_secs(), self.budget) {
            (Some(spent), Some(budget)) => spent > budget.as_secs(),
            _ => false,
        }
    }

    /// `22m/15m over`, `3m/30m`, or `–/30m` before the phase opened; None without a budget.
    pub fn against_budget(&self) -> Option<String> {
        let budget = short_duration(self.budget?.as_secs());
        Some(match self.spent_secs() {
            Some(spent) => {
                let over = if self.over_budget() { OVERDUE } else { "" };
                format!("{}/{budget}{over}", short_duration(spent))
            }
            None => format!("–/{budget}"),
        })
    }
}

/// When a step was ticked; None while it is not.
fn ticked_at(runbook: &RunbookState, step: &str) -> Option<Timestamp> {
    runbook
        .steps
        .get(step)
        .filter(|s| s.checked)
        .and_then(|s| s.at)
}

/// Time spent in a phase, to its last tick once every step is done or to now while it is
/// under way. It starts when the phase opened: the first phase when the go-live started,
/// a phase with `requires` when the last of them was met, any other at its first tick.
/// None before it opened.
pub fn phase_elapsed(
    phases: &[Phase],
    runbook: &RunbookState,
    phase: &Phase,
    now: Timestamp,
) -> Option<SignedDuration> {
    let ticks: Vec<_> = phase
        .steps
        .iter()
        .filter_map(|s| ticked_at(runbook, &s.id()))
        .collect();
    let start = phase_opened(phases, runbook, phase)?;
    let end = if ticks.len() == phase.steps.len() && !ticks.is_empty() {
        ticks.iter().copied().max().unwrap_or(now)
    } else {
        now
    };
    Some(end.duration_since(start))
}

/// When a phase opened: the first phase when the go-live started, a phase with
/// `requires` when the last of them was met, any other at its first tick (whichever of
/// these came first). None before it opened.
pub fn phase_opened(phases: &[Phase], runbook: &RunbookState, phase: &Phase) -> Option<Timestamp> {
    let first_tick = phase
        .steps
        .iter()
        .filter_map(|s| ticked_at(runbook, &s.id()))
        .min();
    let first_phase = phases
        .first()
        .is_some_and(|p| p.phase.value == phase.phase.value);
    let opened = if first_phase {
        runbook.started_at
    } else if !phase.requires.is_empty() {
        requirements_met_at(phases, runbook, phase)
    } else {
        None
    };
    opened.into_iter().chain(first_tick).min()
}

/// The deploy moment monitoring compares against: the first rollout golive journaled as
/// started, else the Deploy phase's opening.
pub fn deploy_moment(phases: &[Phase], runbook: &RunbookState) -> Option<Timestamp> {
    moments(phases, runbook).deployed
}

/// The go-live's moments that checks count from (`warning_events`' `since`): its start
/// and each phase's opening.
pub fn moments(phases: &[Phase], runbook: &RunbookState) -> crate::gates::Moments {
    let mut moments = crate::gates::Moments {
        started: runbook.started_at,
        phases: phases
            .iter()
            .map(|p| (p.phase.value.clone(), phase_opened(phases, runbook, p)))
            .collect(),
        deployed: None,
    };
    moments.deployed = runbook
        .rollouts
        .iter()
        .find(|r| r.event == "started")
        .map(|r| r.at)
        .or_else(|| crate::gates::events::moment(&crate::plan::Since::default(), &moments));
    moments
}

/// When the last of a phase's `requires` (whole phases or single steps) was ticked; None
/// while any is open.
pub fn requirements_met_at(
    phases: &[Phase],
    runbook: &RunbookState,
    phase: &Phase,
) -> Option<Timestamp> {
    let tick_of = |id: &str| ticked_at(runbook, id);
    let mut met = None;
    for r in &phase.requires {
        let at = match phases.iter().find(|p| p.phase.value == r.value) {
            Some(required) => required
                .steps
                .iter()
                .map(|s| tick_of(&s.id()))
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .max(),
            None => Some(tick_of(&r.value)?),
        };
        met = met.max(at);
    }
    met
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{self, Plan};
    use crate::runbook::state::StepState;

    fn t(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + 60 * minutes).expect("timestamp")
    }

    /// Three phases: `Prepare` first, `Ship` requiring all of it, `Watch` requiring one
    /// step of `Ship`, and `Tidy` with no `requires`.
    fn plan() -> Plan {
        let text = "name: timing
runbook:
  - phase: Prepare
    budget: 15m
    steps: [a, b]
  - phase: Ship
    budget: 30m
    requires: [Prepare]
    steps: [c, d]
  - phase: Watch
    budget: 1h
    requires: [c]
    steps: [e]
  - phase: Tidy
    steps: [f, g]
";
        plan::parse("timing.yaml", text, |_| None)
            .expect("the timing plan parses")
            .plan
    }

    fn state(started: Option<i64>, ticks: &[(&str, i64)]) -> RunbookState {
        let mut state = RunbookState {
            started_at: started.map(t),
            ..RunbookState::default()
        };
        for (step, at) in ticks {
            state.steps.insert(
                step.to_string(),
                StepState {
                    checked: true,
                    by: Some("alice".into()),
                    at: Some(t(*at)),
                    ..StepState::default()
                },
            );
        }
        state
    }

    fn time_of(plan: &Plan, state: &RunbookState, phase: usize, now: i64) -> PhaseTime {
        PhaseTime::of(&plan.runbook, state, &plan.runbook[phase], t(now))
    }

    #[test]
    fn short_durations_use_the_largest_unit_that_fits() {
        assert_eq!(short_duration(0), "0s");
        assert_eq!(short_duration(59), "59s");
        assert_eq!(short_duration(60), "1m");
        assert_eq!(short_duration(22 * 60 + 59), "22m");
        assert_eq!(short_duration(3600), "1h");
        assert_eq!(short_duration(3600 + 5 * 60), "1h05");
        assert_eq!(short_duration(86_400 * 2 + 5), "2d");
    }

    #[test]
    fn the_first_phase_runs_from_the_start_of_the_go_live_to_now_while_open() {
        let plan = plan();
        let state = state(Some(0), &[("a", 5)]);
        let time = time_of(&plan, &state, 0, 22);
        assert_eq!(time.elapsed, Some(SignedDuration::from_mins(22)));
        assert!(time.over_budget());
        assert_eq!(time.against_budget().as_deref(), Some("22m/15m over"));
    }

    #[test]
    fn a_finished_phase_stops_at_its_last_tick() {
        let plan = plan();
        let state = state(Some(0), &[("a", 5), ("b", 12)]);
        let time = time_of(&plan, &state, 0, 600);
        assert_eq!(time.elapsed, Some(SignedDuration::from_mins(12)));
        assert!(!time.over_budget());
        assert_eq!(time.against_budget().as_deref(), Some("12m/15m"));
    }

    #[test]
    fn a_phase_with_requires_opens_when_the_last_of_them_is_met() {
        let plan = plan();
        let open = state(Some(0), &[("a", 5)]);
        assert_eq!(
            requirements_met_at(&plan.runbook, &open, &plan.runbook[1]),
            None
        );
        let time = time_of(&plan, &open, 1, 40);
        assert_eq!(time.elapsed, None, "Ship has not opened");
        assert_eq!(time.against_budget().as_deref(), Some("–/30m"));

        let met = state(Some(0), &[("a", 5), ("b", 10)]);
        assert_eq!(
            requirements_met_at(&plan.runbook, &met, &plan.runbook[1]),
            Some(t(10))
        );
        let time = time_of(&plan, &met, 1, 40);
        assert_eq!(time.elapsed, Some(SignedDuration::from_mins(30)));
        assert_eq!(
            time.against_budget().as_deref(),
            Some("30m/30m"),
            "exactly the budget is not over it"
        );
    }

    #[test]
    fn a_required_step_opens_a_phase_by_itself() {
        let plan = plan();
        let state = state(Some(0), &[("c", 20)]);
        assert_eq!(
            requirements_met_at(&plan.runbook, &state, &plan.runbook[2]),
            Some(t(20))
        );
        let time = time_of(&plan, &state, 2, 95);
        assert_eq!(time.against_budget().as_deref(), Some("1h15/1h over"));
    }

    #[test]
    fn a_phase_without_requires_opens_at_its_first_tick_and_has_no_budget_text() {
        let plan = plan();
        let before = time_of(&plan, &state(Some(0), &[]), 3, 50);
        assert_eq!(before.elapsed, None);
        let state = state(Some(0), &[("f", 30)]);
        let time = time_of(&plan, &state, 3, 50);
        assert_eq!(time.elapsed, Some(SignedDuration::from_mins(20)));
        assert!(!time.over_budget(), "no budget, never over it");
        assert_eq!(time.against_budget(), None);
    }

    #[test]
    fn a_clock_behind_the_start_counts_as_no_time_spent() {
        let plan = plan();
        let state = state(Some(10), &[]);
        let time = time_of(&plan, &state, 0, 0);
        assert_eq!(time.spent_secs(), Some(0));
        assert_eq!(time.against_budget().as_deref(), Some("0s/15m"));
    }
}
