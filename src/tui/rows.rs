//! What the list panes list, after the filter: shared by drawing and mouse hit-testing
//! so a click lands on the row that is drawn there. Each function takes the values it
//! reads (the gate rows, a phase, the runbook state), not the whole app.

use super::app::state::GateRow;
use super::format::short_duration;
use crate::plan::Phase;
use crate::runbook::state::RunbookState;
use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateLine {
    Header(String),
    /// Index into `App::gates`.
    Gate(usize),
}

fn matches(filter: &str, fields: &[&str]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let needle = filter.to_lowercase();
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
}

/// Gates grouped in plan order of their groups, with a header per group if asked.
pub fn gate_lines(gates: &[GateRow], filter: &str, headers: bool) -> Vec<GateLine> {
    let mut groups: Vec<&str> = Vec::new();
    for g in gates {
        if !groups.contains(&g.verdict.group.as_str()) {
            groups.push(&g.verdict.group);
        }
    }
    let mut lines = Vec::new();
    for group in groups {
        let members: Vec<usize> = gates
            .iter()
            .enumerate()
            .filter(|(_, g)| g.verdict.group == group)
            .filter(|(_, g)| {
                matches(
                    filter,
                    &[
                        &g.verdict.id,
                        &g.verdict.title,
                        &g.verdict.group,
                        &g.summary,
                    ],
                )
            })
            .map(|(i, _)| i)
            .collect();
        if members.is_empty() {
            continue;
        }
        if headers {
            lines.push(GateLine::Header(group.to_string()));
        }
        lines.extend(members.into_iter().map(GateLine::Gate));
    }
    lines
}

/// The gates the filter lets through, as indices into `gates`, in the order they are listed.
pub fn visible_gates(gates: &[GateRow], filter: &str) -> Vec<usize> {
    gate_lines(gates, filter, false)
        .iter()
        .filter_map(|l| match l {
            GateLine::Gate(i) => Some(*i),
            GateLine::Header(_) => None,
        })
        .collect()
}

/// Group headers only when every line fits; a short pane spends its rows on gates.
pub fn gate_lines_for_height(gates: &[GateRow], filter: &str, height: usize) -> Vec<GateLine> {
    let with = gate_lines(gates, filter, true);
    if with.len() <= height {
        with
    } else {
        gate_lines(gates, filter, false)
    }
}

/// First line to draw so that `selected` stays visible in `height` rows.
pub fn window_start(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height || selected < height {
        0
    } else {
        (selected + 1 - height).min(len - height)
    }
}

/// The line index (into `gate_lines_for_height`) of the `selected`-th visible gate.
pub fn selected_gate_line(lines: &[GateLine], selected: usize) -> usize {
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate() {
        if let GateLine::Gate(_) = line {
            if seen == selected {
                return i;
            }
            seen += 1;
        }
    }
    0
}

/// Which gate (position among visible gates) is drawn on `row` of a pane `height` rows tall.
/// Rows left for gate lines: one is kept for the "more above/below" line when the
/// list does not fit, so a hidden failing gate is always counted on screen.
pub fn gate_rows(lines: usize, height: usize) -> usize {
    if lines > height {
        height.saturating_sub(1)
    } else {
        height
    }
}

/// The visible gate drawn on `row` of a gate pane `height` rows tall, the `selected`-th
/// kept in view.
pub fn gate_at(
    gates: &[GateRow],
    filter: &str,
    selected: usize,
    row: usize,
    height: usize,
) -> Option<usize> {
    let lines = gate_lines_for_height(gates, filter, height);
    let height = gate_rows(lines.len(), height);
    if row >= height {
        return None;
    }
    let start = window_start(selected_gate_line(&lines, selected), lines.len(), height);
    let target = start + row;
    if !matches!(lines.get(target), Some(GateLine::Gate(_))) {
        return None;
    }
    Some(
        lines[..target]
            .iter()
            .filter(|l| matches!(l, GateLine::Gate(_)))
            .count(),
    )
}

/// Indices of the phase's steps that pass the filter.
pub fn visible_steps(phase: &Phase, filter: &str) -> Vec<usize> {
    phase
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            matches(
                filter,
                &[
                    &s.0.text,
                    s.0.owner.as_deref().unwrap_or(""),
                    s.0.notes.as_deref().unwrap_or(""),
                ],
            )
        })
        .map(|(i, _)| i)
        .collect()
}

/// The step (position among `visible` steps) drawn on `row` of a list `height` rows tall,
/// the `selected`-th kept in view.
pub fn step_at(visible: usize, selected: usize, row: usize, height: usize) -> Option<usize> {
    let start = window_start(selected, visible, height);
    let target = start + row;
    (target < visible).then_some(target)
}

/// Tab labels for the runbook phases: name, ticked/total, elapsed/budget.
pub fn phase_tabs(phases: &[Phase], runbook: &RunbookState, now: Timestamp) -> Vec<String> {
    phases
        .iter()
        .map(|phase| {
            let total = phase.steps.len();
            let done = phase
                .steps
                .iter()
                .filter(|s| runbook.is_checked(&s.id()))
                .count();
            let mut label = format!("{} {done}/{total}", phase.phase.value);
            if let Some(budget) = phase.budget {
                let limit = budget.0.as_secs();
                let budget = short_duration(limit);
                match phase_elapsed(phases, runbook, phase, now) {
                    Some(e) => {
                        let spent = e.as_secs().max(0) as u64;
                        label.push_str(&format!(" {}/{budget}", short_duration(spent)));
                        if spent > limit {
                            label.push_str(OVERDUE);
                        }
                    }
                    None => label.push_str(&format!(" –/{budget}")),
                }
            }
            label
        })
        .collect()
}

pub const TAB_SEPARATOR: &str = " │ ";
/// Ends a phase tab whose time is over its budget.
pub const OVERDUE: &str = " over";

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
    let start = opened.into_iter().chain(ticks.iter().copied()).min()?;
    let end = if ticks.len() == phase.steps.len() && !ticks.is_empty() {
        ticks.iter().copied().max().unwrap_or(now)
    } else {
        now
    };
    Some(end.duration_since(start))
}

/// When the last of a phase's `requires` (whole phases or single steps) was ticked; None
/// while any is open.
fn requirements_met_at(
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

/// The phase whose tab (of `tabs`, drawn after the "▸ " marker) is at `column`.
pub fn phase_at(tabs: &[String], column: u16) -> Option<usize> {
    let mut x = 2usize; // the "▸ " marker
    for (i, label) in tabs.iter().enumerate() {
        let w = label.chars().count();
        if (column as usize) < x + w {
            return Some(i);
        }
        x += w + TAB_SEPARATOR.chars().count();
    }
    None
}
