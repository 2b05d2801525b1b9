//! `golive report`, and the journal verification `golive journal verify` prints.

use crate::cluster::{ClusterEvent, ClusterView, Target, WatchError, WatchErrorKind};
use crate::commands::check::{evaluate, observe};
use crate::gates;
use crate::plan::LoadedPlan;
use crate::report::{self, Format, ReportInput};
use crate::runbook::journal::{self, Verification};
use crate::runbook::state::{RunbookState, decide};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Reads the journal without changing it; a missing journal is an empty go-live.
fn read_journal(dir: &Path) -> Result<(Vec<journal::Entry>, Verification), String> {
    if !dir.join(journal::FILE_NAME).exists() {
        let (entries, verification) = journal::verify_text("");
        return Ok((entries, verification));
    }
    journal::verify_dir(dir).map_err(|e| e.to_string())
}

pub struct ReportOptions {
    pub state_dir: Option<PathBuf>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub wait: Duration,
    /// A load summary file (golive's or k6's) judged instead of the journal's load result.
    pub load_summary: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Plan file or built-in plan name. May be left out with --state-dir: the journal
    /// records its plan at its first entry (journals older than that need --plan).
    #[arg(long)]
    pub plan: Option<String>,
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
    /// State directory holding the journal (default: $XDG_DATA_HOME/golive/<plan>/).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Seconds to wait for the cluster before judging missing evidence unknown.
    #[arg(long, default_value = "10")]
    pub wait: f64,
    /// A load summary file as the load test's result (golive's `load --summary-export`,
    /// k6's `--summary-export` or handleSummary data), judged on the plan's thresholds.
    /// Default: the plan's `load: {from: FILE}`, else the journal's last load test.
    #[arg(long, value_name = "FILE")]
    pub load_summary: Option<PathBuf>,
}

