//! The selected gate's checks, evidence and fixes; the selected step's command and notes;
//! or the load test's full configuration and counters.

use super::{pane_block, pane_title, shown_style};
use crate::text::for_terminal;
use crate::tui::app::{App, LoadState, Pane, Shown};
use crate::tui::format::{self, measured};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// Evidence lines shown per check; the rest is counted.
const EVIDENCE_LINES: usize = 40;

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let (subject, lines) = match app.subject {
        Pane::Runbook => step(app, theme),
        Pane::Load if app.deploy_view => workload(app, theme),
        Pane::Load => load(app, theme),
        Pane::Gates | Pane::Detail => gate(app, theme),
    };
    let title = Line::from(vec![
        pane_title(theme, app, Pane::Detail, "Details"),
        Span::styled(format!(" {subject} "), theme.fg(Role::Muted)),
    ]);
    let block = pane_block(theme, app, Pane::Detail, title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll, 0)),
        area,
    );
}

fn gate<'a>(app: &App, theme: &Theme) -> (String, Vec<Line<'a>>) {
    let Some(row) = app.selected_gate() else {
        return (
            "".into(),
            vec![Line::from(Span::styled(
                "no gate selected",
                theme.fg(Role::Muted),
            ))],
        );
    };
    let v = &row.verdict;
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} {} ", row.shown.symbol(), row.shown.word()),
            shown_style(theme, row.shown),
        ),
        Span::styled(v.id.clone(), theme.bold(Role::Text)),
        Span::styled(format!(" — {}", v.title), theme.fg(Role::Text)),
    ])];
    let age = match row.as_of {
        Some(at) if row.shown == Shown::Stale => format!(
            "last evidence {} ago; its watch is failing",
            format::age(app.now.duration_since(at))
        ),
        Some(at) => format!(
            "evidence last changed {} ago; watches live",
            format::age(app.now.duration_since(at))
        ),
        None => "no evidence yet".into(),
    };
    lines.push(Line::from(Span::styled(
        format!("group {} · {age}", v.group),
        theme.fg(Role::Muted),
    )));
    if let crate::tui::app::Connection::Failed { error, .. } = &app.connection {
        lines.push(Line::from(Span::styled(
            format!(
                "cluster connection failed: {}",
                crate::text::for_terminal(error)
            ),
            theme.bold(Role::Fail),
        )));
    } else if row.shown == Shown::Stale || row.summary != v.summary {
        lines.push(Line::from(Span::styled(
            crate::text::for_terminal(&row.summary).into_owned(),
            shown_style(theme, row.shown),
        )));
    }
    for check in &v.checks {
        let shown = Shown::from_status(check.status);
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", shown.symbol()), shown_style(theme, shown)),
            Span::styled(format!("{}: ", check.kind), theme.fg(Role::Muted)),
            Span::styled(
                crate::text::for_terminal(&check.summary).into_owned(),
                theme.fg(Role::Text),
            ),
        ]));
        for e in check.evidence.iter().take(EVIDENCE_LINES) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("    {}: ", crate::text::for_terminal(&e.object)),
                    theme.fg(Role::Muted),
                ),
                Span::styled(
                    crate::text::for_terminal(&e.detail).into_owned(),
                    theme.fg(Role::Text),
                ),
            ]));
        }
        if check.evidence.len() > EVIDENCE_LINES {
            lines.push(Line::from(Span::styled(
                format!(
                    "    … {} more (golive check --verbose lists all)",
                    check.evidence.len() - EVIDENCE_LINES
                ),
                theme.fg(Role::Muted),
            )));
        }
        if let Some(fix) = &check.fix {
            lines.push(Line::from(vec![
                Span::styled("    fix: ", theme.bold(Role::Accent)),
                Span::styled(
                    crate::text::for_terminal(fix).into_owned(),
                    theme.fg(Role::Accent),
                ),
            ]));
        }
    }
    (format!("gate {}", v.id), lines)
}

