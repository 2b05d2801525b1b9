use clap::{Parser, Subcommand};
use golive::commands::{check, cockpit, journal, load, netpol, plan, rbac, report, sim};
use std::process::ExitCode;

/// Terminal cockpit for taking a service live on Kubernetes: gates computed from live
/// cluster evidence, a k6-style load test, and a runbook that keeps its record.
#[derive(Parser)]
#[command(name = "golive", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate every gate of a plan once against the cluster and print the verdicts.
    /// Exit 0 go, 1 no-go, 3 unknown, 2 usage or plan error.
    Check(check::CheckArgs),
    /// Run a k6-style load test: the plan's `load` section, or an ad-hoc URL.
    /// Exit 99 when a threshold fails, 2 on bad input.
    Load(load::LoadArgs),
    /// NetworkPolicy analysis: reachability matrix, explanations and lints.
    #[command(subcommand)]
    Netpol(netpol::NetpolCommand),
    /// Run the simulated Kubernetes API server (a test double and demo, not a cluster).
    Sim(sim::SimArgs),
    /// Open the cockpit on a simulated cluster and demo service: no cluster needed.
    Demo(cockpit::DemoArgs),
    /// Open the cockpit on a real cluster.
    Run(cockpit::RunArgs),
    /// Write the go-live report: verdict, gates with evidence, load results, runbook,
    /// sign-offs and the journal's final hash. Exit codes as for `check`.
    Report(report::ReportArgs),
    /// Check a go-live journal's hash chain.
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    /// Work with go-live plan files.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Print the least-privilege RBAC golive needs for a plan (get, list, watch on what
    /// its checks read), ready for `kubectl apply -f -`.
    Rbac(rbac::RbacArgs),
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
            Command::Check(args) => check::main(args).await,
            Command::Load(args) => load::run(args).await,
            Command::Netpol(command) => netpol::run(command).await,
            Command::Sim(args) => sim::run(args).await,
            Command::Demo(args) => cockpit::demo(args).await,
            Command::Run(args) => cockpit::run(args).await,
            Command::Report(args) => report::main(args).await,
            Command::Journal(command) => journal::run(command),
            Command::Plan(command) => plan::run(command),
            Command::Rbac(args) => rbac::run(args),
        }
    })
}
