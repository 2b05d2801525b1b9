//! The `?` help (generated from the keymap table), the quit and command confirmations,
//! and the sign-off / override / note forms.

use crate::tui::app::App;
use crate::tui::form::{Field, Form};
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
    // Narrow screens drop the config names, short ones the legend: every key stays listed.
    let full_w = 1 + key_w + 2 + help_w + 2 + config_w + 2;
    let show_config = full_w <= area.width as usize;
    let mut lines = Vec::new();
    // Start-up warnings first: they are the one place these stay visible.
    if !app.warnings.is_empty() {
        lines.push(Line::from(Span::styled(
            " Start-up warnings:",
            theme.bold(Role::Warn),
        )));
        for w in &app.warnings {
            lines.push(Line::from(Span::styled(
                format!(" ! {w}"),
                theme.fg(Role::Warn),
            )));
        }
        lines.push(Line::from(""));
    }
    let log_line = usize::from(app.log_file.is_some());
    let legend = lines.len() + BINDINGS.len() + 6 + 2 + log_line <= area.height as usize;
    for b in BINDINGS {
        let mut spans = vec![
            Span::styled(
                format!(" {:<key_w$}  ", app.keymap.labels(b.action)),
                theme.bold(Role::Accent),
            ),
            Span::styled(format!("{:<help_w$}  ", b.help), theme.fg(Role::Text)),
        ];
        if show_config {
            spans.push(Span::styled(b.config, theme.fg(Role::Muted)));
        }
        lines.push(Line::from(spans));
    }
    if legend {
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
    }
    if let Some(log) = &app.log_file {
        // Where a failing watch or a probe timeout can be read after the fact.
        lines.push(Line::from(Span::styled(
            format!(
                " Log: {}",
                crate::text::for_terminal(&log.display().to_string())
            ),
            theme.fg(Role::Muted),
        )));
    }
    lines.push(Line::from(Span::styled(
        " Any key closes this help.",
        theme.fg(Role::Muted),
    )));
    let width = if show_config {
        full_w
    } else {
        full_w - config_w
    } as u16;
    // Rows after wrapping at the inner width, so long warnings do not push the end off.
    let inner = width.min(area.width).saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let rect = centered(area, width, rows.min(u16::MAX as usize) as u16 + 2);
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

pub(super) fn confirm_command(
    frame: &mut Frame,
    app: &App,
    theme: &Theme,
    area: Rect,
    command: &str,
    timeout: std::time::Duration,
) {
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "?".into());
    let mut lines = vec![
        Line::from(Span::styled(
            "Run this command now?",
            theme.bold(Role::Warn),
        )),
        Line::from(""),
        Line::from(Span::styled(
            format!("$ {command}"),
            theme.bold(Role::Accent),
        )),
        Line::from(""),
        Line::from(vec![
            Span::styled("shell  ", theme.fg(Role::Muted)),
            Span::raw(format!("sh -c, in {cwd}")),
        ]),
        Line::from(vec![
            Span::styled("limit  ", theme.fg(Role::Muted)),
            Span::raw(format!(
                "killed after {}",
                crate::tui::format::short_duration(timeout.as_secs())
            )),
        ]),
    ];
    let context = app.context();
    if !context.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("watch  ", theme.fg(Role::Muted)),
            Span::raw(format!(
                "the cockpit watches context {context}; kubectl uses its own current context"
            )),
        ]));
    }
    lines.push(Line::from(Span::styled(
        "Its start, exit code and last output go into the journal.",
        theme.fg(Role::Muted),
    )));
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", theme.bold(Role::Accent)),
        Span::raw(" run it   "),
        Span::styled("any other key", theme.bold(Role::Accent)),
        Span::raw(" cancel"),
    ]));
    let width = (lines.iter().map(|l| l.width()).max().unwrap_or(40) + 4)
        .max(50)
        .min(area.width as usize);
    let inner = width.saturating_sub(2).max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let rect = centered(area, width as u16, rows as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(overlay_block(theme, " run command? "))
            .wrap(Wrap { trim: false }),
        rect,
    );
}

pub(super) fn form(frame: &mut Frame, theme: &Theme, area: Rect, form: &Form) {
    let width = (form
        .intro
        .iter()
        .map(|l| l.chars().count())
        .chain(form.fields.iter().map(|f| f.label().len() + 40))
        .max()
        .unwrap_or(40)
        + 4)
    .max(56)
    .min((area.width as usize).min(110));
    let inner = width.saturating_sub(2).max(1);
    // The fields must stay on screen: the intro gets what is left, one row per line once
    // space is short, and says how much it left out.
    let fixed = form.fields.len() + 4 + usize::from(form.error.is_some());
    let room = (area.height as usize).saturating_sub(fixed + 2);
    let wrapped: usize = form
        .intro
        .iter()
        .map(|l| l.chars().count().max(1).div_ceil(inner))
        .sum();
    let mut lines: Vec<Line> = Vec::new();
    if wrapped <= room {
        for l in &form.intro {
            lines.push(Line::from(Span::styled(l.clone(), theme.fg(Role::Text))));
        }
    } else {
        let shown = if form.intro.len() <= room {
            form.intro.len()
        } else {
            room.saturating_sub(1)
        };
        for l in form.intro.iter().take(shown) {
            lines.push(Line::from(Span::styled(
                super::fit(l, inner),
                theme.fg(Role::Text),
            )));
        }
        if shown < form.intro.len() {
            lines.push(Line::from(Span::styled(
                format!("  … {} more, all recorded", form.intro.len() - shown),
                theme.fg(Role::Muted),
            )));
        }
    }
    lines.push(Line::from(""));
    let label_w = form
        .fields
        .iter()
        .map(|f| f.label().chars().count())
        .max()
        .unwrap_or(6);
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let marker = if focused { "▸ " } else { "  " };
        let mut spans = vec![
            Span::styled(marker, theme.fg(Role::Accent)),
            Span::styled(
                format!("{:<label_w$}  ", field.label()),
                if focused {
                    theme.bold(Role::Title)
                } else {
                    theme.fg(Role::Muted)
                },
            ),
        ];
        match field {
            Field::Text { value, min, .. } => {
                spans.push(Span::styled(format!(" {value}"), theme.fg(Role::Text)));
                if focused {
                    spans.push(Span::styled("▏", theme.bold(Role::Accent)));
                }
                if value.is_empty() && *min == 0 {
                    spans.push(Span::styled(" (optional)", theme.fg(Role::Muted)));
                }
            }
            Field::Choice {
                options, selected, ..
            } => {
                for (j, option) in options.iter().enumerate() {
                    let style = if j == *selected {
                        theme
                            .bold(Role::Accent)
                            .add_modifier(ratatui::style::Modifier::REVERSED)
                    } else {
                        theme.fg(Role::Muted)
                    };
                    spans.push(Span::styled(format!(" {option} "), style));
                    spans.push(Span::raw(" "));
                }
                if focused {
                    spans.push(Span::styled("←/→", theme.fg(Role::Muted)));
                }
            }
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(""));
    if let Some(error) = &form.error {
        lines.push(Line::from(Span::styled(
            format!("✗ {error}"),
            theme.bold(Role::Fail),
        )));
    }
    lines.push(Line::from(Span::styled(
        "tab/↑↓ move · enter next, on the last field record it · esc cancel",
        theme.fg(Role::Muted),
    )));
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let rect = centered(area, width as u16, rows as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(overlay_block(theme, &form.title))
            .wrap(Wrap { trim: false }),
        rect,
    );
}
