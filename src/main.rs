use clap::{Parser, Subcommand};
use golive::commands::{check, netpol, report, sim};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Terminal cockpit for taking a service live on Kubernetes: gates computed from live
/// cluster evidence, a k6-style load test, and a runbook that keeps its record.
#[derive(Parser)]
#[command(name = "golive", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug, Clone)]
struct ClusterArgs {
    /// Kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: the current context).
    #[arg(long)]
    context: Option<String>,
}

impl ClusterArgs {
    fn target(&self) -> golive::cluster::Target {
        golive::cluster::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
struct CockpitArgs {
    /// Colour theme: default, light, high-contrast, or a file in $XDG_CONFIG_HOME/golive/themes/.
    #[arg(long)]
    theme: Option<String>,
    /// Where runbook progress is kept (default: $XDG_DATA_HOME/golive/<plan>/).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Who the journal records as acting (default: GOLIVE_OPERATOR, else $USER).
    #[arg(long)]
    operator: Option<String>,
}

fn cockpit_exit(result: color_eyre::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("{e:?}");
        ExitCode::from(1)
    })
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate every gate of a plan once against the cluster and print the verdicts.
    /// Exit 0 go, 1 no-go, 3 unknown, 2 usage or plan error.
    Check {
        /// Plan file or built-in plan name (gravl, volundr).
        #[arg(long)]
        plan: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long, value_enum, default_value = "text")]
        format: check::Format,
        /// Seconds to wait for every watch to list before judging what is missing as unknown.
        #[arg(long, default_value = "10")]
        wait: f64,
        /// Show the evidence of passing checks too.
        #[arg(long, short)]
        verbose: bool,
        /// A `golive load --summary-export` file: evidence for the plan's load gate
        /// (without it, that gate is unknown).
        #[arg(long, value_name = "FILE")]
        load_summary: Option<PathBuf>,
    },
    /// Run a k6-style load test: the plan's `load` section, or an ad-hoc URL.
    /// Exit 99 when a threshold fails, 2 on bad input.
    Load {
        /// Plan file or built-in plan name whose `load` section to run.
        #[arg(long, conflicts_with = "url")]
        plan: Option<String>,
        #[command(flatten)]
        args: golive_load::cli::LoadArgs,
    },
    /// NetworkPolicy analysis: reachability matrix, explanations and lints.
    #[command(subcommand)]
    Netpol(netpol::NetpolCommand),
    /// Run the simulated Kubernetes API server (a test double and demo, not a cluster).
    Sim(sim::SimArgs),
    /// Open the cockpit on a simulated cluster and demo service: no cluster needed.
    Demo {
        /// Built-in demo plan (gravl, volundr).
        #[arg(long, default_value = "gravl")]
        plan: String,
        #[command(flatten)]
        cockpit: CockpitArgs,
    },
    /// Open the cockpit on a real cluster.
    Run {
        /// Plan file or built-in plan name (gravl, volundr).
        #[arg(long)]
        plan: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        cockpit: CockpitArgs,
    },
    /// Write the go-live report: verdict, gates with evidence, load results, runbook,
    /// sign-offs and the journal's final hash. Exit codes as for `check`.
    Report {
        #[arg(long)]
        plan: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// State directory holding the journal (default: $XDG_DATA_HOME/golive/<plan>/).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "markdown")]
        format: golive::report::Format,
        /// Write to FILE instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Seconds to wait for the cluster before judging missing evidence unknown.
        #[arg(long, default_value = "10")]
        wait: f64,
    },
    /// Check a go-live journal's hash chain.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Work with go-live plan files.
    #[command(subcommand)]
    Plan(PlanCommand),
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Detect any edited, reordered or removed line, and say where.
    Verify {
        /// The state directory (holding journal.jsonl).
        dir: PathBuf,
        /// A final hash a report printed: the journal must still hold that entry (lines
        /// removed from the end are found only against a hash kept elsewhere).
        #[arg(long, value_name = "HASH")]
        expect: Option<String>,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Check a plan (a file or a built-in name) and print every error as file:line:column.
    Validate {
        /// Plan file, or the name of a built-in plan (gravl, volundr).
        plan: String,
    },
}

fn load_plan(name: &str) -> Result<golive::plan::LoadedPlan, ExitCode> {
    golive::plan::load(name).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    // Output piped into `head` ends quietly, as for any Unix tool, instead of panicking.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // kube and the load engine build rustls configs from the process default; only ring is linked.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("golive: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Check {
                plan,
                cluster,
                format,
                wait,
                verbose,
                load_summary,
            } => {
                let loaded = match load_plan(&plan) {
                    Ok(p) => p,
                    Err(code) => return code,
                };
                let load = match load_summary
                    .as_deref()
                    .map(check::read_load_summary)
                    .transpose()
                {
                    Ok(load) => load,
                    Err(e) => {
                        eprintln!("golive check: {e}");
                        return ExitCode::from(check::EXIT_USAGE);
                    }
                };
                let wait = Duration::from_secs_f64(wait.max(0.0));
                let options = check::CheckOptions {
                    format,
                    wait,
                    verbose,
                    load,
                };
                check::run(loaded, cluster.target(), options).await
            }
            Command::Sim(args) => sim::run(args).await,
            Command::Demo { plan, cockpit } => cockpit_exit(
                golive::tui::run_demo(&plan, cockpit.theme, cockpit.state_dir, cockpit.operator)
                    .await,
            ),
            Command::Run {
                plan,
                cluster,
                cockpit,
            } => {
                let loaded = match load_plan(&plan) {
                    Ok(p) => p,
                    Err(code) => return code,
                };
                let options = golive::tui::Options {
                    plan: loaded,
                    target: cluster.target(),
                    demo: false,
                    theme: cockpit.theme,
                    state_dir: cockpit.state_dir,
                    operator: cockpit.operator,
                };
                cockpit_exit(golive::tui::run(options).await)
            }
            Command::Journal(JournalCommand::Verify { dir, expect }) => {
                report::verify(&dir, expect.as_deref())
            }
            Command::Report {
                plan,
                cluster,
                state_dir,
                format,
                output,
                wait,
            } => {
                let loaded = match load_plan(&plan) {
                    Ok(p) => p,
                    Err(code) => return code,
                };
                let wait = Duration::from_secs_f64(wait.max(0.0));
                let options = report::ReportOptions {
                    state_dir,
                    format,
                    output,
                    wait,
                };
                report::run(loaded, cluster.target(), options).await
            }
            Command::Netpol(command) => netpol::run(command).await,
            Command::Load { plan, args } => {
                let plan_load = match plan {
                    None => None,
                    Some(name) => match load_plan(&name) {
                        Ok(loaded) => match loaded.plan.load {
                            Some(load) => Some(load),
                            None => {
                                eprintln!("{}: the plan has no `load` section", loaded.source);
                                return ExitCode::from(2);
                            }
                        },
                        Err(code) => return code,
                    },
                };
                golive_load::cli::run(args, plan_load).await
            }
            Command::Plan(PlanCommand::Validate { plan }) => match load_plan(&plan) {
                Ok(loaded) => {
                    let p = &loaded.plan;
                    println!(
                        "{}: ok — {} gates, {} runbook phases, {} sign-off roles{}",
                        loaded.source,
                        p.gates.len(),
                        p.runbook.len(),
                        p.signoff.len(),
                        if p.load.is_some() {
                            ", a load test"
                        } else {
                            ""
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            },
        }
    })
}
