use super::ReportInput;
use crate::gates::Status;
use std::fmt::Write;

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Each gate and each load threshold is a test case. A failing gate is a failure; an
/// undecided one is an error, so CI never reads it as passed.
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
            let evidence: Vec<String> = g
                .checks
                .iter()
                .flat_map(|c| {
                    c.evidence
                        .iter()
                        .map(|e| format!("{}: {}", e.object, e.detail))
                })
                .collect();
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
                        xml(&evidence.join("\n"))
                    );
                }
                Status::Unknown => {
                    let _ = write!(
                        out,
                        "<error message=\"undecided: {}\">{}</error>",
                        xml(&g.summary),
                        xml(&evidence.join("\n"))
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
    let thresholds = input
        .state
        .load
        .as_ref()
        .map(|l| l.thresholds.as_slice())
        .unwrap_or(&[]);
    let failures = thresholds.iter().filter(|t| !t.ok).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"load.thresholds\" tests=\"{}\" failures=\"{failures}\">",
        thresholds.len()
    );
    for t in thresholds {
        let name = format!("{} {}", t.metric, t.expr);
        let _ = write!(
            out,
            "    <testcase classname=\"load.thresholds\" name=\"{}\">",
            xml(&name)
        );
        if !t.ok {
            let _ = write!(out, "<failure message=\"measured {}\"/>", xml(&t.measured));
        }
        let _ = writeln!(out, "</testcase>");
    }
    let _ = writeln!(out, "  </testsuite>\n</testsuites>");
    out
}
