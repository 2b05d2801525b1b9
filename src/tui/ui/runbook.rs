//! Runbook phases as tabs with elapsed versus budget; steps with checkboxes, and the live
//! status of the gate a step is verified by.

use super::{fit, pad, pane_block, pane_title, shown_style};
use crate::runbook::timing::OVERDUE;
use crate::tui::app::{App, Pane, Shown};
use crate::tui::format;
use crate::tui::keys::Action;
use crate::tui::rows::{self, TAB_SEPARATOR};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Widest a step row gets, checkbox to verification, however wide the pane.
const STEP_ROW_MAX: usize = 110;

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let total: usize = app.plan.plan.runbook.iter().map(|p| p.steps.len()).sum();
    let done = app
        .plan
        .plan
        .runbook
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter(|s| app.runbook.is_checked(&s.id()))
        .count();
    let mut title = vec![
        pane_title(theme, app, Pane::Runbook, "Runbook"),
        Span::styled(format!(" {done}/{total} steps "), theme.fg(Role::Muted)),
    ];
    if let Some(why) = &app.not_recording {
        // Ticks cannot be kept: say so where they are made, for as long as it lasts.
        title.push(Span::styled(
            format!(" ✗ NOT RECORDING: {why} "),
            theme.bold(Role::Fail).add_modifier(Modifier::REVERSED),
        ));
    }
    if !app.plan.plan.signoff.is_empty() {
        title.push(Span::styled("· sign-off ", theme.fg(Role::Muted)));
        for role in &app.plan.plan.signoff {
            let (mark, style) = match app.runbook.signoffs.iter().find(|s| &s.role == role) {
                Some(s) if s.approve => ("✓", theme.fg(Role::Pass)),
                Some(_) => ("✗", theme.bold(Role::Fail)),
                None => ("–", theme.fg(Role::Muted)),
            };
            title.push(Span::styled(format!("{role} {mark} "), style));
        }
    }
    let title = Line::from(title);
    let block = pane_block(theme, app, Pane::Runbook, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    if app.plan.plan.runbook.is_empty() {
        frame.render_widget(
            Paragraph::new("the plan has no runbook").style(theme.fg(Role::Muted)),
            inner,
        );
        return;
    }
    let mut lines = vec![tabs(app, theme, width)];
    let Some(phase) = app.plan.plan.runbook.get(app.phase_selected) else {
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    };
    let visible = rows::visible_steps(phase, &app.filter);
    if visible.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("no step in {} matches /{}", phase.phase.value, app.filter),
            theme.fg(Role::Muted),
        )));
    }
    let list_height = height.saturating_sub(1);
    let start = rows::window_start(app.step_selected, visible.len(), list_height);
    for (pos, index) in visible.iter().enumerate().skip(start).take(list_height) {
        let step = &phase.steps[*index];
        let id = step.id();
        let saving = app.saving.as_deref() == Some(id.as_str());
        let tick = app.tick(&id);
        let (checkbox, box_style) = match (saving, tick) {
            (true, _) => ("[…]", theme.fg(Role::Accent)),
            (false, Some(_)) => ("[x]", theme.bold(Role::Pass)),
            (false, None) => ("[ ]", theme.fg(Role::Text)),
        };
        let mut right: Vec<Span> = Vec::new();
        if let Some(at) = tick.and_then(|t| t.at) {
            let local = at.to_zoned(app.tz.clone());
            right.push(Span::styled(
                local.strftime("%H:%M").to_string(),
                theme.fg(Role::Muted),
            ));
        }
        let waits = if tick.is_none() {
            app.waits_for(step)
        } else {
            Vec::new()
        };
        if let Some(running) = app.command.as_ref().filter(|c| c.step == id) {
            if !right.is_empty() {
                right.push(Span::raw(" "));
            }
            right.push(Span::styled(
                format!(
                    "⏵ running {}",
                    format::age(app.now.duration_since(running.started))
                ),
                theme.bold(Role::Accent),
            ));
        } else if let Some(c) = app
            .runbook
            .steps
            .get(&id)
            .and_then(|s| s.last_command.as_ref())
        {
            if !right.is_empty() {
                right.push(Span::raw(" "));
            }
            match c.exit_code {
                Some(0) => right.push(Span::styled("$ exit 0", theme.fg(Role::Pass))),
                Some(code) => right.push(Span::styled(
                    format!("$ exit {code}"),
                    theme.bold(Role::Fail),
                )),
                None => right.push(Span::styled("$ killed", theme.bold(Role::Fail))),
            }
        }
        if !waits.is_empty() {
            if !right.is_empty() {
                right.push(Span::raw(" "));
            }
            right.push(Span::styled(
                format!("waits for {}", waits.join(", ")),
                theme.fg(Role::Muted),
            ));
        } else if let Some(verify) = &step.0.verify {
            let (shown, words) = app.verify_status(&verify.value);
            let target = match &verify.value {
                crate::plan::Verify::Gate(id) => id.clone(),
                crate::plan::Verify::Held(..) => words,
                other => other.to_string(),
            };
            if !right.is_empty() {
                right.push(Span::raw(" "));
            }
            match tick.and_then(|t| t.verified_by.as_deref()) {
                Some(by) => {
                    right.push(Span::styled(format!("✓ by {by}"), theme.fg(Role::Pass)));
                    // Never unticked silently: a gate that turned since says so here.
                    if shown != Shown::Pass {
                        right.push(Span::styled(
                            format!(" now {}", shown.symbol()),
                            shown_style(theme, shown),
                        ));
                    }
                }
                None if app
                    .runbook
                    .steps
                    .get(&id)
                    .is_some_and(|s| s.unticked_by_hand) =>
                {
                    right.push(Span::styled(
                        "auto off: unticked by hand ",
                        theme.fg(Role::Muted),
                    ));
                    right.push(Span::styled(
                        format!("{} ", shown.symbol()),
                        shown_style(theme, shown),
                    ));
                    right.push(Span::styled(target, theme.fg(Role::Muted)));
                }
                None => {
                    right.push(Span::styled("auto ", theme.fg(Role::Muted)));
                    right.push(Span::styled(
                        format!("{} ", shown.symbol()),
                        shown_style(theme, shown),
                    ));
                    right.push(Span::styled(target, theme.fg(Role::Muted)));
                }
            }
        }
        let right_w: usize = right.iter().map(|s| s.content.chars().count()).sum();
        let right_w = right_w.min(width * 45 / 100);
        // On wide screens keep the step's status within reach of its text.
        let row_w = width.min(STEP_ROW_MAX);
        let text_w = row_w.saturating_sub(4 + right_w + 1);
        let text_style = if tick.is_some() {
            theme.fg(Role::Muted)
        } else {
            theme.fg(Role::Text)
        };
        let mut spans = vec![
            Span::styled(checkbox, box_style),
            Span::raw(" "),
            Span::styled(
                pad(&crate::text::for_terminal(&step.0.text), text_w),
                text_style,
            ),
            Span::raw(" "),
        ];
        if right_w
            < right
                .iter()
                .map(|s| s.content.chars().count())
                .sum::<usize>()
        {
            let joined: String = right.iter().map(|s| s.content.as_ref()).collect();
            spans.push(Span::styled(fit(&joined, right_w), theme.fg(Role::Muted)));
        } else {
            spans.extend(right);
        }
        let mut line = Line::from(spans);
        if pos == app.step_selected {
            line = line.style(theme.selected(app.focus == Pane::Runbook));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn tabs<'a>(app: &App, theme: &Theme, width: usize) -> Line<'a> {
    let labels = app.phase_tabs();
    let full: usize = 2
        + labels.iter().map(|l| l.chars().count()).sum::<usize>()
        + TAB_SEPARATOR.chars().count() * labels.len().saturating_sub(1);
    let selected_style = theme.bold(Role::Accent).add_modifier(Modifier::REVERSED);
    if full <= width {
        let mut spans = vec![Span::styled("▸ ", theme.fg(Role::Accent))];
        for (i, label) in labels.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(TAB_SEPARATOR, theme.fg(Role::Border)));
            }
            let style = if i == app.phase_selected {
                selected_style
            } else if label.ends_with(OVERDUE) {
                theme.bold(Role::Warn)
            } else {
                theme.fg(Role::Muted)
            };
            spans.push(Span::styled(label, style));
        }
        return Line::from(spans);
    }
    // Too narrow for every tab: the current phase, its position, and how to move.
    let keys = format!(
        " {}/{} to switch",
        app.keymap.label(Action::PrevPhase),
        app.keymap.label(Action::NextPhase)
    );
    let position = format!("‹{}/{}› ", app.phase_selected + 1, labels.len());
    let label = labels.get(app.phase_selected).cloned().unwrap_or_default();
    let room = width.saturating_sub(position.chars().count() + keys.chars().count());
    Line::from(vec![
        Span::styled(position, theme.fg(Role::Accent)),
        Span::styled(fit(&label, room.max(10)), selected_style),
        Span::styled(keys, theme.fg(Role::Muted)),
    ])
}