fn step<'a>(app: &App, theme: &Theme) -> (String, Vec<Line<'a>>) {
    let Some(step) = app.selected_step() else {
        return (
            "".into(),
            vec![Line::from(Span::styled(
                "no step selected",
                theme.fg(Role::Muted),
            ))],
        );
    };
    let spec = &step.0;
    let id = step.id();
    let phase = app
        .plan
        .plan
        .runbook
        .get(app.phase_selected)
        .map(|p| p.phase.value.clone())
        .unwrap_or_default();
    let tick = app.tick(&id);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            if tick.is_some() { "[x] " } else { "[ ] " },
            theme.bold(Role::Text),
        ),
        Span::styled(spec.text.clone(), theme.bold(Role::Text)),
    ])];
    lines.push(Line::from(Span::styled(
        format!("phase {phase} · step {id}"),
        theme.fg(Role::Muted),
    )));
    match tick {
        Some(t) => lines.push(Line::from(Span::styled(
            format!(
                "ticked {} by {} (in the journal)",
                t.at.map(|at| at
                    .to_zoned(app.tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z")
                    .to_string())
                    .unwrap_or_default(),
                t.by.as_deref().unwrap_or("unknown"),
            ),
            theme.fg(Role::Pass),
        ))),
        None => lines.push(Line::from(Span::styled(
            "not ticked",
            theme.fg(Role::Muted),
        ))),
    }
    if let Some(owner) = &spec.owner {
        lines.push(Line::from(vec![
            Span::styled("owner ", theme.fg(Role::Muted)),
            Span::raw(owner.clone()),
        ]));
    }
    if let Some(verify) = &spec.verify {
        let (shown, target) = app.verify_status(&verify.value);
        lines.push(Line::from(vec![
            Span::styled("verified by ", theme.fg(Role::Muted)),
            Span::styled(
                format!("{} {} ", shown.symbol(), shown.word()),
                shown_style(theme, shown),
            ),
            Span::styled(target, theme.fg(Role::Text)),
        ]));
        match tick.filter(|t| t.verified_by.is_some()) {
            Some(t) => {
                lines.push(Line::from(Span::styled(
                    "  ticked by golive when it passed, on this evidence:",
                    theme.fg(Role::Muted),
                )));
                for e in &t.evidence {
                    lines.push(Line::from(Span::raw(format!("    {e}"))));
                }
            }
            None => lines.push(Line::from(Span::styled(
                "  (ticks itself once this passes and its requirements are done)",
                theme.fg(Role::Muted),
            ))),
        }
    }
    let recorded = app.runbook.steps.get(&id);
    if let Some(command) = &spec.command {
        let run = app.keymap.label(crate::tui::keys::Action::RunCommand);
        let copy = app.keymap.label(crate::tui::keys::Action::CopyCommand);
        lines.push(Line::from(Span::styled(
            format!("command ({run} runs it after you confirm, {copy} copies it):"),
            theme.fg(Role::Muted),
        )));
        lines.push(Line::from(Span::styled(
            format!("  $ {command}"),
            theme.fg(Role::Accent),
        )));
        let when =
            |at: jiff::Timestamp| at.to_zoned(app.tz.clone()).strftime("%H:%M:%S").to_string();
        if let Some(running) = app.command.as_ref().filter(|c| c.step == id) {
            lines.push(Line::from(Span::styled(
                format!(
                    "  ⏵ running for {} (killed after {})",
                    format::age(app.now.duration_since(running.started)),
                    format::short_duration(running.timeout.as_secs())
                ),
                theme.bold(Role::Accent),
            )));
            for l in running.output.iter() {
                lines.push(Line::from(format!(
                    "  │ {}",
                    crate::text::command_output(l)
                )));
            }
        } else if let Some((at, by, _)) = recorded.and_then(|r| r.command_started.as_ref()) {
            lines.push(Line::from(Span::styled(
                format!(
                    "  started {} by {by}; no result recorded (golive stopped while it ran)",
                    when(*at)
                ),
                theme.bold(Role::Warn),
            )));
        } else if let Some(c) = recorded.and_then(|r| r.last_command.as_ref()) {
            let (text, role) = match c.exit_code {
                Some(0) => ("exit 0".to_string(), Role::Pass),
                Some(code) => (format!("exit {code}"), Role::Fail),
                None => ("killed, no exit code".to_string(), Role::Fail),
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "  ran {} by {}, {} · ",
                        when(c.at),
                        c.by,
                        format::age(jiff::SignedDuration::from_millis(c.duration_ms as i64))
                    ),
                    theme.fg(Role::Muted),
                ),
                Span::styled(text, theme.bold(role)),
            ]));
            for l in c.output_tail.lines() {
                lines.push(Line::from(format!(
                    "  │ {}",
                    crate::text::command_output(l)
                )));
            }
        }
    }
    if !spec.requires.is_empty() || tick.is_none() {
        let waits = app.waits_for(step);
        if !waits.is_empty() {
            lines.push(Line::from(vec![
                Span::styled("waits for ", theme.fg(Role::Warn)),
                Span::raw(waits.join(", ")),
                Span::styled(" (requires: done first)", theme.fg(Role::Muted)),
            ]));
        } else if !spec.requires.is_empty() {
            let req: Vec<String> = spec.requires.iter().map(|r| r.value.clone()).collect();
            lines.push(Line::from(vec![
                Span::styled("requires ", theme.fg(Role::Muted)),
                Span::raw(req.join(", ")),
                Span::styled(" ✓ done", theme.fg(Role::Pass)),
            ]));
        }
    }
    for (at, by, text) in recorded.map(|r| r.notes.as_slice()).unwrap_or(&[]) {
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "note {} {}: ",
                    at.to_zoned(app.tz.clone()).strftime("%H:%M"),
                    crate::text::for_terminal(by)
                ),
                theme.fg(Role::Muted),
            ),
            Span::raw(crate::text::for_terminal(text).into_owned()),
        ]));
    }
    if let Some(notes) = &spec.notes {
        lines.push(Line::from(Span::styled("notes", theme.fg(Role::Muted))));
        for l in notes.lines() {
            lines.push(Line::from(format!("  {}", crate::text::for_terminal(l))));
        }
    }
    (format!("step {id}"), lines)
}

