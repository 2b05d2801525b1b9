//! `golive check`: wait for the watchers to list (bounded), evaluate every gate once, print.

use crate::cluster::{self, ClusterView, Target};
use crate::gates::{self, GateVerdict, Status, Verdict};
use crate::plan::LoadedPlan;
use jiff::Timestamp;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Evidence lines shown per failing check in text output, unless --verbose.
const EVIDENCE_LINES: usize = 4;

pub const EXIT_GO: u8 = 0;
pub const EXIT_NO_GO: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNKNOWN: u8 = 3;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Plan file or built-in plan name (gravl, volundr).
    #[arg(long)]
    pub plan: String,
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Seconds to wait for every watch to list before judging what is missing as unknown.
    #[arg(long, default_value = "10")]
    pub wait: f64,
    /// Show the evidence of passing checks too.
    #[arg(long, short)]
    pub verbose: bool,
    /// A load summary file as evidence for the plan's load gate: golive's own
    /// `load --summary-export`, k6's `--summary-export`, or k6's handleSummary data. The
    /// plan's thresholds are judged on its numbers. Default: the plan's `load: {from: FILE}`;
    /// without either, that gate is unknown.
    #[arg(long, value_name = "FILE")]
    pub load_summary: Option<std::path::PathBuf>,
    /// The go-live's state directory: its journal says when the go-live started (a load
    /// summary written before that is stale), when it deployed and the baselines it
    /// captured (default: $XDG_DATA_HOME/golive/<plan>/).
    #[arg(long)]
    pub state_dir: Option<std::path::PathBuf>,
    /// When the deploy happened, for monitoring checks with a `baseline` (compared with
    /// the same query over the window before it) when no journal says: an RFC 3339 time
    /// (2026-12-04T10:00:00Z) or how long ago (-30m). Overrides the journal's moment.
    #[arg(long, value_name = "RFC3339|-DURATION", value_parser = parse_deployed_at, allow_hyphen_values = true)]
    pub deployed_at: Option<Timestamp>,
}

/// `--deployed-at`: an RFC 3339 time, or `-DURATION` before now.
fn parse_deployed_at(text: &str) -> Result<Timestamp, String> {
    let expected = "expected an RFC 3339 time like 2026-12-04T10:00:00Z or how long ago like -30m";
    if let Some(ago) = text.strip_prefix('-') {
        let d = golive_grammar::parse_duration(ago).map_err(|e| format!("{e}: {expected}"))?;
        let d = jiff::SignedDuration::try_from(d).map_err(|e| format!("{e}: {expected}"))?;
        return Timestamp::now()
            .checked_sub(d)
            .map_err(|e| format!("{e}: {expected}"));
    }
    let at: Timestamp = text.parse().map_err(|e| format!("{e}: {expected}"))?;
    if at > Timestamp::now() {
        return Err(format!("{text} is in the future: {expected}"));
    }
    Ok(at)
}

