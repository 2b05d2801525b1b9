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
    /// Scenario timeline: at t+N s apply, patch or delete objects, or inject a fault (an outage, latency, dropped watches, expired history, a crash, a denied resource; docs/sim.md).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// RBAC manifests (Roles, ClusterRoles and bindings, e.g. `golive rbac` output) that
    /// decide every request, taken to come from the ServiceAccount `--rbac-as`; anything
    /// they do not allow is 403 Forbidden.
    #[arg(long, value_name = "FILE")]
    pub rbac: Option<PathBuf>,
    /// The ServiceAccount requests come from under `--rbac`, as NAMESPACE/NAME.
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = "golive/golive")]
    pub rbac_as: String,
}

/// The authorization `--rbac` and `--rbac-as` describe.
fn authorization(
    path: &std::path::Path,
    rbac_as: &str,
) -> Result<golive_sim::Authorization, String> {
    let (namespace, name) = rbac_as
        .split_once('/')
        .ok_or_else(|| format!("--rbac-as {rbac_as}: expected NAMESPACE/NAME"))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut objects: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
        .map_err(|e| format!("{}: invalid YAML: {e}", path.display()))?;
    objects.retain(|o| !o.is_null());
    Ok(golive_sim::Authorization::service_account(
        namespace, name, objects,
    ))
}

pub async fn run(args: SimArgs) -> ExitCode {
    let authorization = match args
        .rbac
        .as_deref()
        .map(|p| authorization(p, &args.rbac_as))
    {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(e)) => {
            eprintln!("golive sim: {}", crate::text::for_terminal_lines(&e));
            return ExitCode::from(2);
        }
    };
    let config = SimConfig {
        authorization,
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
