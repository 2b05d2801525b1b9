//! The load pane of a plan whose `load:` judges a k6 summary file (`from:`): where the
//! numbers came from, the verdict, and each threshold with golive's word and k6's.

use super::{fit, shown_style};
use crate::text::for_terminal as safe;
use crate::tui::app::{App, Shown};
use crate::tui::theme::{Role, Theme};
use ratatui::text::{Line, Span};

pub(super) fn lines<'a>(app: &App, theme: &Theme, from: &str, width: usize) -> Vec<Line<'a>> {
    let muted = |text: String| Line::from(Span::styled(fit(&text, width), theme.fg(Role::Muted)));
    let mut lines = Vec::new();
    let Some(evidence) = app.load_evidence() else {
        lines.push(muted(format!(
            "judges the summary file {}, not read yet (l reads it)",
            safe(from)
        )));
        return lines;
    };
    let verdict = crate::gates::load_verdict(Some(&evidence));
    let shown = Shown::from_status(verdict.status);
    lines.push(Line::from(vec![
        Span::styled(format!("{} ", shown.symbol()), shown_style(theme, shown)),
        Span::styled(
            fit(&safe(&verdict.summary), width.saturating_sub(2)),
            theme.fg(Role::Text),
        ),
    ]));
    if let Some(source) = &evidence.source {
        lines.push(muted(safe(&source.describe()).into_owned()));
        lines.push(Line::from(fit(&safe(&source.figures), width)));
    }
    for t in &evidence.thresholds {
        let shown = Shown::from_status(t.status());
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", shown.symbol()), shown_style(theme, shown)),
            Span::raw(format!("{} {} ", safe(&t.metric), safe(&t.expr))),
            Span::styled(
                fit(
                    &safe(&t.detail()),
                    width.saturating_sub(6 + t.metric.len() + t.expr.len()),
                ),
                theme.fg(Role::Muted),
            ),
        ]));
    }
    lines.push(muted("l reads the file again".into()));
    lines
}
