use clap::{CommandFactory, Parser, Subcommand};
use golive::commands::{check, cockpit, docs, journal, load, netpol, plan, rbac, report, sim};
use std::process::ExitCode;

/// Terminal cockpit for taking a service live on Kubernetes: gates computed from live
/// cluster evidence, a k6-style load test, and a runbook that keeps its record.
#[derive(Parser)]
#[command(name = "golive", version = golive::VERSION, about, long_about = None)]
struct Cli {
    /// Log filter (`info`, `debug`, or a RUST_LOG directive such as `golive=debug,kube=info`);
    /// default RUST_LOG, else info for golive. The cockpit and `report` log to golive.log in
    /// the state directory; other commands to standard error, only when asked.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
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
    /// Print the shell completion script: `golive completions bash > ~/.local/share/bash-completion/completions/golive`.
    Completions(docs::CompletionsArgs),
    /// Print the man page (golive.1), or write every page with --out-dir.
    Man(docs::ManArgs),
}

fn main() -> ExitCode {
    // Output piped into `head` ends quietly, as for any Unix tool, instead of panicking.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A file size limit (ulimit -f) must refuse the write, which the journal reports and
    // cuts back, not kill golive with the terminal still in raw mode.
    #[cfg(unix)]
    // SAFETY: ignoring a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    // kube and the load engine build rustls configs from the process default; only ring is linked.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Completions(args) => return docs::completions(args, Cli::command()),
        Command::Man(args) => return docs::man(args, Cli::command()),
        command => command,
    };
    golive::log::set_level(cli.log_level);
    // The cockpit and `report` log to their state directory once they know it.
    if !matches!(
        command,
        Command::Run(_) | Command::Demo(_) | Command::Report(_)
    ) && let Err(e) = golive::log::to_stderr_if_asked()
    {
        eprintln!("golive: {e}");
        return ExitCode::from(2);
    }
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
        match command {
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
            Command::Completions(_) | Command::Man(_) => ExitCode::SUCCESS,
        }
    })
}