/// `golive check` from its command line.
pub async fn main(args: CheckArgs) -> ExitCode {
    let loaded = match super::load_plan(&args.plan) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let journal = journal_state(
        &args
            .state_dir
            .unwrap_or_else(|| crate::runbook::default_state_dir(&loaded.plan.name)),
    );
    let deploy = crate::metrics::poll::Deploy {
        at: args.deployed_at.or_else(|| {
            journal
                .as_ref()
                .and_then(|j| crate::runbook::timing::deploy_moment(&loaded.plan.runbook, j))
        }),
        // A deploy moment given by hand is another comparison than the journal's.
        baselines: match (&journal, args.deployed_at) {
            (Some(j), None) => j.baselines.clone(),
            _ => Default::default(),
        },
    };
    // The go-live's moments as the cockpit has them, with the deploy moment as given.
    let mut moments = journal
        .as_ref()
        .map(|j| crate::runbook::timing::moments(&loaded.plan.runbook, j))
        .unwrap_or_default();
    moments.deployed = deploy.at;
    // Without a journal, a load summary written before the deploy describes the version
    // before it: stale as well.
    let started = journal
        .as_ref()
        .and_then(|j| j.started_at)
        .or(args.deployed_at);
    let load = match load_summary_path(&loaded, args.load_summary.as_deref())
        .map(|path| read_load_summary(&path, loaded.plan.load.as_ref(), started))
        .transpose()
    {
        Ok(load) => load,
        Err(e) => {
            eprintln!(
                "golive check: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let options = CheckOptions {
        format: args.format,
        wait: Duration::from_secs_f64(args.wait.max(0.0)),
        verbose: args.verbose,
        load,
        deploy,
        moments,
    };
    run(loaded, args.cluster.target(), options).await
}

#[derive(Serialize)]
struct Report<'a> {
    plan: &'a str,
    context: &'a str,
    server: &'a str,
    evaluated_at: Timestamp,
    verdict: Verdict,
    reason: String,
    /// Prometheus's and Alertmanager's state, as `context` and `server` are the cluster's.
    #[serde(skip_serializing_if = "Option::is_none")]
    monitoring: Option<String>,
    gates: &'a [GateVerdict],
}

/// Watches the plan's resources until every one has listed or failed, or `wait` runs out.
pub async fn observe(
    loaded: &LoadedPlan,
    target: &Target,
    wait: Duration,
) -> Result<ClusterView, cluster::ConnectError> {
    observe_keys(gates::plan_watch_specs(&loaded.plan), target, wait).await
}

/// Runs `watches` until every one has listed or failed, or `wait` runs out.
pub async fn observe_keys<W: Into<cluster::Watch>>(
    watches: Vec<W>,
    target: &Target,
    wait: Duration,
) -> Result<ClusterView, cluster::ConnectError> {
    let connection = cluster::connect(target).await?;
    let watches: Vec<cluster::Watch> = watches.into_iter().map(Into::into).collect();
    let mut view = ClusterView::for_watches(&connection.context, &connection.server, &watches);
    let (tx, mut rx) = mpsc::channel(256);
    let tasks = cluster::watch::spawn_watchers(&connection.client, watches, tx);
    let deadline = tokio::time::Instant::now() + wait;
    let settled = |view: &ClusterView| view.keys().all(|(_, s)| s.synced || s.error.is_some());
    while !settled(&view) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(event)) => {
                cluster::log_event(&event);
                view.apply(event, Timestamp::now());
            }
            Ok(None) | Err(_) => break,
        }
    }
    // Drain what already arrived so the verdict uses the newest state.
    while let Ok(event) = rx.try_recv() {
        view.apply(event, Timestamp::now());
    }
    for task in tasks {
        task.abort();
    }
    Ok(view)
}

pub fn evaluate(loaded: &LoadedPlan, view: &ClusterView, ctx: &gates::Context) -> Vec<GateVerdict> {
    loaded
        .plan
        .gates
        .iter()
        .map(|g| gates::evaluate_gate(g, view, ctx))
        .collect()
}

pub fn exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Go => EXIT_GO,
        Verdict::NoGo => EXIT_NO_GO,
        Verdict::Unknown => EXIT_UNKNOWN,
    }
}

/// The summary file to judge: `--load-summary`, else the plan's `load: {from: FILE}`.
pub fn load_summary_path(
    loaded: &LoadedPlan,
    flag: Option<&std::path::Path>,
) -> Option<std::path::PathBuf> {
    flag.map(std::path::Path::to_path_buf).or_else(|| {
        let from = loaded.plan.load.as_ref()?.from.as_ref()?;
        Some(from.into())
    })
}

/// The go-live whose journal is in `dir`, replayed; `None` without a readable journal.
pub fn journal_state(dir: &std::path::Path) -> Option<crate::runbook::state::RunbookState> {
    use crate::runbook::journal;
    if !dir.join(journal::FILE_NAME).exists() {
        return None;
    }
    let (entries, _) = journal::verify_dir(dir).ok()?;
    Some(crate::runbook::state::RunbookState::replay(&entries))
}

/// Reads a load summary file (golive's export or one of k6's) as evidence for the load
/// gate, judged on the plan's thresholds; one written before `started` is stale.
pub fn read_load_summary(
    path: &std::path::Path,
    plan: Option<&golive_load::LoadConfig>,
    started: Option<Timestamp>,
) -> Result<gates::LoadEvidence, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok());
    let shown = path.display().to_string();
    let file = gates::load_file::SummaryFile {
        path: &shown,
        text: &text,
        modified,
    };
    Ok(gates::load_file::evidence(&file, plan)?.against_start(started))
}

pub struct CheckOptions {
    pub format: Format,
    pub wait: Duration,
    pub verbose: bool,
    pub load: Option<gates::LoadEvidence>,
    pub deploy: crate::metrics::poll::Deploy,
    pub moments: gates::Moments,
}

