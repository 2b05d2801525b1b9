use super::{ReportInput, verdict_word};
use crate::gates::{GateVerdict, Status};
use crate::runbook::timing::PhaseTime;
use crate::text::{for_markdown as md, for_terminal, markdown_code as code};
use std::fmt::Write;

fn badge(s: Status) -> &'static str {
    match s {
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
        Status::Unknown => "❔ unknown",
    }
}

/// The report for the launch ticket. Text from outside the plan (cluster evidence,
/// names, comments, notes, command lines) goes through [`crate::text::for_markdown`], so
/// it renders as the text it is and never as markup; the plan's own words (its name, its
/// steps) may use Markdown and only lose their control characters.
/// Evidence lines shown under a gate before the rest folds into `<details>`.
const EVIDENCE_SHOWN: usize = 6;

pub fn render(input: &ReportInput) -> String {
    let mut out = String::new();
    let plan = input.plan;
    let _ = writeln!(out, "# Go-live report: {}\n", for_terminal(&plan.name));
    let _ = writeln!(
        out,
        "Generated {} by golive {} · context {} · journal {} entries, final hash `{}`\n",
        input.generated_at,
        env!("CARGO_PKG_VERSION"),
        code(input.context),
        input.journal.entries,
        input.journal.final_hash
    );
    match &input.decision.overridden {
        Some(o) => {
            let _ = writeln!(
                out,
                "## Verdict: GO by override ({} overrode {})\n",
                md(&o.by),
                verdict_word(input.decision.verdict)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "## Verdict: {}\n",
                verdict_word(input.decision.verdict)
            );
        }
    }
    for note in input.notes {
        let _ = writeln!(out, "> **Note:** {}\n", md(note));
    }
    if input.decision.overridden.is_some() {
        let _ = writeln!(out, "The evidence does not support GO:");
    }
    for reason in &input.decision.reasons {
        let _ = writeln!(out, "- {}", md(&reason.to_string()));
    }
    if let Some(o) = &input.decision.overridden {
        let _ = writeln!(
            out,
            "\n> **OVERRIDDEN to GO** by {} at {}: {}\n> The verdict was {}; the override was given over:",
            md(&o.by),
            o.at,
            md(&o.reason),
            o.verdict,
        );
        if o.failing.is_empty() {
            let _ = writeln!(out, "> - nothing recorded");
        }
        for f in &o.failing {
            let _ = writeln!(out, "> - {}", md(f));
        }
    }
    let _ = writeln!(out, "\n## Readiness\n");
    let mut groups: Vec<&str> = Vec::new();
    for g in input.gates {
        if !groups.contains(&g.group.as_str()) {
            groups.push(&g.group);
        }
    }
    for group in groups {
        let _ = writeln!(
            out,
            "### {}\n\n| Gate | Status | Summary |\n|---|---|---|",
            md(group)
        );
        let members: Vec<&GateVerdict> = input.gates.iter().filter(|g| g.group == group).collect();
        for g in &members {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md(&g.id),
                badge(g.status),
                md(&g.summary),
            );
        }
        let _ = writeln!(out);
        // Evidence as lists under each gate: a table cell cannot hold it readably.
        for g in &members {
            let items: Vec<String> = g
                .checks
                .iter()
                .flat_map(|c| {
                    c.evidence
                        .iter()
                        .map(|e| format!("- {}: {}", md(&e.object), md(&e.detail)))
                        .chain(c.fix.iter().map(|f| format!("- **fix:** {}", md(f))))
                })
                .collect();
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "#### {} {}\n", badge(g.status), md(&g.id));
            if items.len() > EVIDENCE_SHOWN {
                for item in &items[..EVIDENCE_SHOWN] {
                    let _ = writeln!(out, "{item}");
                }
                let _ = writeln!(
                    out,
                    "\n<details><summary>{} more</summary>\n",
                    items.len() - EVIDENCE_SHOWN
                );
                for item in &items[EVIDENCE_SHOWN..] {
                    let _ = writeln!(out, "{item}");
                }
                let _ = writeln!(out, "\n</details>\n");
            } else {
                for item in &items {
                    let _ = writeln!(out, "{item}");
                }
                let _ = writeln!(out);
            }
        }
    }
    monitor_section(&mut out, input);
    let _ = writeln!(out, "## Load test\n");
    match (&input.state.load, &input.state.load_stats) {
        (None, _) => {
            let _ = writeln!(out, "No load test was run in this go-live.\n");
        }
        (Some(load), stats) => {
            if load.running {
                let _ = writeln!(
                    out,
                    "A load test was started and never finished (no result recorded).\n"
                );
            }
            if let Some(s) = stats {
                let _ = writeln!(
                    out,
                    "| duration | req/s | failed | p50 | p90 | p95 | p99 | max |\n|---|---|---|---|---|---|---|---|\n| {:.0} s | {:.1} | {:.2}% | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |\n",
                    s.duration_s,
                    s.rps,
                    s.failure_rate * 100.0,
                    s.p50_ms,
                    s.p90_ms,
                    s.p95_ms,
                    s.p99_ms,
                    s.max_ms
                );
            }
            if let Some(source) = &load.source {
                let _ = writeln!(
                    out,
                    "Read from a file, not run by golive: {}.\n\n{}.\n",
                    md(&source.describe()),
                    md(&source.figures)
                );
                if let Some(started) = source.stale_before {
                    let _ = writeln!(
                        out,
                        "**Stale evidence:** the file was written before this go-live started ({started}).\n"
                    );
                }
            }
            let _ = writeln!(
                out,
                "{} requests.\n\n| Threshold | Result | Measured |\n|---|---|---|",
                load.requests
            );
            for t in &load.thresholds {
                let mut measured = t.measured.clone();
                if let Some(k6) = t.k6_ok {
                    measured.push_str(if k6 { "; k6: met" } else { "; k6: failed" });
                }
                if let Some(d) = t.disagreement() {
                    measured.push_str(&format!("; {d}"));
                }
                if t.script_only {
                    measured.push_str("; the k6 script's own threshold, not in the plan");
                }
                let result = match (t.status(), &t.unknown) {
                    (Status::Pass, _) => "✅ met".to_string(),
                    (Status::Fail, _) => "❌ failed".to_string(),
                    (_, Some(why)) => format!("❔ unknown: {}", md(why)),
                    (_, None) => "❔ unknown".to_string(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {result} | {} |",
                    code(&format!("{} {}", t.metric, t.expr)),
                    md(&measured)
                );
            }
            let _ = writeln!(out);
        }
    }
    let _ = writeln!(out, "## Runbook\n");
    if plan.runbook.iter().any(|p| p.budget.is_some()) {
        let _ = writeln!(
            out,
            "Time per phase as elapsed/budget, as the cockpit's phase tabs show it: to the last tick of a finished phase, to this report for one under way; – before a phase opened.\n"
        );
    }
    for phase in &plan.runbook {
        let time = PhaseTime::of(&plan.runbook, input.state, phase, input.generated_at)
            .against_budget()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        let _ = writeln!(out, "### {}{time}\n", for_terminal(&phase.phase.value));
        for step in &phase.steps {
            let st = input.state.steps.get(&step.id());
            let checked = st.is_some_and(|s| s.checked);
            let who = match st {
                Some(s) if checked => {
                    let at = s.at.map(|t| t.to_string()).unwrap_or_default();
                    match &s.verified_by {
                        Some(v) => format!(" — verified by {} at {at}", md(v)),
                        None => format!(" — {} at {at}", md(s.by.as_deref().unwrap_or("?"))),
                    }
                }
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "- [{}] {}{who}",
                if checked { "x" } else { " " },
                for_terminal(&step.0.text)
            );
            if let Some(s) = st.filter(|s| s.checked && s.verified_by.is_some()) {
                for e in &s.evidence {
                    let _ = writeln!(out, "  - evidence: {}", md(e));
                }
            }
            if let Some(c) = st.and_then(|s| s.last_command.as_ref()) {
                let exit = c
                    .exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "none (killed or timed out)".into());
                let _ = writeln!(
                    out,
                    "  - ran {} ({} at {}): exit {exit}",
                    code(&c.command),
                    md(&c.by),
                    c.at
                );
            }
            if let Some((at, by, command)) = st.and_then(|s| s.command_started.as_ref()) {
                let _ = writeln!(
                    out,
                    "  - started {} ({} at {at}): no result recorded (golive stopped while it ran)",
                    code(command),
                    md(by)
                );
            }
            for (at, by, text) in st.map(|s| s.notes.as_slice()).unwrap_or(&[]) {
                let _ = writeln!(out, "  - note by {} at {at}: {}", md(by), md(text));
            }
        }
        let _ = writeln!(out);
    }
    if !input.state.rollouts.is_empty() {
        let _ = writeln!(out, "### Rollouts\n");
        for r in &input.state.rollouts {
            let _ = writeln!(
                out,
                "- {} {} {}: **{}**, {}",
                r.at,
                md(&r.workload),
                md(&r.revision),
                md(&r.event),
                md(&r.detail)
            );
            for image in &r.images {
                let _ = writeln!(out, "  - image {}", md(image));
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "## Sign-off\n\n| Role | Name | Decision | Time | Verdict then | Gates then | Comment |\n|---|---|---|---|---|---|---|"
    );
    for role in &plan.signoff {
        match input.state.signoffs.iter().find(|s| &s.role == role) {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    md(role),
                    md(&s.name),
                    if s.approve {
                        "✅ approved"
                    } else {
                        "❌ rejected"
                    },
                    s.at,
                    s.verdict,
                    md(&gates_then(&s.gates)),
                    md(s.comment.as_deref().unwrap_or(""))
                );
            }
            None => {
                let _ = writeln!(out, "| {} | — | pending | — | — | — | |", md(role));
            }
        }
    }
    if !input.state.overrides.is_empty() {
        let _ = writeln!(out, "\n## Overrides\n");
        for o in &input.state.overrides {
            let _ = writeln!(
                out,
                "- {} by {}: {} (verdict was {}; given over:)",
                o.at,
                md(&o.by),
                md(&o.reason),
                o.verdict,
            );
            for f in &o.failing {
                let _ = writeln!(out, "  - {}", md(f));
            }
        }
    }
    let _ = writeln!(out, "\n## Journal\n");
    if input.journal.ok() {
        let _ = writeln!(
            out,
            "{} entries, chain intact, final hash `{}`.",
            input.journal.entries, input.journal.final_hash
        );
    } else {
        let _ = writeln!(
            out,
            "**The journal's chain is broken**; its record cannot be trusted as is:"
        );
        for (line, problem) in &input.journal.problems {
            let _ = writeln!(out, "- line {line}: {}", md(problem));
        }
    }
    out
}

