use clap::{Parser, Subcommand};
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
    /// Work with go-live plan files.
    #[command(subcommand)]
    Plan(PlanCommand),
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Check a plan (a file or a built-in name) and print every error as file:line:column.
    Validate {
        /// Plan file, or the name of a built-in plan (gravl, volundr).
        plan: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Plan(PlanCommand::Validate { plan }) => match golive::plan::load(&plan) {
            Ok(loaded) => {
                let p = &loaded.plan;
                println!(
                    "{}: ok — {} gates, {} runbook phases, {} sign-off roles{}",
                    loaded.source,
                    p.gates.len(),
                    p.runbook.len(),
                    p.signoff.len(),
                    if p.load.is_some() { ", a load test" } else { "" }
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(2)
            }
        },
    }
}