fn load<'a>(app: &App, theme: &Theme) -> (String, Vec<Line<'a>>) {
    let Some(config) = app.plan.plan.load.as_ref() else {
        return (
            "load".into(),
            vec![Line::from("the plan has no load section")],
        );
    };
    let mut lines = Vec::new();
    if let Some(target) = &config.target {
        lines.push(Line::from(vec![
            Span::styled("target ", theme.fg(Role::Muted)),
            Span::raw(target.clone()),
        ]));
    }
    for (name, s) in &config.scenarios {
        lines.push(Line::from(Span::styled(
            super::load::scenario_line(name, s),
            theme.bold(Role::Text),
        )));
        for r in &s.requests {
            lines.push(Line::from(Span::styled(
                format!("  {} {}", r.method, r.path),
                theme.fg(Role::Muted),
            )));
        }
    }
    match &app.load {
        LoadState::Failed(e) => lines.push(Line::from(Span::styled(
            format!("✗ did not start: {e}"),
            theme.bold(Role::Fail),
        ))),
        LoadState::Finished {
            aborted: Some(why), ..
        } => lines.push(Line::from(Span::styled(
            format!("ended early: {why} — a stopped run does not pass the load-test gate"),
            theme.bold(Role::Warn),
        ))),
        _ => {}
    }
    if let Some(s) = app.load.snapshot() {
        lines.push(Line::from(Span::styled(
            "thresholds",
            theme.fg(Role::Muted),
        )));
        for t in &s.thresholds {
            let shown = match t.state {
                golive_load::ThresholdState::Pass => Shown::Pass,
                golive_load::ThresholdState::Fail => Shown::Fail,
                golive_load::ThresholdState::NoData => Shown::Unknown,
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {} ", shown.symbol()), shown_style(theme, shown)),
                Span::raw(format!("{} {} ", t.metric, t.expr)),
                Span::styled(format!("measured {}", measured(t)), theme.fg(Role::Muted)),
            ]));
        }
        let l = &s.latency;
        lines.push(Line::from(format!(
            "latency ms: min {:.2} avg {:.2} med {:.2} p90 {:.2} p95 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}",
            l.min, l.avg, l.med, l.p90, l.p95, l.p99, l.p999, l.max
        )));
        lines.push(Line::from(format!(
            "requests {} · failed {} · iterations {} · dropped {} · VUs {}/{}",
            s.http_reqs, s.http_req_failed, s.iterations, s.dropped_iterations, s.vus, s.vus_max
        )));
        if !s.status_counts.is_empty() {
            let st: Vec<String> = s
                .status_counts
                .iter()
                .map(|(c, n)| format!("{c}×{n}"))
                .collect();
            lines.push(Line::from(format!("status codes {}", st.join(" "))));
        }
        if !s.error_counts.is_empty() {
            let er: Vec<String> = s
                .error_counts
                .iter()
                .map(|(c, n)| format!("{c}×{n}"))
                .collect();
            lines.push(Line::from(Span::styled(
                format!("errors {}", er.join(" ")),
                theme.fg(Role::Fail),
            )));
        }
    }
    ("load test".into(), lines)
}

