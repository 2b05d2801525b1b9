//! `golive load`: the plan's `load` section or an ad-hoc URL, headless.

use super::load_plan;
use std::process::ExitCode;

// `group(skip)`: the flattened `golive_load::cli::LoadArgs` already owns the group id
// `LoadArgs`; two of them trip clap's debug assertion, so `golive load` panicked in debug builds.
#[derive(clap::Args, Debug)]
#[group(skip)]
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
                Some(load) if load.from.is_some() => {
                    eprintln!(
                        "{}: the plan's load: section judges a summary file (from: {}); there is \
                         nothing for golive to run. Run k6, then `golive check --plan {name}`.",
                        loaded.source,
                        crate::text::for_terminal(load.from.as_deref().unwrap_or_default())
                    );
                    return ExitCode::from(2);
                }
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
