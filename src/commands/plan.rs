//! `golive plan validate`: read a plan and print every error as file:line:column.

use super::load_plan;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum PlanCommand {
    /// Check a plan (a file or a built-in name) and print every error as file:line:column.
    Validate {
        /// Plan file, or the name of a built-in plan (gravl, volundr).
        plan: String,
    },
}

pub fn run(command: PlanCommand) -> ExitCode {
    let PlanCommand::Validate { plan } = command;
    match load_plan(&plan) {
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
    }
}
