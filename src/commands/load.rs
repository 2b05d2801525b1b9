//! `golive load`: the plan's `load` section or an ad-hoc URL, headless.

use super::load_plan;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
// Its own group id: the flattened golive_load::cli::LoadArgs already takes `LoadArgs`, and
// clap refuses two groups of one name (a panic in debug builds, completions and man pages).
#[group(id = "golive-load-command")]
pub struct LoadArgs {
    /// Plan file or built-in plan name whose `load` section to run.
    #[arg(long, conflicts_with = "url")]
    pub plan: Option<String>,
    #[command(flatten)]
    pub args: golive_load::cli::LoadArgs,
}

pub async fn run(args: LoadArgs) -> ExitCode {
    let plan_load = match args.plan {
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
    golive_load::cli::run(args.args, plan_load).await
}
