//! The keys that apply now, generated from the keymap table, and the status line.

use super::fit;
use crate::tui::app::{App, LoadState, Pane, Severity};
use crate::tui::keys::{Action, BINDINGS, Scope};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const DROP_ORDER: &[Action] = &[
    Action::Report,
    Action::Filter,
    Action::NextPhase,
    Action::Details,
    Action::FocusNext,
];

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let width = area.width as usize;
    if app.filter_editing {
        let line = Line::from(vec![
            Span::styled(" filter /", theme.bold(Role::Accent)),
            Span::styled(format!("{}▏", app.filter), theme.fg(Role::Text)),
            Span::styled("  enter keep · esc clear", theme.fg(Role::Muted)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut items: Vec<(Action, String)> = Vec::new();
    for b in BINDINGS {
        if b.footer.is_empty() {
            continue;
        }
        let applies = match b.scope {
            Scope::Everywhere => true,
            Scope::Lists => matches!(app.focus, Pane::Gates | Pane::Runbook),
            Scope::Runbook => app.focus == Pane::Runbook,
        };
        if !applies {
            continue;
        }
        let label = match (b.action, &app.load) {
            (Action::Load, LoadState::Running { .. }) => "stop load",
            (Action::Details, _) if app.focus == Pane::Detail => "back",
            _ => b.footer,
        };
        items.push((b.action, format!("{} {label}", app.keymap.label(b.action))));
    }
    // Narrow terminals drop the least urgent keys first; `?` lists them all.
    let text_width = |items: &[(Action, String)]| -> usize {
        1 + items.iter().map(|(_, t)| t.chars().count()).sum::<usize>()
            + 3 * items.len().saturating_sub(1)
    };
    for drop in DROP_ORDER {
        if text_width(&items) <= width {
            break;
        }
        items.retain(|(a, _)| a != drop);
    }
    let mut spans = vec![Span::raw(" ")];
    for (i, (action, text)) in items.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.fg(Role::Border)));
        }
        let key = app.keymap.label(*action);
        let rest = text[key.len()..].to_string();
        spans.push(Span::styled(key, theme.bold(Role::Accent)));
        spans.push(Span::styled(rest, theme.fg(Role::Muted)));
    }
    let keys_width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if let Some(status) = app.current_status() {
        let style = match status.severity {
            Severity::Info => theme.fg(Role::Text),
            Severity::Warning => theme.bold(Role::Warn),
            Severity::Error => theme.bold(Role::Fail),
        };
        let symbol = match status.severity {
            Severity::Info => "",
            Severity::Warning => "! ",
            Severity::Error => "✗ ",
        };
        let text = format!("{symbol}{} ", crate::text::for_terminal(&status.text));
        let room = width.saturating_sub(keys_width + 2);
        if text.chars().count() <= room {
            spans.push(Span::raw(
                " ".repeat(width - keys_width - text.chars().count()),
            ));
            spans.push(Span::styled(text, style));
        } else {
            // The message matters more than the key list; `?` still opens all of them.
            let help = format!("{} help", app.keymap.label(Action::Help));
            let room = width.saturating_sub(help.chars().count() + 4);
            spans = vec![
                Span::raw(" "),
                Span::styled(app.keymap.label(Action::Help), theme.bold(Role::Accent)),
                Span::styled(" help", theme.fg(Role::Muted)),
                Span::styled(" · ", theme.fg(Role::Border)),
                Span::styled(fit(&text, room), style),
            ];
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
