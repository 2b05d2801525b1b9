//! `golive sim`: the simulated Kubernetes API server on its own, until SIGINT/SIGTERM.

use golive_sim::{Sim, SimConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Manifest file or directory of multi-document YAML (repeatable). Any kind; CRD
    /// kinds need their CustomResourceDefinition among the manifests (see assets/crds).
    #[arg(long, required = true)]
    pub manifests: Vec<PathBuf>,
    /// Write a kubeconfig for the simulator here once it listens.
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Address to listen on (default: 127.0.0.1 with a free port).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Answer 403 Forbidden for this resource, e.g. `secrets` or
    /// `clusterissuers.cert-manager.io` (repeatable).
    #[arg(long)]
    pub deny: Vec<String>,
    /// Scenario timeline: at t+N s apply, patch or delete objects (docs/sim.md).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

pub async fn run(args: SimArgs) -> ExitCode {
    let config = SimConfig {
        manifests: args.manifests,
        listen: args.listen,
        deny: args.deny,
        scenario: args.scenario,
        kubeconfig_out: args.kubeconfig_out.clone(),
        ..Default::default()
    };
    let sim = match Sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "golive sim: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "golive sim: simulated Kubernetes API server (a test double, not a cluster) on {} with {} objects",
        sim.url(),
        sim.object_count()
    );
    if let Some(path) = &args.kubeconfig_out {
        eprintln!("golive sim: kubeconfig written to {}", path.display());
    }
    eprintln!(
        "golive sim: request counts at {}/debug/requests; Ctrl-C stops",
        sim.url()
    );
    match golive_sim::serve_until_signal(sim).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "golive sim: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            ExitCode::from(1)
        }
    }
}