/// `golive report` from its command line.
pub async fn main(args: ReportArgs) -> ExitCode {
    let loaded = match (&args.plan, &args.state_dir) {
        (Some(plan), _) => super::load_plan(plan),
        (None, Some(dir)) => plan_from_journal(dir),
        (None, None) => {
            eprintln!(
                "golive report: pass --plan, or --state-dir of a journal that records its plan"
            );
            Err(ExitCode::from(2))
        }
    };
    let loaded = match loaded {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = ReportOptions {
        state_dir: args.state_dir,
        format: args.format,
        output: args.output,
        wait: Duration::from_secs_f64(args.wait.max(0.0)),
        load_summary: args.load_summary,
    };
    run(loaded, args.cluster.target(), options).await
}

/// The plan a journal recorded at its first entry, parsed as it was written then.
fn plan_from_journal(dir: &Path) -> Result<LoadedPlan, ExitCode> {
    let fail = |message: String| {
        eprintln!(
            "golive report: {}",
            crate::text::for_terminal_lines(&message)
        );
        ExitCode::from(2)
    };
    let (entries, _) = read_journal(dir).map_err(fail)?;
    let Some(recorded) = journal::recorded_plan(&entries) else {
        return Err(fail(format!(
            "{} records no plan (it is empty, or older than golive recording its plan): pass --plan",
            dir.join(journal::FILE_NAME).display()
        )));
    };
    let file = format!("{} (as recorded in the journal)", recorded.source);
    crate::plan::parse(&file, recorded.text, |k| std::env::var(k).ok())
        .map_err(|errors| fail(errors.to_string()))
}

pub async fn run(loaded: LoadedPlan, target: Target, options: ReportOptions) -> ExitCode {
    let dir = options
        .state_dir
        .unwrap_or_else(|| crate::runbook::default_state_dir(&loaded.plan.name));
    // The log joins an existing state directory; a report never creates one.
    let logged = dir.is_dir() && crate::log::to_state_dir(&dir).is_ok();
    if !logged && let Err(e) = crate::log::to_stderr_if_asked() {
        eprintln!("golive report: {e}");
    }
    let (entries, verification) = match read_journal(&dir) {
        Ok(j) => j,
        Err(e) => {
            eprintln!(
                "golive report: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    let mut notes = Vec::new();
    if let Some(mismatch) = journal::recorded_plan(&entries).and_then(|r| r.mismatch(&loaded)) {
        eprintln!("golive report: {}", crate::text::for_terminal(&mismatch));
        notes.push(mismatch);
    }
    let mut state = RunbookState::replay_checked(&entries, &verification);
    if let Some(path) = super::check::load_summary_path(&loaded, options.load_summary.as_deref()) {
        match super::check::read_load_summary(&path, loaded.plan.load.as_ref(), state.started_at) {
            Ok(evidence) => {
                state.load = Some(evidence);
                state.load_stats = None;
            }
            // A file named on the command line is the operator's input: refused in words.
            Err(e) if options.load_summary.is_some() => {
                eprintln!("golive report: {}", crate::text::for_terminal_lines(&e));
                return ExitCode::from(2);
            }
            // The plan's `load: {from}` file may be on another machine: the report is still
            // written, the load gate unknown, and the note says why.
            Err(e) => {
                let note = format!("load summary not read, the load gate is unknown: {e}");
                eprintln!("golive report: {}", crate::text::for_terminal_lines(&note));
                notes.push(note);
            }
        }
    }
    let deploy = crate::metrics::poll::Deploy {
        at: crate::runbook::timing::deploy_moment(&loaded.plan.runbook, &state),
        baselines: state.baselines.clone(),
    };
    let (view, probes, metrics) = tokio::join!(
        observe(&loaded, &target, options.wait),
        crate::probe::run_probes(&loaded.plan, options.wait.max(Duration::from_secs(1))),
        crate::metrics::poll::once(&loaded.plan, &target, &deploy)
    );
    // No cluster is no reason to withhold the record: the report is written from the
    // journal, with the gates that read the cluster unknown.
    let view = match view {
        Ok(view) => view,
        Err(e) => unreachable_view(&loaded, &e.to_string()),
    };
    // DNS after the watchers: the hosts to look up are the Ingresses' (`dns_records`).
    let dns = crate::dns::resolve_all(
        &gates::dns_lookups(&loaded.plan, &view),
        crate::dns::LOOKUP_TIMEOUT,
    )
    .await;
    let unreachable = report::offline::unreachable_reason(&view);
    let ctx = gates::Context::new(Timestamp::now())
        .with_load(state.load.clone())
        .with_probes(probes)
        .with_moments(crate::runbook::timing::moments(
            &loaded.plan.runbook,
            &state,
        ))
        // The baselines the journal holds: the report compares against the same numbers.
        .with_metrics(metrics.map(std::sync::Arc::new))
        .with_dns(dns);
    let mut verdicts = evaluate(&loaded, &view, &ctx);
    if let Some(reason) = &unreachable {
        let recorded = report::offline::last_gate_verdicts(&entries);
        report::offline::mark_unreachable(
            &loaded.plan,
            &view,
            &ctx,
            &mut verdicts,
            reason,
            &recorded,
        );
        let note = format!(
            "the cluster could not be reached ({reason}): this report is written from the \
             journal; gates that read the cluster are unknown, shown with the last verdict \
             the journal holds"
        );
        eprintln!("golive report: {}", crate::text::for_terminal(&note));
        notes.push(note);
    }
    let decision = decide(&loaded.plan, &verdicts, &state);
    let context = if view.context.is_empty() {
        "(no cluster)"
    } else {
        view.context.as_str()
    };
    let input = ReportInput {
        plan: &loaded.plan,
        context,
        generated_at: ctx.now(),
        gates: &verdicts,
        state: &state,
        decision: &decision,
        journal: &verification,
        metrics: ctx.metrics(),
        notes: &notes,
    };
    let text = match options.format {
        Format::Markdown => report::markdown(&input),
        Format::Json => match serde_json::to_string_pretty(&report::json(&input)) {
            Ok(t) => t + "\n",
            Err(e) => {
                eprintln!(
                    "golive report: {}",
                    crate::text::for_terminal_lines(&e.to_string())
                );
                return ExitCode::from(2);
            }
        },
        Format::Junit => report::junit(&input),
    };
    match options.output {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("golive report: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
            eprintln!("golive report: written to {}", path.display());
        }
        None => print!("{text}"),
    }
    ExitCode::from(super::check::exit_code(decision.verdict))
}

/// A view in which every watch the plan needs failed to reach the cluster for `reason`.
fn unreachable_view(loaded: &LoadedPlan, reason: &str) -> ClusterView {
    let watches = gates::plan_watch_specs(&loaded.plan);
    let mut view = ClusterView::for_watches("", "", &watches);
    let now = Timestamp::now();
    for w in watches {
        view.apply(
            ClusterEvent::Failed {
                key: w.key,
                error: WatchError {
                    kind: WatchErrorKind::Unreachable,
                    message: reason.to_string(),
                },
            },
            now,
        );
    }
    view
}

/// `golive journal verify DIR [--expect HASH]`: exit 0 when the chain is intact (and holds
/// the entry a report named), 1 with the lines otherwise.
pub fn verify(dir: &Path, expect: Option<&str>) -> ExitCode {
    match journal::verify_dir(dir) {
        Err(e) => {
            eprintln!(
                "golive journal: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            ExitCode::from(2)
        }
        Ok((entries, mut v)) => {
            if let Some(hash) = expect {
                journal::check_anchor(&entries, hash, &mut v);
            }
            let path = dir.join(journal::FILE_NAME);
            if let Some(line) = v.torn_tail {
                println!(
                    "{}:{line}: last line cut short (interrupted write); ignored",
                    path.display()
                );
            }
            for (line, problem) in &v.problems {
                println!(
                    "{}:{line}: {}",
                    path.display(),
                    crate::text::for_terminal(problem)
                );
            }
            if v.ok() {
                println!(
                    "{}: {} entries, chain intact, final hash {}",
                    path.display(),
                    v.entries,
                    v.final_hash
                );
                ExitCode::SUCCESS
            } else {
                println!(
                    "{}: chain BROKEN ({} problems)",
                    path.display(),
                    v.problems.len()
                );
                ExitCode::from(1)
            }
        }
    }
}
