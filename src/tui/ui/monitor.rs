//! The monitor view (`m`, in the load test's place): per monitored query its gate, the
//! value now against the condition, a chart of every evaluation this session (braille,
//! with the threshold and the baseline drawn and the deploy moment marked) or, where
//! there is no room, a sparkline; then the alerts Alertmanager holds (firing, silenced,
//! inhibited) and Prometheus's pending ones, with their ages.

use super::{fit, pane_block, pane_title};
use crate::gates::monitor::{self, number};
use crate::metrics::Outcome;
use crate::metrics::alertmanager::AlertState;
use crate::plan::{Check, PrometheusCheck};
use crate::text::for_terminal;
use crate::tui::app::{App, Pane};
use crate::tui::theme::{Role, Theme};
use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The plan's `prometheus` checks with the gate each belongs to.
fn monitored(app: &App) -> Vec<(String, &PrometheusCheck)> {
    app.plan
        .plan
        .gates
        .iter()
        .flat_map(|g| {
            g.checks.iter().filter_map(move |c| match c {
                Check::Prometheus(p) => Some((g.id.value.clone(), p)),
                _ => None,
            })
        })
        .collect()
}

/// `p95` for a `histogram_quantile(0.95, …)` query, so two latency checks of one gate
/// are told apart.
fn quantile(query: &str) -> Option<String> {
    let rest = query.trim().strip_prefix("histogram_quantile(")?;
    let q: f64 = rest.split(',').next()?.trim().parse().ok()?;
    let percent = q * 100.0;
    Some(if percent.fract() == 0.0 {
        format!("p{percent:.0}")
    } else {
        format!("p{percent}")
    })
}

