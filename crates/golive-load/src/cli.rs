//! `golive load`: headless runs of a plan's load section or an ad-hoc URL.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::LoadConfig;
use crate::duration::GoDuration;
use crate::run::LoadRun;
use crate::summary::progress_line;
use crate::threshold::{Aggregation, Metric, MetricSelector, ThresholdExpr, ThresholdSpec};

/// k6's exit code when thresholds fail.
pub const EXIT_THRESHOLDS_FAILED: u8 = 99;
pub const EXIT_BAD_INPUT: u8 = 2;
/// k6's `ExternalAbort`, which it exits with on a second Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 105;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// URL to test ad hoc (GET, constant-vus, or constant-arrival-rate with --rate).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// VUs (connections); with --rate, the number of pre-allocated VUs.
    #[arg(long, value_name = "N")]
    pub vus: Option<u64>,
    /// Test length, e.g. 30s, 1m30s.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<GoDuration>,
    /// Open model: iterations per second (constant-arrival-rate).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Threshold, `METRIC:EXPR` (e.g. `http_req_failed:rate<0.01`) or a bare duration
    /// expression for http_req_duration (e.g. `p(95)<200`). Repeatable.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Accept any TLS certificate (insecureSkipTLSVerify).
    #[arg(long)]
    pub insecure: bool,
    /// Write the end-of-test summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,
    /// Per-request timeout (default 60s).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<GoDuration>,
    /// Load-generator threads (default: the CPUs available to this process).
    #[arg(long, value_name = "N", env = "GOLIVE_LOAD_WORKERS")]
    pub workers: Option<usize>,
    /// No live progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Parses a `--threshold` argument into a selector and a threshold.
pub fn parse_threshold_arg(arg: &str) -> Result<(MetricSelector, ThresholdSpec), String> {
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in arg.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ':' if depth == 0 => {
                split = Some(i);
                break;
            }
            _ => {}
        }
    }
    let (selector, expr_text) = match split {
        Some(i) => (MetricSelector::parse(&arg[..i])?, &arg[i + 1..]),
        None => (MetricSelector::unfiltered(Metric::HttpReqDuration), arg),
    };
    let expr = ThresholdExpr::parse(expr_text)?;
    if split.is_none()
        && !matches!(
            expr.aggregation,
            Aggregation::Avg
                | Aggregation::Min
                | Aggregation::Max
                | Aggregation::Med
                | Aggregation::Percentile(_)
        )
    {
        return Err(format!(
            "threshold {arg:?} needs a metric: write it as METRIC:EXPR, e.g. http_req_failed:rate<0.01 or http_reqs:rate>100"
        ));
    }
    expr.check_metric(selector.metric)?;
    Ok((
        selector,
        ThresholdSpec {
            expr,
            abort_on_fail: false,
            delay_abort_eval: None,
        },
    ))
}

fn bad_input(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("golive load: {msg}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Builds the config `golive load` will run from flags and an optional plan section.
pub fn build_config(args: &LoadArgs, plan_load: Option<LoadConfig>) -> Result<LoadConfig, String> {
    let mut config = match (plan_load, &args.url) {
        (Some(_), Some(_)) => return Err("give either --plan or --url, not both".into()),
        (Some(plan), None) => {
            if args.vus.is_some() || args.duration.is_some() || args.rate.is_some() {
                return Err("--vus, --duration and --rate apply to --url runs; change the plan's scenarios instead".into());
            }
            plan
        }
        (None, Some(url)) => {
            let parsed = url::Url::parse(url)
                .map_err(|e| format!("--url {url:?} is not a valid URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(format!(
                    "--url {url:?} must be an http:// or https:// URL with a host"
                ));
            }
            let vus = args.vus.unwrap_or(10);
            if vus == 0 {
                return Err("--vus must be at least 1".into());
            }
            if let Some(r) = args.rate
                && !(r > 0.0 && r.is_finite())
            {
                return Err(format!("--rate must be greater than 0, got {r}"));
            }
            let duration = args
                .duration
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(10));
            if duration.is_zero() {
                return Err("--duration must be greater than 0s".into());
            }
            LoadConfig::ad_hoc(url, vus, duration, args.rate)
        }
        (None, None) => return Err("nothing to run: give --url URL (ad hoc) or --plan FILE".into()),
    };
    for t in &args.thresholds {
        let (selector, spec) =
            parse_threshold_arg(t).map_err(|e| format!("--threshold {t:?}: {e}"))?;
        config.thresholds.entry(selector).or_default().push(spec);
    }
    if args.insecure {
        config.insecure_skip_tls_verify = true;
    }
    if let Some(t) = args.timeout {
        config.timeout = t;
    }
    if let Some(w) = args.workers {
        config.workers = Some(w);
    }
    config.validate().map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(config)
}

