use super::ReportInput;
use crate::gates::{Status, Verdict};
use crate::text::{for_terminal, for_xml as xml, for_xml_lines};
use std::fmt::Write;

/// Lines of text from outside, each made safe on its own, joined by golive's newlines.
fn lines<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let shown: Vec<String> = items
        .into_iter()
        .map(|item| for_terminal(&item.to_string()).into_owned())
        .collect();
    for_xml_lines(&shown.join("\n"))
}

/// Each gate and each load threshold is a test case. A failing gate is a failure; an
/// undecided one is an error, so CI never reads it as passed. Every text from outside
/// goes through [`crate::text`], so any conforming XML parser reads the file.
pub fn render(input: &ReportInput) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut groups: Vec<&str> = Vec::new();
    for g in input.gates {
        if !groups.contains(&g.group.as_str()) {
            groups.push(&g.group);
        }
    }
    let _ = writeln!(out, "<testsuites name=\"{}\">", xml(&input.plan.name));
    for group in groups {
        let gates: Vec<_> = input.gates.iter().filter(|g| g.group == group).collect();
        let failures = gates.iter().filter(|g| g.status == Status::Fail).count();
        let errors = gates.iter().filter(|g| g.status == Status::Unknown).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"gates.{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" timestamp=\"{}\">",
            xml(group),
            gates.len(),
            input.generated_at
        );
        for g in gates {
            let evidence = lines(g.checks.iter().flat_map(|c| {
                c.evidence
                    .iter()
                    .map(|e| format!("{}: {}", e.object, e.detail))
            }));
            let _ = write!(
                out,
                "    <testcase classname=\"gates.{}\" name=\"{}\">",
                xml(group),
                xml(&g.id)
            );
            match g.status {
                Status::Fail => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\">{}</failure>",
                        xml(&g.summary),
                        evidence
                    );
                }
                Status::Unknown => {
                    let _ = write!(
                        out,
                        "<error message=\"undecided: {}\">{}</error>",
                        xml(&g.summary),
                        evidence
                    );
                }
                Status::Warn | Status::Pass => {
                    let _ = write!(
                        out,
                        "<system-out>{}</system-out>",
                        xml(&format!("{}: {}", g.status.word(), g.summary))
                    );
                }
            }
            let _ = writeln!(out, "</testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    let run = input.state.load.as_ref().filter(|l| !l.running);
    // Planned thresholds without a result are errors: a missing load test is not a pass.
    let planned: Vec<String> = input
        .plan
        .load
        .iter()
        .flat_map(|l| {
            l.thresholds.iter().flat_map(|(metric, specs)| {
                specs.iter().map(move |t| format!("{metric} {}", t.expr))
            })
        })
        .collect();
    let mut cases: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    match run {
        Some(load) => {
            for t in &load.thresholds {
                let name = format!("{} {}", t.metric, t.expr);
                match t.status() {
                    crate::gates::Status::Fail => {
                        let mut why = format!("measured {}", t.measured);
                        if let Some(d) = t.disagreement() {
                            why.push_str(&format!("; {d}"));
                        }
                        cases.push((name, Some(why), None));
                    }
                    crate::gates::Status::Unknown => {
                        let why = t.unknown.clone().unwrap_or_else(|| "unknown".into());
                        cases.push((name, None, Some(why)));
                    }
                    _ => cases.push((name, None, None)),
                }
            }
            // A file older than the go-live decides nothing about it.
            if let Some(started) = load.source.as_ref().and_then(|s| s.stale_before) {
                for case in &mut cases {
                    case.1 = None;
                    case.2 = Some(format!(
                        "stale evidence: the file was written before this go-live started ({started})"
                    ));
                }
            }
        }
        None => {
            let why = if input.state.load.is_some() {
                "the load test never finished"
            } else {
                "no load test was run"
            };
            for name in planned {
                cases.push((name, None, Some(why.to_string())));
            }
        }
    }
    let failures = cases.iter().filter(|c| c.1.is_some()).count();
    let errors = cases.iter().filter(|c| c.2.is_some()).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"load.thresholds\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        cases.len()
    );
    for (name, failure, error) in &cases {
        let _ = write!(
            out,
            "    <testcase classname=\"load.thresholds\" name=\"{}\">",
            xml(name)
        );
        if let Some(message) = failure {
            let _ = write!(out, "<failure message=\"{}\"/>", xml(message));
        }
        if let Some(message) = error {
            let _ = write!(out, "<error message=\"undecided: {}\"/>", xml(message));
        }
        let _ = writeln!(out, "</testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
    decision_suite(&mut out, input);
    let _ = writeln!(out, "</testsuites>");
    out
}

/// The go/no-go itself (steps, sign-offs, journal included) as one test case, so a CI job
/// that reads only JUnit cannot pass an undecided go-live. An override does not make it
/// green: like `golive report`'s exit code, the case follows the evidence, and its message
/// names the override.
fn decision_suite(out: &mut String, input: &ReportInput) {
    let decision = input.decision;
    let mut reasons: Vec<String> = decision.reasons.iter().map(|r| r.to_string()).collect();
    let overridden = match &decision.overridden {
        Some(o) => {
            reasons.insert(
                0,
                format!("overridden to GO by {} at {}: {}", o.by, o.at, o.reason),
            );
            " (overridden to GO)"
        }
        None => "",
    };
    let reasons = lines(reasons);
    let (failures, errors, body) = match decision.verdict {
        Verdict::Go => (0, 0, format!("<system-out>GO: {reasons}</system-out>")),
        Verdict::NoGo => (
            1,
            0,
            format!("<failure message=\"NO-GO{overridden}\">{reasons}</failure>"),
        ),
        Verdict::Unknown => (
            0,
            1,
            format!("<error message=\"undecided: UNKNOWN{overridden}\">{reasons}</error>"),
        ),
    };
    let _ = writeln!(
        out,
        "  <testsuite name=\"go-live\" tests=\"1\" failures=\"{failures}\" errors=\"{errors}\">\n    <testcase classname=\"go-live\" name=\"verdict\">{body}</testcase>\n  </testsuite>"
    );
}