fn sparkline(values: &[Option<f64>], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().flatten().fold(0.0_f64, |a, b| a.max(*b));
    tail.iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if max <= 0.0 => BLOCKS[0],
            Some(v) => BLOCKS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let prom = match (&app.plan.plan.monitoring, &app.metrics.prometheus_version) {
        (None, _) => ("no monitoring in plan".to_string(), Role::Muted),
        (Some(_), None) => ("asking…".to_string(), Role::Muted),
        (Some(_), Some(Ok(v))) => (format!("Prometheus {}", for_terminal(v)), Role::Pass),
        (Some(_), Some(Err(e))) => (format!("✗ {}", for_terminal(&e.to_string())), Role::Fail),
    };
    let title = Line::from(vec![
        pane_title(theme, app, Pane::Load, "Monitor"),
        Span::raw(" "),
        Span::styled(prom.0, theme.fg(prom.1)),
        Span::raw(" "),
    ]);
    let block = pane_block(theme, app, Pane::Load, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let checks = monitored(app);
    let mut alerts = alert_lines(app, theme, width);
    if let Some(link) = app.grafana_link() {
        let shown = fit(&for_terminal(&link), width.saturating_sub(2));
        // The writer makes it a terminal hyperlink to the whole URL (OSC 8).
        *app.hyperlink.borrow_mut() = Some((shown.clone(), link));
        alerts.push(Line::from(vec![
            Span::styled("g ", theme.bold(Role::Accent)),
            Span::styled(shown, theme.fg(Role::Muted)),
        ]));
    }
    let mut lines: Vec<Line> = Vec::new();
    if checks.is_empty() && app.plan.plan.monitoring.is_none() {
        lines.push(Line::from(Span::styled(
            "The plan has no `monitoring:` section and no prometheus, alerts or scraped checks.",
            theme.fg(Role::Muted),
        )));
    }
    // One line per check; a chart of one when there is room for it.
    let chart_rows = (inner.height as usize).saturating_sub(checks.len() + alerts.len() + 1);
    for (gate, c) in &checks {
        let key = monitor::key(c);
        let history = app
            .metrics
            .history
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let values: Vec<Option<f64>> = history
            .iter()
            .map(|(_, o)| match o {
                Outcome::Good(v) | Outcome::Bad(v) => Some(*v),
                Outcome::Undecided(_) => None,
            })
            .collect();
        let row = app.gates.iter().find(|g| g.verdict.id == *gate);
        let (symbol, role) = row
            .map(|r| (r.shown.symbol(), super::shown_role(r.shown)))
            .unwrap_or(("?", Role::Unknown));
        let now = match history.last() {
            Some((_, Outcome::Good(v) | Outcome::Bad(v))) => number(*v),
            Some((_, Outcome::Undecided(why))) => fit(why, 24),
            None => "–".into(),
        };
        let head = match quantile(&c.query) {
            Some(q) => format!("{symbol} {gate} {q} {now} {} ", c.condition),
            None => format!("{symbol} {gate} {now} {} ", c.condition),
        };
        let room = width.saturating_sub(head.chars().count());
        lines.push(Line::from(vec![
            Span::styled(fit(&for_terminal(&head), width), theme.fg(role)),
            Span::styled(sparkline(&values, room), theme.fg(Role::P95)),
        ]));
    }
    let text_rows = lines.len() as u16;
    let after = alerts;
    let para_area = Rect::new(inner.x, inner.y, inner.width, text_rows.min(inner.height));
    frame.render_widget(Paragraph::new(lines), para_area);
    let mut y = inner.y + text_rows;
    // The chart follows the gate selected in the Gates pane, else the first check.
    let selected = app.selected_gate().map(|g| g.verdict.id.as_str());
    let charted = checks
        .iter()
        .find(|(gate, _)| Some(gate.as_str()) == selected)
        .or(checks.first());
    if chart_rows >= 6
        && let Some((gate, c)) = charted
    {
        let name = match quantile(&c.query) {
            Some(q) => format!("{gate} {q}"),
            None => gate.clone(),
        };
        let caption = format!("chart: {name} {} (select a gate to chart it)", c.condition);
        frame.render_widget(
            Paragraph::new(Span::styled(
                fit(&for_terminal(&caption), width),
                theme.fg(Role::Muted),
            )),
            Rect::new(inner.x, y, inner.width, 1),
        );
        y += 1;
        let h = (chart_rows as u16 - 1).min(
            inner
                .height
                .saturating_sub(text_rows + 1 + after.len() as u16),
        );
        chart(
            frame,
            app,
            theme,
            Rect::new(inner.x, y, inner.width, h),
            gate,
            c,
        );
        y += h;
    }
    let rest = inner.y + inner.height;
    if y < rest {
        frame.render_widget(
            Paragraph::new(after),
            Rect::new(inner.x, y, inner.width, rest - y),
        );
    }
}

/// A braille line of one series.
fn line<'a>(name: &str, style: Style, data: &'a [(f64, f64)]) -> Dataset<'a> {
    Dataset::default()
        .name(name.to_string())
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(style)
        .data(data)
}

fn chart(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, gate: &str, c: &PrometheusCheck) {
    let key = monitor::key(c);
    let history = app
        .metrics
        .history
        .get(&key)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let start = app.started.as_second() as f64;
    let now = (app.now.as_second() as f64).max(start + 60.0);
    let points: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|(at, o)| match o {
            Outcome::Good(v) | Outcome::Bad(v) => Some((at.as_second() as f64, *v)),
            Outcome::Undecided(_) => None,
        })
        .collect();
    let mut top = points.iter().map(|p| p.1).fold(c.condition.bound, f64::max);
    let base = app.metrics.baselines.get(&key).map(|b| b.value);
    if let Some(b) = base {
        top = top.max(b);
    }
    let top = if top <= 0.0 { 1.0 } else { top * 1.2 };
    let threshold = vec![(start, c.condition.bound), (now, c.condition.bound)];
    let baseline: Vec<(f64, f64)> = base.map(|b| vec![(start, b), (now, b)]).unwrap_or_default();
    let deploy: Vec<(f64, f64)> = app
        .deploy_moment()
        .map(|t| t.as_second() as f64)
        .filter(|t| *t >= start)
        .map(|t| vec![(t, 0.0), (t, top)])
        .unwrap_or_default();
    let mut sets = vec![
        line("threshold", theme.fg(Role::Fail), &threshold),
        line(gate, theme.fg(Role::P95), &points),
    ];
    if !baseline.is_empty() {
        sets.push(line("baseline", theme.fg(Role::Muted), &baseline));
    }
    if !deploy.is_empty() {
        sets.push(line("deploy", theme.fg(Role::Accent), &deploy));
    }
    let chart = Chart::new(sets)
        .x_axis(Axis::default().bounds([start, now]).style(Style::default()))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels([Span::raw("0"), Span::raw(number(top))])
                .style(theme.fg(Role::Muted)),
        )
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Ratio(1, 4),
            ratatui::layout::Constraint::Ratio(1, 4),
        ));
    frame.render_widget(chart, area);
}

