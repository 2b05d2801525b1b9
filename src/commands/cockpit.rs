//! `golive demo` and `golive run`: the cockpit, on the embedded demo or a real cluster.

use super::{ClusterArgs, load_plan};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Clone)]
pub struct CockpitArgs {
    /// Colour theme: default, light, high-contrast, or a file in $XDG_CONFIG_HOME/golive/themes/.
    #[arg(long)]
    pub theme: Option<String>,
    /// Where runbook progress is kept (default: $XDG_DATA_HOME/golive/<plan>/).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Who the journal records as acting (default: GOLIVE_OPERATOR, else $USER).
    #[arg(long)]
    pub operator: Option<String>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Built-in demo plan (gravl, volundr).
    #[arg(long, default_value = "gravl")]
    pub plan: String,
    /// Play the demo's story this many times faster (the deploy comes at 40 s at 1×).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub speed: u32,
    /// Play a built-in fault timeline over the story (an outage, latency, dropped watches,
    /// expired history, a crashed API server, denied Secrets and Pods), to see how golive
    /// shows each and recovers.
    #[arg(long)]
    pub chaos: bool,
    #[command(flatten)]
    pub cockpit: CockpitArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Plan file or built-in plan name (gravl, volundr).
    #[arg(long)]
    pub plan: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub cockpit: CockpitArgs,
}

fn cockpit_exit(result: color_eyre::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("{e:?}");
        ExitCode::from(1)
    })
}

pub async fn demo(args: DemoArgs) -> ExitCode {
    let c = args.cockpit;
    cockpit_exit(
        crate::tui::run_demo(
            &args.plan,
            crate::tui::DemoOptions {
                speed: args.speed,
                chaos: args.chaos,
            },
            c.theme,
            c.state_dir,
            c.operator,
        )
        .await,
    )
}

pub async fn run(args: RunArgs) -> ExitCode {
    let loaded = match load_plan(&args.plan) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = crate::tui::Options {
        plan: loaded,
        target: args.cluster.target(),
        demo: false,
        chaos: false,
        theme: args.cockpit.theme,
        state_dir: args.cockpit.state_dir,
        operator: args.cockpit.operator,
    };
    cockpit_exit(crate::tui::run(options).await)
}
