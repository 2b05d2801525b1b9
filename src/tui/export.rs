//! `r` in the cockpit: the Markdown go-live report, from what the screen shows now and
//! what the journal recorded, written next to the journal.

use super::App;
use crate::report::{self, ReportInput};
use crate::runbook::journal;
use crate::runbook::state::decide;
use jiff::Timestamp;
use std::path::{Path, PathBuf};

/// Writes `<dir>/report-<UTC timestamp>.md` and returns its path. The gates are the
/// verdicts on screen (stale counted as undecided); the chain is verified from disk.
pub fn write_report(app: &App, dir: &Path, now: Timestamp) -> Result<PathBuf, String> {
    let (_, verification) = journal::verify_dir(dir).map_err(|e| e.to_string())?;
    let gates = app.judged();
    // The chain as it is on disk now, not as it was when the cockpit opened it.
    let mut state = app.decided_runbook().into_owned();
    state.integrity = verification.integrity_reasons();
    let decision = decide(&app.plan.plan, &gates, &state);
    let input = ReportInput {
        plan: &app.plan.plan,
        context: app.context(),
        generated_at: now,
        gates: &gates,
        state: &state,
        decision: &decision,
        journal: &verification,
        metrics: Some(&app.metrics),
        notes: &[],
    };
    let path = dir.join(format!("report-{}.md", now.strftime("%Y%m%dT%H%M%SZ")));
    std::fs::write(&path, report::markdown(&input))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