/// Runs `golive load`. Exit codes: 0 ok, 99 a threshold failed, 2 bad input, 105 stopped
/// at once by a second Ctrl-C.
pub async fn run(args: LoadArgs, plan_load: Option<LoadConfig>) -> ExitCode {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let ctrl_c = tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    let code = run_with_interrupts(args, plan_load, rx).await;
    ctrl_c.abort();
    code
}

/// `run`, with each message on `interrupts` acting as a Ctrl-C: the first stops
/// gracefully, the second at once.
pub async fn run_with_interrupts(
    args: LoadArgs,
    plan_load: Option<LoadConfig>,
    mut interrupts: tokio::sync::mpsc::UnboundedReceiver<()>,
) -> ExitCode {
    let config = match build_config(&args, plan_load) {
        Ok(c) => c,
        Err(e) => return bad_input(e),
    };
    let run = match LoadRun::start(config) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    let tty = std::io::stderr().is_terminal();
    let progress = (!args.quiet).then(|| {
        let mut rx = run.snapshots();
        tokio::spawn(async move {
            let mut last_plain = std::time::Instant::now();
            while rx.changed().await.is_ok() {
                let snap = rx.borrow_and_update().clone();
                if snap.finished {
                    break;
                }
                let line = progress_line(&snap);
                let mut err = std::io::stderr().lock();
                if tty {
                    let _ = write!(err, "\r\x1b[2K{line}");
                    let _ = err.flush();
                } else if last_plain.elapsed() >= Duration::from_secs(5) {
                    last_plain = std::time::Instant::now();
                    let _ = writeln!(err, "{line}");
                }
            }
            if tty {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        })
    });
    let stopper = run.stop_handle();
    let mut interrupted = 0;
    let summary = {
        let wait = run.wait();
        tokio::pin!(wait);
        let mut listening = true;
        loop {
            tokio::select! {
                s = &mut wait => break s,
                i = interrupts.recv(), if listening => match i {
                    None => listening = false,
                    Some(()) => {
                        interrupted += 1;
                        if interrupted == 1 {
                            eprintln!("\ngolive load: stopping (in-flight requests finish or time out; Ctrl-C again to stop at once)…");
                            stopper.stop();
                        } else {
                            eprintln!("\ngolive load: stopping at once (in-flight requests are abandoned)…");
                            stopper.abort();
                            listening = false;
                        }
                    }
                },
            }
        }
    };
    if let Some(p) = progress {
        let _ = p.await;
    }
    print!("{}", summary.render_text());
    if let Some(path) = &args.summary_export {
        let text = match serde_json::to_string_pretty(&summary) {
            Ok(t) => t,
            Err(e) => return bad_input(format!("cannot encode the summary: {e}")),
        };
        if let Err(e) = std::fs::write(path, text + "\n") {
            return bad_input(format!(
                "cannot write --summary-export {}: {e}",
                path.display()
            ));
        }
    }
    if interrupted > 1 {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if summary.thresholds_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLDS_FAILED)
    }
}
