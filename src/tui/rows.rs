//! What the list panes list, after the filter: shared by drawing and mouse hit-testing
//! so a click lands on the row that is drawn there.

use super::app::App;
use jiff::SignedDuration;

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
pub fn gate_lines(app: &App, headers: bool) -> Vec<GateLine> {
    let mut groups: Vec<&str> = Vec::new();
    for g in &app.gates {
        if !groups.contains(&g.verdict.group.as_str()) {
            groups.push(&g.verdict.group);
        }
    }
    let mut lines = Vec::new();
    for group in groups {
        let members: Vec<usize> = app
            .gates
            .iter()
            .enumerate()
            .filter(|(_, g)| g.verdict.group == group)
            .filter(|(_, g)| {
                matches(
                    &app.filter,
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

/// Group headers only when every line fits; a short pane spends its rows on gates.
pub fn gate_lines_for_height(app: &App, height: usize) -> Vec<GateLine> {
    let with = gate_lines(app, true);
    if with.len() <= height {
        with
    } else {
        gate_lines(app, false)
    }
}

pub fn gate_count(app: &App) -> usize {
    gate_lines(app, false).len()
}

/// First line to draw so that `selected` stays visible in `height` rows.
pub fn window_start(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height || selected < height {
        0
    } else {
        (selected + 1 - height).min(len - height)
    }
}

/// The line index (into `gate_lines_for_height`) of the selected gate.
pub fn selected_gate_line(app: &App, lines: &[GateLine]) -> usize {
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate() {
        if let GateLine::Gate(_) = line {
            if seen == app.gate_selected {
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

pub fn gate_at(app: &App, row: usize, height: usize) -> Option<usize> {
    let lines = gate_lines_for_height(app, height);
    let height = gate_rows(lines.len(), height);
    if row >= height {
        return None;
    }
    let start = window_start(selected_gate_line(app, &lines), lines.len(), height);
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

/// Indices of the selected phase's steps that pass the filter.
pub fn visible_steps(app: &App) -> Vec<usize> {
    let Some(phase) = app.plan.plan.runbook.get(app.phase_selected) else {
        return Vec::new();
    };
    phase
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            matches(
                &app.filter,
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

pub fn step_at(app: &App, row: usize, height: usize) -> Option<usize> {
    let steps = visible_steps(app);
    let start = window_start(app.step_selected, steps.len(), height);
    let target = start + row;
    (target < steps.len()).then_some(target)
}

/// Tab labels for the runbook phases: name, ticked/total, elapsed/budget.
pub fn phase_tabs(app: &App) -> Vec<String> {
    app.plan
        .plan
        .runbook
        .iter()
        .map(|phase| {
            let total = phase.steps.len();
            let done = phase
                .steps
                .iter()
                .filter(|s| app.runbook.is_checked(&s.id()))
                .count();
            let mut label = format!("{} {done}/{total}", phase.phase.value);
            if let Some(budget) = phase.budget {
                let limit = budget.0.as_secs();
                let budget = short_duration(limit);
                match phase_elapsed(app, phase) {
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

/// Time spent in a phase, to its last tick once every step is done or to now while it is
/// under way. It starts when the phase opened: the first phase when the go-live started,
/// a phase with `requires` when the last of them was met, any other at its first tick.
/// None before it opened.
pub fn phase_elapsed(app: &App, phase: &crate::plan::Phase) -> Option<SignedDuration> {
    let ticks: Vec<_> = phase
        .steps
        .iter()
        .filter_map(|s| app.tick(&s.id()).and_then(|t| t.at))
        .collect();
    let first_phase = app
        .plan
        .plan
        .runbook
        .first()
        .is_some_and(|p| p.phase.value == phase.phase.value);
    let opened = if first_phase {
        app.runbook.started_at
    } else if !phase.requires.is_empty() {
        requirements_met_at(app, phase)
    } else {
        None
    };
    let start = opened.into_iter().chain(ticks.iter().copied()).min()?;
    let end = if ticks.len() == phase.steps.len() && !ticks.is_empty() {
        ticks.iter().copied().max().unwrap_or(app.now)
    } else {
        app.now
    };
    Some(end.duration_since(start))
}

/// When the last of a phase's `requires` (whole phases or single steps) was ticked; None
/// while any is open.
fn requirements_met_at(app: &App, phase: &crate::plan::Phase) -> Option<jiff::Timestamp> {
    let tick_of = |id: &str| app.tick(id).and_then(|t| t.at);
    let mut met = None;
    for r in &phase.requires {
        let at = match app
            .plan
            .plan
            .runbook
            .iter()
            .find(|p| p.phase.value == r.value)
        {
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

pub fn phase_at(app: &App, column: u16, _width: u16) -> Option<usize> {
    let mut x = 2usize; // the "▸ " marker
    for (i, label) in phase_tabs(app).iter().enumerate() {
        let w = label.chars().count();
        if (column as usize) < x + w {
            return Some(i);
        }
        x += w + TAB_SEPARATOR.chars().count();
    }
    None
}

/// `41s`, `12m`, `3h`, `2d`: how old a piece of evidence is.
pub fn age(d: SignedDuration) -> String {
    let s = d.as_secs().max(0) as u64;
    short_duration(s)
}

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

/// `hh:mm:ss` for the header clock.
pub fn clock(d: SignedDuration) -> String {
    let s = d.as_secs().max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}
