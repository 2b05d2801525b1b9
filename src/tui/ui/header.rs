//! Plan, context, clock and the GO / NO-GO / UNKNOWN banner with its reason.

use super::fit;
use crate::gates::Verdict;
use crate::tui::app::{App, Connection};
use crate::tui::format;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn banner(verdict: Verdict) -> (&'static str, &'static str, Role) {
    match verdict {
        Verdict::Go => ("✓", "GO", Role::Go),
        Verdict::NoGo => ("✗", "NO-GO", Role::NoGo),
        Verdict::Unknown => ("?", "UNKNOWN", Role::Undecided),
    }
}

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let width = area.width as usize;
    let demo = match (app.demo, app.chaos) {
        (true, true) => " DEMO · simulated cluster · CHAOS ",
        (true, false) => " DEMO · simulated cluster ",
        _ => "",
    };
    let clock = format!("T+{}", format::clock(app.now.duration_since(app.started)));
    let (ctx_label, ctx_style) = match &app.connection {
        Connection::Connecting => ("connecting…".to_string(), theme.fg(Role::Muted)),
        Connection::Connected { context, .. } => (
            format!("ctx {}", crate::text::for_terminal(context)),
            theme.fg(Role::Text),
        ),
        Connection::Failed { error, .. } => (
            format!("✗ no cluster: {}", crate::text::for_terminal(error)),
            theme.bold(Role::Fail),
        ),
    };
    let fixed = " golive · ".len() + 3 + 3 + clock.chars().count() + demo.chars().count() + 1;
    let room = width.saturating_sub(fixed);
    let name_room = (room / 2).max(room.saturating_sub(ctx_label.chars().count()));
    let name = fit(&app.plan.plan.name, name_room.min(room));
    let ctx = fit(&ctx_label, room.saturating_sub(name.chars().count()));
    let mut top = vec![
        Span::styled(" golive", theme.bold(Role::Accent)),
        Span::styled(" · ", theme.fg(Role::Muted)),
        Span::styled(name, theme.bold(Role::Title)),
        Span::styled(" · ", theme.fg(Role::Muted)),
        Span::styled(ctx, ctx_style),
        Span::styled(" · ", theme.fg(Role::Muted)),
        Span::styled(clock, theme.fg(Role::Text)),
    ];
    let used: usize = top.iter().map(|s| s.content.chars().count()).sum();
    if app.demo {
        let gap = width.saturating_sub(used + demo.chars().count());
        top.push(Span::raw(" ".repeat(gap)));
        top.push(Span::styled(
            demo,
            theme.bold(Role::Demo).add_modifier(Modifier::REVERSED),
        ));
    }
    let (symbol, word, role) = banner(app.verdict.0);
    let (label, role, reason) = match &app.decision.overridden {
        // An override never looks like a GO the evidence gave: its own colour, its author
        // and reason, and what the evidence says beside it.
        Some(o) => (
            " ⚠ GO BY OVERRIDE ".to_string(),
            Role::Warn,
            format!(
                "{} at {}: “{}” · evidence says {word}: {}",
                o.by,
                o.at.to_zoned(app.tz.clone()).strftime("%H:%M"),
                o.reason,
                app.verdict.1
            ),
        ),
        None => (format!(" {symbol} {word} "), role, app.verdict.1.clone()),
    };
    let reason = fit(&reason, width.saturating_sub(label.chars().count() + 5));
    let bottom = Line::from(vec![
        Span::raw(" "),
        Span::styled(label, theme.bold(role).add_modifier(Modifier::REVERSED)),
        Span::styled(" · ", theme.fg(Role::Muted)),
        Span::styled(reason, theme.bold(role)),
    ]);
    frame.render_widget(Paragraph::new(vec![Line::from(top), bottom]), area);
}
