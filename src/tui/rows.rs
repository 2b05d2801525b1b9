//! What the list panes list, after the filter: shared by drawing and mouse hit-testing
//! so a click lands on the row that is drawn there. Each function takes the values it
//! reads (the gate rows, a phase, the runbook state), not the whole app.

use super::app::state::GateRow;
use crate::plan::Phase;
use crate::runbook::state::RunbookState;
use crate::runbook::timing::PhaseTime;
use jiff::Timestamp;

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

/// Tab labels for the runbook phases: name, ticked/total, elapsed/budget (the words of
/// [`PhaseTime::against_budget`], which the reports print too).
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
            if let Some(time) = PhaseTime::of(phases, runbook, phase, now).against_budget() {
                label.push(' ');
                label.push_str(&time);
            }
            label
        })
        .collect()
}

pub const TAB_SEPARATOR: &str = " │ ";

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
