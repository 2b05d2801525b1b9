//! Stand-alone `golive load` for benchmarks until the root binary wires `cli::run`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "golive-load",
    about = "golive's k6-style load engine, headless"
)]
struct Cli {
    #[command(flatten)]
    load: golive_load::cli::LoadArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("golive-load: cannot start the runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    runtime.block_on(golive_load::cli::run(cli.load, None))
}