fn alert_lines<'a>(app: &App, theme: &Theme, width: usize) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    let age = |t: Option<Timestamp>| {
        t.map(|t| crate::gates::rollout::age_words(app.now.as_second() - t.as_second()))
            .unwrap_or_default()
    };
    match &app.metrics.alerts {
        None => {}
        Some((_, Err(e))) => out.push(Line::from(Span::styled(
            fit(&for_terminal(&format!("alerts: {e}")), width),
            theme.fg(Role::Unknown),
        ))),
        Some((_, Ok(alerts))) => {
            let watchdogs: Vec<&str> = app
                .plan
                .plan
                .checks()
                .filter_map(|c| match c {
                    Check::Alerts(a) => a.watchdog.as_deref(),
                    _ => None,
                })
                .collect();
            for a in alerts {
                let name = a.labels.get("alertname").cloned().unwrap_or_default();
                if !watchdogs.contains(&name.as_str()) && !selected(app, &a.labels) {
                    continue;
                }
                if watchdogs.contains(&name.as_str()) {
                    out.push(Line::from(Span::styled(
                        fit(
                            &for_terminal(&format!(
                                "✓ watchdog {name} firing: the alert pipeline works"
                            )),
                            width,
                        ),
                        theme.fg(Role::Muted),
                    )));
                    continue;
                }
                let (word, role) = match a.state {
                    AlertState::Suppressed if !a.silenced_by.is_empty() => {
                        ("silenced", Role::Muted)
                    }
                    AlertState::Suppressed => ("inhibited", Role::Muted),
                    _ => ("firing", Role::Fail),
                };
                let summary = a.annotations.get("summary").cloned().unwrap_or_default();
                out.push(Line::from(Span::styled(
                    fit(
                        &for_terminal(&format!("{word} {name} {} {summary}", age(a.starts_at))),
                        width,
                    ),
                    theme.fg(role),
                )));
            }
        }
    }
    if let Some(Ok(rules)) = &app.metrics.prometheus_alerts {
        for p in rules
            .iter()
            .filter(|p| p.state == "pending" && selected(app, &p.labels))
        {
            let name = p.labels.get("alertname").cloned().unwrap_or_default();
            out.push(Line::from(Span::styled(
                fit(
                    &for_terminal(&format!("pending {name} {}", age(p.active_at))),
                    width,
                ),
                theme.fg(Role::Warn),
            )));
        }
    }
    if !out.is_empty() {
        out.insert(
            0,
            Line::from(Span::styled("Alerts", theme.bold(Role::Title))),
        );
    }
    out
}

/// Whether one of the plan's `alerts` checks selects an alert with these labels: another
/// team's alerts are not this go-live's to show. Without such a check, every alert is.
fn selected(app: &App, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let mut checks = app
        .plan
        .plan
        .checks()
        .filter_map(|c| match c {
            Check::Alerts(a) => Some(a),
            _ => None,
        })
        .peekable();
    if checks.peek().is_none() {
        return true;
    }
    checks.any(|a| {
        a.matchers
            .iter()
            .all(|m| monitor::matcher_matches(m, labels).unwrap_or(false))
    })
}

#[cfg(test)]
mod quantile_tests {
    #[test]
    fn a_histogram_quantile_query_is_named_by_its_percentile() {
        let q = |s: &str| super::quantile(s);
        assert_eq!(
            q("histogram_quantile(0.95, sum by (le) (rate(x[1m])))").as_deref(),
            Some("p95")
        );
        assert_eq!(q(" histogram_quantile(0.999, y)").as_deref(), Some("p99.9"));
        assert_eq!(q("sum(rate(x[1m]))"), None);
    }
}
