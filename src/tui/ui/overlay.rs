//! The `?` help (generated from the keymap table) and the quit confirmation.

use crate::tui::app::App;
use crate::tui::keys::BINDINGS;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn overlay_block<'a>(theme: &Theme, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.fg(Role::BorderFocus))
        .title(Span::styled(title, theme.bold(Role::Title)))
}

pub(super) fn help(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let key_w = BINDINGS
        .iter()
        .map(|b| app.keymap.labels(b.action).chars().count())
        .max()
        .unwrap_or(4);
    let help_w = BINDINGS
        .iter()
        .map(|b| b.help.chars().count())
        .max()
        .unwrap_or(40);
    let config_w = BINDINGS.iter().map(|b| b.config.len()).max().unwrap_or(10);
    let mut lines = Vec::new();
    for b in BINDINGS {
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {:<key_w$}  ", app.keymap.labels(b.action)),
                theme.bold(Role::Accent),
            ),
            Span::styled(format!("{:<help_w$}  ", b.help), theme.fg(Role::Text)),
            Span::styled(b.config, theme.fg(Role::Muted)),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled(" ✓ pass  ", theme.fg(Role::Pass)),
        Span::styled("! warn  ", theme.fg(Role::Warn)),
        Span::styled("✗ fail  ", theme.fg(Role::Fail)),
        Span::styled("? unknown  ", theme.fg(Role::Unknown)),
        Span::styled("◌ stale (evidence can't be trusted)", theme.fg(Role::Stale)),
    ]));
    lines.push(Line::from(Span::styled(
        " Rebind in config.toml: [keys] toggle = \"x\" (names in the right column).",
        theme.fg(Role::Muted),
    )));
    lines.push(Line::from(Span::styled(
        " Mouse: click a pane to focus it, a row to select it.",
        theme.fg(Role::Muted),
    )));
    lines.push(Line::from(Span::styled(
        " Any key closes this help.",
        theme.fg(Role::Muted),
    )));
    let width = (1 + key_w + 2 + help_w + 2 + config_w + 2) as u16;
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(overlay_block(theme, " golive keys "))
            .wrap(Wrap { trim: false }),
        rect,
    );
}

pub(super) fn confirm_quit(frame: &mut Frame, theme: &Theme, area: Rect) {
    let lines = vec![
        Line::from(Span::styled(
            "A load test is running.",
            theme.bold(Role::Warn),
        )),
        Line::from("Stop it and quit golive?"),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.bold(Role::Accent)),
            Span::raw(" stop and quit   "),
            Span::styled("any other key", theme.bold(Role::Accent)),
            Span::raw(" keep running"),
        ]),
    ];
    let rect = centered(area, 50, 6);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .block(overlay_block(theme, " quit? ")),
        rect,
    );
}