pub async fn run(loaded: LoadedPlan, target: Target, options: CheckOptions) -> ExitCode {
    let CheckOptions {
        format,
        wait,
        verbose,
        load,
        deploy,
        moments,
    } = options;
    // HTTP, SSE and TCP probes run while the watchers list.
    let (view, probes, metrics) = tokio::join!(
        observe(&loaded, &target, wait),
        crate::probe::run_probes(&loaded.plan, wait.max(Duration::from_secs(1))),
        crate::metrics::poll::once(&loaded.plan, &target, &deploy)
    );
    let view = match view {
        Ok(view) => view,
        Err(e) => {
            eprintln!(
                "golive check: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // DNS after the watchers: the hosts to look up are the Ingresses' (`dns_records`).
    let dns = crate::dns::resolve_all(
        &gates::dns_lookups(&loaded.plan, &view),
        crate::dns::LOOKUP_TIMEOUT,
    )
    .await;
    let ctx = gates::Context::new(Timestamp::now())
        .with_load(load)
        .with_moments(moments)
        .with_probes(probes)
        .with_metrics(metrics.map(std::sync::Arc::new))
        .with_dns(dns);
    let verdicts = evaluate(&loaded, &view, &ctx);
    let (verdict, reason) = gates::overall(&verdicts);
    match format {
        Format::Json => {
            let report = Report {
                plan: &loaded.plan.name,
                context: &view.context,
                server: &view.server,
                evaluated_at: ctx.now(),
                verdict,
                reason,
                monitoring: ctx.metrics().map(|m| m.sources_line()),
                gates: &verdicts,
            };
            match serde_json::to_string_pretty(&report) {
                Ok(text) => println!("{text}"),
                Err(e) => {
                    eprintln!("golive check: cannot encode the report: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
        Format::Text => print!(
            "{}",
            render_text(
                &loaded,
                &view,
                ctx.metrics().map(|m| m.sources_line()).as_deref(),
                (verdict, &reason),
                &verdicts,
                verbose
            )
        ),
    }
    ExitCode::from(exit_code(verdict))
}

pub fn render_text(
    loaded: &LoadedPlan,
    view: &ClusterView,
    monitoring: Option<&str>,
    (verdict, reason): (Verdict, &str),
    verdicts: &[GateVerdict],
    verbose: bool,
) -> String {
    use crate::text::for_terminal as safe;
    use std::fmt::Write;
    let mut out = String::new();
    let banner = verdict.word();
    let _ = writeln!(
        out,
        "{} · context {} ({})",
        safe(&loaded.plan.name),
        safe(&view.context),
        safe(&view.server)
    );
    if let Some(m) = monitoring {
        let _ = writeln!(out, "monitoring · {}", safe(m));
    }
    let _ = writeln!(out, "{banner} · {}", safe(reason));
    let width = verdicts.iter().map(|g| g.id.len()).max().unwrap_or(0);
    let mut groups: Vec<&str> = Vec::new();
    for g in verdicts {
        if !groups.contains(&g.group.as_str()) {
            groups.push(&g.group);
        }
    }
    for group in groups {
        let _ = writeln!(out, "\n{group}");
        for g in verdicts.iter().filter(|g| g.group == group) {
            let _ = writeln!(
                out,
                "  {} {:width$}  {}",
                g.status.symbol(),
                g.id,
                safe(&g.summary)
            );
            for c in &g.checks {
                let show = verbose || c.status != Status::Pass;
                if !show {
                    continue;
                }
                if g.checks.len() > 1 || verbose {
                    let _ = writeln!(
                        out,
                        "      {} {}: {}",
                        c.status.symbol(),
                        c.kind,
                        safe(&c.summary)
                    );
                }
                let limit = if verbose { usize::MAX } else { EVIDENCE_LINES };
                for e in c.evidence.iter().take(limit) {
                    let _ = writeln!(out, "        {}: {}", safe(&e.object), safe(&e.detail));
                }
                if c.evidence.len() > limit {
                    let _ = writeln!(
                        out,
                        "        … {} more (--verbose or --format json for all)",
                        c.evidence.len() - limit
                    );
                }
                if let Some(fix) = &c.fix {
                    let _ = writeln!(out, "        fix: {}", safe(fix));
                }
            }
        }
    }
    out
}
