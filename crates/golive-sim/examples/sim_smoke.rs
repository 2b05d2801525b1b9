//! Starts the simulated API server on the fixtures and waits for Ctrl-C.
//! `cargo run -p golive-sim --example sim_smoke -- KUBECONFIG_OUT [PATH...]`;
//! `GOLIVE_SIM_SCENARIO=FILE` plays a scenario timeline too.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
use golive_sim::{Sim, SimConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kubeconfig = args
        .next()
        .ok_or("usage: sim_smoke KUBECONFIG_OUT [PATH...]")?;
    let manifests = args.map(Into::into).collect();
    let sim = Sim::start(SimConfig {
        manifests,
        kubeconfig_out: Some(kubeconfig.into()),
        scenario: std::env::var_os("GOLIVE_SIM_SCENARIO").map(Into::into),
        ..SimConfig::default()
    })
    .await?;
    println!("golive-sim listening on {}", sim.url());
    golive_sim::serve_until_signal(sim).await?;
    Ok(())
}