/// The gate states a sign-off was given over, in one cell: what did not pass, by name.
fn gates_then(gates: &[(String, String)]) -> String {
    let passing = gates.iter().filter(|(_, s)| s == "pass").count();
    let others: Vec<String> = gates
        .iter()
        .filter(|(_, s)| s != "pass")
        .map(|(id, s)| format!("{id} {s}"))
        .collect();
    match (passing, others.is_empty()) {
        (0, true) => "none recorded".into(),
        (n, true) => format!("all {n} pass"),
        (0, false) => others.join(", "),
        (n, false) => format!("{n} pass; {}", others.join(", ")),
    }
}

/// `## Monitor`: per monitored query its baseline, what it did after the deploy (min, max,
/// last, how long it failed) and the gate now; the alerts that fired during the go-live.
fn monitor_section(out: &mut String, input: &ReportInput) {
    use crate::metrics::Outcome;
    let checks: Vec<(&str, &crate::plan::PrometheusCheck)> = input
        .plan
        .gates
        .iter()
        .flat_map(|g| {
            g.checks.iter().filter_map(move |c| match c {
                crate::plan::Check::Prometheus(p) => Some((g.id.value.as_str(), p)),
                _ => None,
            })
        })
        .collect();
    let Some(metrics) = input.metrics else {
        if !checks.is_empty() || !input.state.alerts.is_empty() {
            let _ = writeln!(
                out,
                "## Monitor\n\nNo Prometheus answers were available for this report.\n"
            );
            // The journal's alerts are the record, whatever Prometheus says now.
            alerts_that_fired(out, input, &Default::default());
        }
        return;
    };
    if checks.is_empty() && metrics.alert_log.is_empty() && input.state.alerts.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Monitor\n");
    let deploy = crate::runbook::timing::deploy_moment(&input.plan.runbook, input.state);
    match deploy {
        Some(at) => {
            let _ = writeln!(out, "Deploy moment: {at}.\n");
        }
        None => {
            let _ = writeln!(
                out,
                "No deploy moment recorded: figures cover everything golive saw.\n"
            );
        }
    }
    for (gate, c) in checks {
        let key = crate::gates::monitor::key(c);
        let status = input
            .gates
            .iter()
            .find(|g| g.id == gate)
            .map(|g| format!("{} {}", badge(g.status), md(&g.summary)))
            .unwrap_or_default();
        let _ = writeln!(out, "### {} `{}`\n", md(gate), md(&c.condition.to_string()));
        let _ = writeln!(out, "- query: {}", code(c.query.trim()));
        let _ = writeln!(out, "- now: {status}");
        match input
            .state
            .baselines
            .get(&key)
            .or(metrics.baselines.get(&key))
        {
            Some(b) => {
                let _ = writeln!(
                    out,
                    "- baseline: {} over {} samples, {} to {}",
                    crate::gates::monitor::number(b.value),
                    b.samples,
                    b.start,
                    b.end
                );
            }
            None if c.baseline.is_some() => {
                let _ = writeln!(
                    out,
                    "- baseline: none captured (no relative comparison made)"
                );
            }
            None => {}
        }
        let history: Vec<&(jiff::Timestamp, Outcome)> = metrics
            .history
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|(at, _)| deploy.is_none_or(|d| *at >= d))
            .collect();
        let decided: Vec<(jiff::Timestamp, f64, bool)> = history
            .iter()
            .filter_map(|(at, o)| match o {
                Outcome::Good(v) => Some((*at, *v, true)),
                Outcome::Bad(v) => Some((*at, *v, false)),
                Outcome::Undecided(_) => None,
            })
            .collect();
        let undecided = history.len() - decided.len();
        if decided.is_empty() {
            let _ = writeln!(
                out,
                "- after the deploy: no decided evaluation ({undecided} undecided)\n"
            );
            continue;
        }
        let min = decided.iter().map(|d| d.1).fold(f64::MAX, f64::min);
        let max = decided.iter().map(|d| d.1).fold(f64::MIN, f64::max);
        let worst = if c.condition.upper_bound() {
            decided.iter().max_by(|a, b| a.1.total_cmp(&b.1))
        } else {
            decided.iter().min_by(|a, b| a.1.total_cmp(&b.1))
        };
        let last = decided.last();
        let bad = decided.iter().filter(|d| !d.2).count();
        let first = decided.first().map(|d| d.0);
        let span = match (first, last) {
            (Some(a), Some(b)) => {
                crate::runbook::timing::short_duration(b.0.duration_since(a).as_secs().max(0) as u64)
            }
            _ => "0s".into(),
        };
        let _ = writeln!(
            out,
            "- after the deploy: {} evaluations over {span} ({undecided} undecided); min {}, max {}, last {}",
            decided.len(),
            crate::gates::monitor::number(min),
            crate::gates::monitor::number(max),
            last.map(|l| format!("{} at {}", crate::gates::monitor::number(l.1), l.0))
                .unwrap_or_default()
        );
        if let Some(w) = worst {
            let _ = writeln!(
                out,
                "- worst {} at {}; the condition failed in {bad} of {} evaluations\n",
                crate::gates::monitor::number(w.1),
                w.0,
                decided.len()
            );
        }
    }
    alerts_that_fired(out, input, metrics);
}

