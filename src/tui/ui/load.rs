//! The load test: what is configured, progress, live percentiles, rates, p95/p99
//! sparklines, the latency histogram and every threshold with its live state.

use super::{fit, flow, pane_block, pane_title};
use crate::tui::app::{App, LoadState, Pane};
use crate::tui::format::{measured, planned_duration, short_duration};
use crate::tui::theme::{Role, Theme};
use golive_load::{LoadConfig, Snapshot, ThresholdState};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub(super) fn render(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let (state, style) = match &app.load {
        LoadState::NotConfigured => ("no load test in plan".to_string(), theme.fg(Role::Muted)),
        LoadState::Idle if app.load_from().is_some() => {
            ("k6 summary file".to_string(), theme.fg(Role::Muted))
        }
        LoadState::Idle => ("idle".to_string(), theme.fg(Role::Muted)),
        LoadState::Starting => ("starting…".to_string(), theme.fg(Role::Accent)),
        LoadState::Running {
            stopping: false, ..
        } => ("▶ running".to_string(), theme.bold(Role::Accent)),
        LoadState::Running { stopping: true, .. } => {
            ("stopping…".to_string(), theme.bold(Role::Warn))
        }
        LoadState::Finished {
            aborted: Some(_), ..
        } => ("■ stopped early".to_string(), theme.bold(Role::Warn)),
        LoadState::Finished { snapshot, .. } if snapshot.thresholds_ok() => {
            ("■ finished ✓".to_string(), theme.bold(Role::Pass))
        }
        LoadState::Finished { .. } => ("■ finished ✗".to_string(), theme.bold(Role::Fail)),
        LoadState::Failed(_) => ("✗ did not start".to_string(), theme.bold(Role::Fail)),
    };
    let title = Line::from(vec![
        pane_title(theme, app, Pane::Load, "Load"),
        Span::raw(" "),
        Span::styled(state, style),
        Span::raw(" "),
    ]);
    let block = pane_block(theme, app, Pane::Load, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    let Some(config) = app.plan.plan.load.as_ref() else {
        let text = "The plan has no `load:` section, so there is no load test to run.";
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.fg(Role::Muted))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    };
    if let Some(from) = &config.from {
        let lines = super::load_file::lines(app, theme, from, width);
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let lines = match &app.load {
        LoadState::Running { snapshot, .. } | LoadState::Finished { snapshot, .. } => {
            live(app, theme, config, snapshot, width, height)
        }
        LoadState::Failed(error) => {
            let mut l = configured(app, theme, config, width, height.saturating_sub(2));
            l.insert(
                0,
                Line::from(Span::styled(
                    fit(&format!("✗ {}", crate::text::for_terminal(error)), width),
                    theme.bold(Role::Fail),
                )),
            );
            l
        }
        LoadState::Idle => match app.load_evidence() {
            // The journal's last result, so a restart does not forget what was measured.
            Some(last) => {
                let mut l = configured(app, theme, config, width, height.saturating_sub(1));
                let verdict = crate::gates::load_verdict(Some(&last));
                let when = last
                    .finished_at
                    .map(|t| t.to_zoned(app.tz.clone()).strftime("%H:%M").to_string())
                    .unwrap_or_default();
                let shown = crate::tui::app::Shown::from_status(verdict.status);
                l.insert(
                    0,
                    Line::from(vec![
                        Span::styled(
                            format!("{} ", shown.symbol()),
                            super::shown_style(theme, shown),
                        ),
                        Span::styled(
                            fit(
                                &format!(
                                    "last run {when} (journal): {}",
                                    crate::text::for_terminal(&verdict.summary)
                                ),
                                width.saturating_sub(2),
                            ),
                            theme.fg(Role::Text),
                        ),
                    ]),
                );
                l
            }
            None => configured(app, theme, config, width, height),
        },
        _ => configured(app, theme, config, width, height),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn scenario_line(name: &str, s: &golive_load::Scenario) -> String {
    let mut parts = vec![format!("{name}: {}", executor_name(s))];
    if let Some(v) = s.vus.or(s.max_vus) {
        parts.push(format!("{v} VUs"));
    }
    if let Some(r) = s.rate {
        let unit = s
            .time_unit
            .map(|t| t.to_string())
            .unwrap_or_else(|| "1s".into());
        parts.push(format!("{r} iter/{unit}"));
    }
    if let Some(d) = s.duration {
        parts.push(d.to_string());
    }
    if let Some(stages) = &s.stages {
        parts.push(format!("{} stages", stages.len()));
    }
    parts.join(" · ")
}

fn executor_name(s: &golive_load::Scenario) -> String {
    serde_json::to_value(s.executor)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{:?}", s.executor))
}

/// Before the first run: what would be run and what it will be judged on.
fn configured<'a>(
    app: &App,
    theme: &Theme,
    config: &LoadConfig,
    width: usize,
    height: usize,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for (name, s) in &config.scenarios {
        lines.push(Line::from(Span::styled(
            fit(&scenario_line(name, s), width),
            theme.fg(Role::Text),
        )));
        let requests: Vec<String> = s
            .requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        lines.push(Line::from(Span::styled(
            fit(&format!("  {}", requests.join(", ")), width),
            theme.fg(Role::Muted),
        )));
    }
    if let Some(target) = &config.target {
        lines.push(Line::from(vec![
            Span::styled("target ", theme.fg(Role::Muted)),
            Span::styled(fit(target, width.saturating_sub(7)), theme.fg(Role::Text)),
        ]));
    }
    let mut groups = Vec::new();
    for (metric, specs) in &config.thresholds {
        for spec in specs {
            let text = format!("· {} {}", short_metric(&metric.to_string()), spec.expr)
                .replace("·  ", "· ");
            groups.push(vec![Span::styled(text, theme.fg(Role::Muted))]);
        }
    }
    let key = app.keymap.label(crate::tui::keys::Action::Load);
    let hint = Line::from(vec![
        Span::styled("press ", theme.fg(Role::Muted)),
        Span::styled(key, theme.bold(Role::Accent)),
        Span::styled(
            format!(
                " to run {} against the target",
                short_duration(planned_duration(config).as_secs())
            ),
            theme.fg(Role::Muted),
        ),
    ]);
    let thresholds = flow(groups, width);
    let room = height.saturating_sub(1);
    while lines.len() + thresholds.len() > room && lines.len() > 1 {
        lines.pop();
    }
    lines.extend(thresholds);
    lines.truncate(room);
    lines.push(hint);
    lines
}

fn short_metric(metric: &str) -> String {
    match metric {
        // p(95)<200 can only be a duration; rate<… needs the metric to be read.
        "http_req_duration" => String::new(),
        "http_req_failed" => "failed".into(),
        "http_reqs" => "reqs".into(),
        other => other.to_string(),
    }
}

/// Milliseconds in three significant figures: 0.42, 7.05, 14.6, 212.
fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn live<'a>(
    app: &App,
    theme: &Theme,
    config: &LoadConfig,
    s: &Snapshot,
    width: usize,
    height: usize,
) -> Vec<Line<'a>> {
    let mut lines: Vec<Line<'a>> = Vec::new();
    lines.push(progress(theme, s, width));
    let l = &s.latency;
    let pct = |label: &'static str, v: f64, role: Role| {
        vec![
            Span::styled(format!("{label} "), theme.fg(Role::Muted)),
            Span::styled(ms(v), theme.bold(role)),
        ]
    };
    let mut groups = vec![
        pct("p50", l.med, Role::P50),
        pct("p90", l.p90, Role::Text),
        pct("p95", l.p95, Role::P95),
        pct("p99", l.p99, Role::P99),
        pct("max", l.max, Role::Text),
    ];
    groups.push(vec![Span::styled("ms", theme.fg(Role::Muted))]);
    let percentiles = flow(groups, width);
    let failure_role = if s.http_req_failed > 0 {
        Role::Fail
    } else {
        Role::Text
    };
    // One line: the least important figures drop off when the pane is narrow.
    let mut rate_groups = vec![
        vec![Span::styled(
            format!("{:.1} req/s", s.rps),
            theme.fg(Role::Text),
        )],
        vec![Span::styled(
            format!("{:.2}% failed", s.failure_rate * 100.0),
            theme.fg(failure_role),
        )],
        vec![Span::styled(
            format!("{} reqs", s.http_reqs),
            theme.fg(Role::Muted),
        )],
        vec![Span::styled(bytes(s.data_received), theme.fg(Role::Muted))],
    ];
    let mut rate = flow(rate_groups.clone(), width);
    while rate.len() > 1 && rate_groups.len() > 1 {
        rate_groups.pop();
        rate = flow(rate_groups.clone(), width);
    }
    let thresholds = thresholds(theme, s, width, height);
    let fixed = 1 + percentiles.len() + rate.len() + thresholds.len();
    let room = height.saturating_sub(fixed);
    lines.extend(percentiles);
    lines.extend(rate);
    let spark_rows = room.min(2);
    if spark_rows >= 1 {
        let p95: Vec<f64> = s.history.iter().map(|h| h.p95_ms).collect();
        let p99: Vec<f64> = s.history.iter().map(|h| h.p99_ms).collect();
        let max = p95.iter().chain(p99.iter()).copied().fold(0.0, f64::max);
        lines.push(spark_line(theme, "p95", &p95, max, Role::P95, width));
        if spark_rows >= 2 {
            lines.push(spark_line(theme, "p99", &p99, max, Role::P99, width));
        }
    }
    let hist_rows = room.saturating_sub(spark_rows);
    lines.extend(histogram(theme, s, width, hist_rows));
    lines.extend(thresholds);
    let _ = config;
    let _ = app;
    lines
}

fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB in", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB in", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB in", n / 1e3)
    } else {
        format!("{n:.0} B in")
    }
}

fn progress<'a>(theme: &Theme, s: &Snapshot, width: usize) -> Line<'a> {
    let planned = s.planned.as_secs_f64().max(0.001);
    let fraction = if s.finished {
        1.0
    } else {
        (s.elapsed.as_secs_f64() / planned).clamp(0.0, 1.0)
    };
    let clock = |d: std::time::Duration| {
        let t = d.as_secs();
        format!("{:02}:{:02}", t / 60, t % 60)
    };
    let label = format!("{} / {} ", clock(s.elapsed), clock(s.planned));
    let tail = format!(" {:>3.0}% · {} VUs", fraction * 100.0, s.vus);
    let bar_width = width.saturating_sub(label.chars().count() + tail.chars().count());
    let filled = (fraction * bar_width as f64).round() as usize;
    Line::from(vec![
        Span::styled(label, theme.fg(Role::Text)),
        Span::styled("█".repeat(filled), theme.fg(Role::Gauge)),
        Span::styled(
            "░".repeat(bar_width - filled.min(bar_width)),
            theme.fg(Role::Border),
        ),
        Span::styled(tail, theme.fg(Role::Text)),
    ])
}

fn spark_line<'a>(
    theme: &Theme,
    label: &'static str,
    values: &[f64],
    max: f64,
    role: Role,
    width: usize,
) -> Line<'a> {
    let last = values
        .last()
        .map(|v| format!(" {} ms", ms(*v)))
        .unwrap_or_else(|| " –".into());
    let room = width.saturating_sub(4 + last.chars().count());
    let shown = &values[values.len().saturating_sub(room)..];
    let spark: String = shown
        .iter()
        .map(|v| {
            if max <= 0.0 {
                BLOCKS[0]
            } else {
                BLOCKS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect();
    Line::from(vec![
        Span::styled(format!("{label} "), theme.fg(Role::Muted)),
        Span::styled(spark, theme.fg(role)),
        Span::styled(last, theme.fg(role)),
    ])
}

/// The latency distribution: one bar per bucket when there is room, else one spark line.
fn histogram<'a>(theme: &Theme, s: &Snapshot, width: usize, rows: usize) -> Vec<Line<'a>> {
    let bars: Vec<&golive_load::HistogramBar> = {
        let first = s.histogram.iter().position(|b| b.count > 0);
        let last = s.histogram.iter().rposition(|b| b.count > 0);
        match (first, last) {
            (Some(a), Some(b)) => s.histogram[a..=b].iter().collect(),
            _ => Vec::new(),
        }
    };
    if rows == 0 {
        return Vec::new();
    }
    if bars.is_empty() {
        return vec![Line::from(Span::styled(
            "latency histogram: no requests yet",
            theme.fg(Role::Muted),
        ))];
    }
    let max = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let bucket = |b: &golive_load::HistogramBar| {
        if b.le_ms.is_infinite() {
            "  >".to_string()
        } else {
            format!("≤{}", ms(b.le_ms))
        }
    };
    if rows >= 3 {
        return vertical_histogram(theme, &bars, max, width, rows);
    }
    let spark: String = bars
        .iter()
        .map(|b| {
            BLOCKS[((b.count as f64 / max as f64) * 7.0)
                .round()
                .clamp(0.0, 7.0) as usize]
        })
        .collect();
    let first = bucket(bars[0]);
    let last = bucket(bars[bars.len() - 1]);
    vec![Line::from(vec![
        Span::styled("dist ", theme.fg(Role::Muted)),
        Span::styled(format!("{first} "), theme.fg(Role::Muted)),
        Span::styled(
            fit(&spark, width.saturating_sub(12)),
            theme.fg(Role::Histogram),
        ),
        Span::styled(format!(" {last}"), theme.fg(Role::Muted)),
    ])]
}

/// Columns of eighth-blocks, one per latency bucket, with the bucket bounds underneath.
fn vertical_histogram<'a>(
    theme: &Theme,
    bars: &[&golive_load::HistogramBar],
    max: u64,
    width: usize,
    rows: usize,
) -> Vec<Line<'a>> {
    let label = |b: &golive_load::HistogramBar| {
        if b.le_ms.is_infinite() {
            ">".to_string()
        } else {
            format!("≤{}", b.le_ms)
        }
    };
    let gutter = 4; // "ms  " on the label row, blank above
    let col = ((width.saturating_sub(gutter)) / bars.len().max(1)).clamp(2, 8);
    let shown = bars.len().min(width.saturating_sub(gutter) / col);
    let bars = &bars[..shown];
    let height = rows - 1;
    let mut lines = Vec::with_capacity(rows);
    for row in (0..height).rev() {
        let mut text = " ".repeat(gutter);
        for b in bars {
            let level = b.count as f64 / max as f64 * (height * 8) as f64;
            let eighths = (level - (row * 8) as f64).clamp(0.0, 8.0).round() as usize;
            let cell = match eighths {
                0 if row == 0 && b.count > 0 => '▁',
                0 => ' ',
                n => BLOCKS[n - 1],
            };
            let bar: String = std::iter::repeat_n(cell, col.saturating_sub(1)).collect();
            text.push_str(&bar);
            text.push(' ');
        }
        lines.push(Line::from(Span::styled(text, theme.fg(Role::Histogram))));
    }
    let mut labels = String::from("ms  ");
    for b in bars {
        labels.push_str(&format!("{:<col$}", fit(&label(b), col.saturating_sub(1))));
    }
    lines.push(Line::from(Span::styled(labels, theme.fg(Role::Muted))));
    lines
}

