//! The deploy view (`d`, in the load test's place): one line per workload of the plan's
//! `rollout` checks (kind/name, revision old → new, a bar of updated and available against
//! desired, state, age), the first broken pod of a failing one with the way back, and the
//! newest Warning events of the plan's `warning_events` checks.

use super::{fit, pane_block, pane_title};
use crate::gates::Status;
use crate::gates::rollout::{Rollout, RolloutState};
use crate::text::for_terminal;
use crate::tui::app::{App, Pane};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

fn role(status: Status) -> Role {
    match status {
        Status::Pass => Role::Pass,
        Status::Warn => Role::Warn,
        Status::Unknown => Role::Unknown,
        Status::Fail => Role::Fail,
    }
}

/// `███▒▒░░░░░`: updated and available (█), updated only (▒), not yet (░).
fn bar(r: &Rollout, width: usize) -> String {
    let desired = r.desired.max(1) as usize;
    let cells = |n: i64| (n.clamp(0, r.desired.max(1)) as usize * width).div_ceil(desired);
    let available = cells(r.available.min(r.updated));
    let updated = cells(r.updated).max(available);
    let mut out = "█".repeat(available);
    out.push_str(&"▒".repeat(updated - available));
    out.push_str(&"░".repeat(width.saturating_sub(updated)));
    out
}

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let rollouts = app.rollouts();
    let worst = Status::worst(rollouts.iter().map(Rollout::status));
    let (state, state_role) = match worst {
        None => ("no fresh rollout evidence".to_string(), Role::Muted),
        Some(Status::Pass) => ("✓ rolled out".to_string(), Role::Pass),
        Some(Status::Warn) => ("! rolled out, look".to_string(), Role::Warn),
        Some(Status::Unknown) => ("◌ rolling out".to_string(), Role::Accent),
        Some(Status::Fail) => ("✗ failing".to_string(), Role::Fail),
    };
    let title = Line::from(vec![
        pane_title(theme, app, Pane::Load, "Deploy"),
        Span::raw(" "),
        Span::styled(state, theme.bold(state_role)),
        Span::raw(" "),
    ]);
    let block = pane_block(theme, app, Pane::Load, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if rollouts.is_empty() {
        let text = if app
            .plan
            .plan
            .gates
            .iter()
            .flat_map(|g| &g.checks)
            .any(|c| matches!(c, crate::plan::Check::Rollout(_)))
        {
            "Waiting for fresh evidence of the workloads the plan's rollout checks follow."
        } else {
            "The plan has no `rollout` check, so golive follows no rollout."
        };
        lines.push(Line::from(Span::styled(text, theme.fg(Role::Muted))));
    }
    let wide = width >= 60;
    let selected = app.deploy_selected.min(rollouts.len().saturating_sub(1));
    for (i, r) in rollouts.iter().enumerate() {
        let status = r.status();
        let name = if wide {
            format!("{}/{}", r.kind.kubectl(), r.name)
        } else {
            r.name.clone()
        };
        let revision = if wide {
            r.revision_change()
        } else {
            r.revision_change().replace("rev ", "").replace(" → ", "→")
        };
        let word = r.word();
        let age = r.age(app.now).map(|a| format!(" {a}")).unwrap_or_default();
        let head = format!("{} {} {revision} ", status.symbol(), for_terminal(&name));
        let tail = format!(
            " {}/{} upd {} avl {word}{age}",
            r.updated, r.desired, r.available
        );
        let room = width.saturating_sub(head.chars().count() + tail.chars().count());
        let bar = match room {
            r_ if r_ >= 11 => bar(r, 10),
            r_ if r_ >= 6 => bar(r, room - 1),
            _ => String::new(),
        };
        let tail = if bar.is_empty() {
            tail.trim_start().to_string()
        } else {
            format!(" {}", tail.trim_start())
        };
        let head_style = if app.focus == Pane::Load && i == selected {
            theme.fg(role(status)).patch(theme.selected(true))
        } else {
            theme.fg(role(status))
        };
        lines.push(Line::from(vec![
            Span::styled(fit(&head, width), head_style),
            Span::styled(bar, theme.fg(Role::Gauge)),
            Span::styled(
                fit(&tail, width.saturating_sub(head.chars().count())),
                theme.fg(role(status)),
            ),
        ]));
        let first = r.problems.iter().find(|p| p.hard).or(r.problems.first());
        if let Some(p) = first {
            lines.push(Line::from(Span::styled(
                fit(
                    &for_terminal(&format!("  ✗ pod {} {}", p.pod, p.text())),
                    width,
                ),
                theme.fg(Role::Fail),
            )));
        } else if r.state == RolloutState::Paused {
            lines.push(Line::from(Span::styled(
                "  paused: kubectl rollout resume to go on",
                theme.fg(Role::Warn),
            )));
        }
        if status == Status::Fail
            && let Some(undo) = r.undo_command()
        {
            lines.push(Line::from(vec![
                Span::styled("  ↶ u: ", theme.bold(Role::Accent)),
                Span::styled(
                    fit(&for_terminal(&undo), width.saturating_sub(7)),
                    theme.fg(Role::Text),
                ),
            ]));
        }
        for (container, old, new) in r.images.iter().take(1) {
            lines.push(Line::from(Span::styled(
                fit(
                    &for_terminal(&format!("  {container}: {old} → {new}")),
                    width,
                ),
                theme.fg(Role::Muted),
            )));
        }
    }
    let warnings = warnings(app);
    if !warnings.is_empty() {
        lines.push(Line::from(Span::styled(
            "Warning events",
            theme.bold(Role::Title),
        )));
        for w in warnings {
            lines.push(Line::from(Span::styled(
                fit(&for_terminal(&w), width),
                theme.fg(Role::Warn),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The newest Warning event groups of the plan's `warning_events` checks, as judged.
fn warnings(app: &App) -> Vec<String> {
    let moments = crate::runbook::timing::moments(&app.plan.plan.runbook, &app.runbook);
    let mut out = Vec::new();
    for check in app.plan.plan.gates.iter().flat_map(|g| &g.checks) {
        let crate::plan::Check::WarningEvents(c) = check else {
            continue;
        };
        let from = crate::gates::events::moment(&c.since, &moments);
        for g in crate::gates::events::warnings(c, &app.view, from)
            .iter()
            .take(3)
        {
            out.push(format!(
                "{} ×{} {}: {}",
                g.reason, g.count, g.object, g.note
            ));
        }
    }
    out
}