/// Every alert of the go-live: from the journal (with when it resolved), and those this
/// look found firing that the journal does not hold.
fn alerts_that_fired(
    out: &mut String,
    input: &ReportInput,
    metrics: &crate::metrics::MetricsEvidence,
) {
    let state = input.state;
    // The plan's watchdogs fire all the time by design: they prove the pipeline, not a
    // problem, and the alerts gate's evidence shows them.
    let watchdogs: Vec<&str> = input
        .plan
        .gates
        .iter()
        .flat_map(|g| &g.checks)
        .filter_map(|c| match c {
            crate::plan::Check::Alerts(a) => a.watchdog.as_deref(),
            _ => None,
        })
        .collect();
    let journaled: Vec<_> = state
        .alerts
        .values()
        .filter(|a| !watchdogs.contains(&a.name.as_str()))
        .collect();
    let unjournaled: Vec<_> = metrics
        .alert_log
        .iter()
        .filter(|(fingerprint, a)| {
            !state.alerts.contains_key(*fingerprint) && !watchdogs.contains(&a.name.as_str())
        })
        .collect();
    if journaled.is_empty() && unjournaled.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Alerts that fired\n");
    let when = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_else(|| "?".into());
    for a in journaled {
        let end = match a.resolved_at {
            Some(t) => format!("resolved by {t}"),
            None => "still firing at the last look".to_string(),
        };
        let _ = writeln!(
            out,
            "- {} {}: firing from {}, seen by golive at {}, {end}",
            md(&a.name),
            md(&crate::gates::monitor::labels_text(&a.labels)),
            when(a.starts_at),
            a.seen_at
        );
    }
    for (_, a) in unjournaled {
        let _ = writeln!(
            out,
            "- {} {}: firing from {}, last seen {}",
            md(&a.name),
            md(&crate::gates::monitor::labels_text(&a.labels)),
            when(a.starts_at),
            a.last_seen
        );
    }
    let _ = writeln!(out);
}