fn thresholds<'a>(theme: &Theme, s: &Snapshot, width: usize, height: usize) -> Vec<Line<'a>> {
    let items: Vec<(&'static str, Style, String, String)> = s
        .thresholds
        .iter()
        .map(|t| {
            let (symbol, style) = match t.state {
                ThresholdState::Pass => ("✓", theme.fg(Role::Pass)),
                ThresholdState::Fail => ("✗", theme.bold(Role::Fail)),
                ThresholdState::NoData => ("?", theme.fg(Role::Unknown)),
            };
            (
                symbol,
                style,
                format!("{} {}", short_metric(&t.metric), t.expr)
                    .trim()
                    .to_string(),
                measured(t),
            )
        })
        .collect();
    // One per line with the measured value when the pane is tall; packed otherwise.
    if height >= 16 {
        let w = items.iter().map(|i| i.2.chars().count()).max().unwrap_or(0);
        return items
            .into_iter()
            .map(|(symbol, style, name, value)| {
                Line::from(vec![
                    Span::styled(format!("{symbol} "), style),
                    Span::styled(format!("{name:<w$}  "), theme.fg(Role::Text)),
                    Span::styled(fit(&value, width.saturating_sub(w + 4)), style),
                ])
            })
            .collect();
    }
    flow(
        items
            .into_iter()
            .map(|(symbol, style, name, _)| vec![Span::styled(format!("{symbol} {name}"), style)])
            .collect(),
        width,
    )
}
