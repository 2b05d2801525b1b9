//! One row per gate, grouped: status symbol, id, one-line summary, age of its evidence.

use super::{fit, pad, pane_block, pane_title, shown_style};
use crate::tui::app::{App, Pane, Shown};
use crate::tui::format;
use crate::tui::rows::{self, GateLine};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let counts = [
        Shown::Pass,
        Shown::Warn,
        Shown::Fail,
        Shown::Unknown,
        Shown::Stale,
    ]
    .into_iter()
    .filter_map(|s| {
        let n = app.gates.iter().filter(|g| g.shown == s).count();
        (n > 0).then(|| Span::styled(format!(" {}{n}", s.symbol()), shown_style(theme, s)))
    });
    let mut title = vec![pane_title(theme, app, Pane::Gates, "Gates")];
    title.extend(counts);
    if !app.filter.is_empty() {
        title.push(Span::styled(
            format!(" /{}", app.filter),
            theme.fg(Role::Accent),
        ));
    }
    title.push(Span::raw(" "));
    let block = pane_block(theme, app, Pane::Gates, Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let width = inner.width as usize;
    if app.gates.is_empty() {
        frame.render_widget(
            Paragraph::new("no gates in this plan").style(theme.fg(Role::Muted)),
            inner,
        );
        return;
    }
    let lines = rows::gate_lines_for_height(&app.gates, &app.filter, height);
    if lines.is_empty() {
        let text = format!("no gate matches /{}", app.filter);
        frame.render_widget(Paragraph::new(text).style(theme.fg(Role::Muted)), inner);
        return;
    }
    let selected_line = rows::selected_gate_line(&lines, app.gate_selected);
    let list_height = rows::gate_rows(lines.len(), height);
    let start = rows::window_start(selected_line, lines.len(), list_height);
    let id_width = app
        .gates
        .iter()
        .map(|g| g.verdict.id.chars().count())
        .max()
        .unwrap_or(0)
        .min(width * 45 / 100)
        .max(6);
    let age_width = 4;
    let summary_width = width.saturating_sub(2 + id_width + 1 + 1 + age_width);
    let mut out = Vec::with_capacity(height);
    for (i, line) in lines.iter().enumerate().skip(start).take(list_height) {
        match line {
            GateLine::Header(group) => out.push(Line::from(Span::styled(
                fit(group, width),
                theme
                    .fg(Role::Muted)
                    .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            ))),
            GateLine::Gate(index) => {
                let row = &app.gates[*index];
                let age = match (row.shown, row.as_of) {
                    (Shown::Stale, _) | (_, None) => String::new(),
                    (_, Some(at)) => format::age(app.now.duration_since(at)),
                };
                let mut line = Line::from(vec![
                    Span::styled(
                        format!("{} ", row.shown.symbol()),
                        shown_style(theme, row.shown),
                    ),
                    Span::styled(pad(&row.verdict.id, id_width), theme.fg(Role::Text)),
                    Span::raw(" "),
                    Span::styled(
                        pad(&crate::text::for_terminal(&row.summary), summary_width),
                        summary_style(theme, row.shown),
                    ),
                    Span::raw(" "),
                    Span::styled(format!("{age:>age_width$}"), theme.fg(Role::Muted)),
                ]);
                if i == selected_line {
                    line = line.style(theme.selected(app.focus == Pane::Gates));
                }
                out.push(line);
            }
        }
    }
    if list_height < height {
        out.push(more_line(app, theme, &lines, start, list_height));
    }
    frame.render_widget(Paragraph::new(out), inner);
}

/// "↑ 3 above · ↓ 14 more: ✗1 ✓13", counting hidden gates by status.
fn more_line<'a>(
    app: &App,
    theme: &Theme,
    lines: &[GateLine],
    start: usize,
    shown: usize,
) -> Line<'a> {
    let hidden = |range: &[GateLine]| -> Vec<Shown> {
        range
            .iter()
            .filter_map(|l| match l {
                GateLine::Gate(i) => Some(app.gates[*i].shown),
                GateLine::Header(_) => None,
            })
            .collect()
    };
    let above = hidden(&lines[..start]);
    let below = hidden(&lines[(start + shown).min(lines.len())..]);
    let mut spans = Vec::new();
    for (arrow, list) in [("↑", above), ("↓", below)] {
        if list.is_empty() {
            continue;
        }
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme.fg(Role::Border)));
        }
        spans.push(Span::styled(
            format!("{arrow} {} more", list.len()),
            theme.fg(Role::Muted),
        ));
        for s in [
            Shown::Fail,
            Shown::Stale,
            Shown::Unknown,
            Shown::Warn,
            Shown::Pass,
        ] {
            let n = list.iter().filter(|x| **x == s).count();
            if n > 0 {
                spans.push(Span::styled(
                    format!(" {}{n}", s.symbol()),
                    shown_style(theme, s),
                ));
            }
        }
    }
    Line::from(spans)
}

fn summary_style(theme: &Theme, shown: Shown) -> ratatui::style::Style {
    match shown {
        Shown::Pass => theme.fg(Role::Muted),
        other => shown_style(theme, other),
    }
}