/// The workload selected in the deploy view: its rollout's full evidence, the way back,
/// and the Warning events on it, its ReplicaSets and its pods.
fn workload<'a>(app: &App, theme: &Theme) -> (String, Vec<Line<'a>>) {
    let rollouts = app.rollouts();
    let Some(r) = rollouts.get(app.deploy_selected.min(rollouts.len().saturating_sub(1))) else {
        return (
            "deploy".into(),
            vec![Line::from(Span::styled(
                "no rollout with fresh evidence",
                theme.fg(Role::Muted),
            ))],
        );
    };
    let status = r.status();
    let role = match status {
        crate::gates::Status::Pass => Role::Pass,
        crate::gates::Status::Warn => Role::Warn,
        crate::gates::Status::Unknown => Role::Unknown,
        crate::gates::Status::Fail => Role::Fail,
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} {} ", status.symbol(), r.word()),
            theme.bold(role),
        ),
        Span::styled(
            for_terminal(&format!("{} {}/{}", r.kind, r.namespace, r.name)).into_owned(),
            theme.bold(Role::Text),
        ),
    ])];
    for e in crate::gates::rollout::evidence_for(r, app.now) {
        lines.push(Line::from(Span::styled(
            for_terminal(&format!("  {}: {}", e.object, e.detail)).into_owned(),
            theme.fg(Role::Text),
        )));
    }
    if status == crate::gates::Status::Fail
        && let Some(undo) = r.undo_command()
    {
        lines.push(Line::from(vec![
            Span::styled("the way back (u): ", theme.bold(Role::Accent)),
            Span::styled(for_terminal(&undo).into_owned(), theme.fg(Role::Text)),
        ]));
    }
    let moments = crate::runbook::timing::moments(&app.plan.plan.runbook, &app.runbook);
    let mine = |object: &str| {
        object
            .rsplit('/')
            .next()
            .is_some_and(|n| n == r.name || n.starts_with(&format!("{}-", r.name)))
    };
    let mut events = Vec::new();
    for check in app.plan.plan.gates.iter().flat_map(|g| &g.checks) {
        let crate::plan::Check::WarningEvents(c) = check else {
            continue;
        };
        if c.namespace != r.namespace {
            continue;
        }
        let from = crate::gates::events::moment(&c.since, &moments);
        events.extend(
            crate::gates::events::warnings(c, &app.view, from)
                .into_iter()
                .filter(|g| mine(&g.object)),
        );
    }
    if !events.is_empty() {
        lines.push(Line::from(Span::styled(
            "Warning events",
            theme.bold(Role::Title),
        )));
        for g in events {
            let when = g.last.map(|t| format!(" at {t}")).unwrap_or_default();
            lines.push(Line::from(Span::styled(
                for_terminal(&format!(
                    "  {} ×{} {}{when}: {}",
                    g.reason, g.count, g.object, g.note
                ))
                .into_owned(),
                theme.fg(Role::Warn),
            )));
        }
    }
    (format!("{} {}", r.kind.kubectl(), r.name), lines)
}
