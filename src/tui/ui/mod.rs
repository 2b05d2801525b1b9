//! Drawing: a pure function of `&App` and the theme. One pane, one file.

mod deploy;
mod detail;
mod footer;
mod gates;
mod header;
pub(super) mod load;
mod load_file;
mod monitor;
mod overlay;
mod runbook;

use super::app::{App, Overlay, Pane, Shown};
use super::layout::{MIN_HEIGHT, MIN_WIDTH};
use super::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Wrap};

pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let areas = app.areas_for(area.width, area.height);
    if areas.too_small {
        too_small(frame, app, theme, area);
        return;
    }
    header::render(frame, app, theme, areas.header);
    gates::render(frame, app, theme, areas.gates);
    if app.monitor_view {
        monitor::render(frame, app, theme, areas.load);
    } else if app.deploy_view {
        deploy::render(frame, app, theme, areas.load);
    } else {
        load::render(frame, app, theme, areas.load);
    }
    runbook::render(frame, app, theme, areas.runbook);
    detail::render(frame, app, theme, areas.detail);
    footer::render(frame, app, theme, areas.footer);
    match &app.overlay {
        Overlay::Help => overlay::help(frame, app, theme, area),
        Overlay::ConfirmQuit => overlay::confirm_quit(frame, theme, area),
        Overlay::ConfirmCommand {
            command, timeout, ..
        } => overlay::confirm_command(frame, app, theme, area, command, *timeout),
        Overlay::Form(form) => overlay::form(frame, theme, area, form),
        Overlay::None => {}
    }
}

fn too_small(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let (symbol, word, role) = header::banner(app.verdict.0);
    let lines = vec![
        Line::from(Span::styled(
            format!("golive needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT};"),
            theme.bold(Role::Text),
        )),
        Line::from(format!(
            "this one is {}×{}. Enlarge the window or use a smaller font.",
            area.width, area.height
        )),
        Line::from(""),
        Line::from(vec![
            Span::styled(format!("{symbol} {word}"), theme.bold(role)),
            Span::raw(format!(" · {}", app.verdict.1)),
        ]),
    ];
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let rect = Rect::new(
        area.x,
        area.y + top,
        area.width,
        area.height.saturating_sub(top),
    );
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

pub(super) fn shown_role(shown: Shown) -> Role {
    match shown {
        Shown::Pass => Role::Pass,
        Shown::Warn => Role::Warn,
        Shown::Fail => Role::Fail,
        Shown::Unknown => Role::Unknown,
        Shown::Stale => Role::Stale,
    }
}

pub(super) fn shown_style(theme: &Theme, shown: Shown) -> Style {
    let style = theme.fg(shown_role(shown));
    if shown == Shown::Fail {
        style.add_modifier(Modifier::BOLD)
    } else {
        style
    }
}

/// A bordered pane; the focused one has a heavy border in the focus colour.
pub(super) fn pane_block<'a>(theme: &Theme, app: &App, pane: Pane, title: Line<'a>) -> Block<'a> {
    let focused = app.focus == pane;
    let (border, kind) = if focused {
        (theme.fg(Role::BorderFocus), BorderType::Thick)
    } else {
        (theme.fg(Role::Border), BorderType::Plain)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(kind)
        .border_style(border)
        .title(title)
}

pub(super) fn pane_title(theme: &Theme, app: &App, pane: Pane, text: &str) -> Span<'static> {
    let style = if app.focus == pane {
        theme.bold(Role::Title).add_modifier(Modifier::REVERSED)
    } else {
        theme.bold(Role::Title)
    };
    Span::styled(format!(" {text} "), style)
}

/// Cuts `text` to `width` characters, ending in `…` when it had to cut.
pub(super) fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

pub(super) fn pad(text: &str, width: usize) -> String {
    let t = fit(text, width);
    let n = t.chars().count();
    format!("{t}{}", " ".repeat(width.saturating_sub(n)))
}

/// Puts groups of spans on lines of at most `width` characters, two spaces apart,
/// starting a new line rather than splitting a group.
pub(super) fn flow<'a>(groups: Vec<Vec<Span<'a>>>, width: usize) -> Vec<Line<'a>> {
    let mut lines: Vec<Line<'a>> = Vec::new();
    let mut current: Vec<Span<'a>> = Vec::new();
    let mut used = 0usize;
    for group in groups {
        let w: usize = group.iter().map(|s| s.content.chars().count()).sum();
        if used > 0 && used + 2 + w > width {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        if used > 0 {
            current.push(Span::raw("  "));
            used += 2;
        }
        used += w;
        current.extend(group);
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}
