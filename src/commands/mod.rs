//! The subcommands. `main.rs` parses and dispatches; each module here holds one
//! subcommand's arguments and body and returns the process exit code.

pub mod check;
pub mod cockpit;
pub mod docs;
pub mod journal;
pub mod load;
pub mod netpol;
pub mod plan;
pub mod rbac;
pub mod report;
pub mod sim;

use crate::plan::LoadedPlan;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which cluster to talk to.
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (default: the current context).
    #[arg(long)]
    pub context: Option<String>,
}

impl ClusterArgs {
    pub fn target(&self) -> crate::cluster::Target {
        crate::cluster::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}

/// Loads a plan by file or built-in name; a bad plan prints its positioned errors, exit 2.
pub fn load_plan(name: &str) -> Result<LoadedPlan, ExitCode> {
    crate::plan::load(name).map_err(|errors| {
        eprintln!("{}", crate::text::for_terminal_lines(&errors.to_string()));
        ExitCode::from(2)
    })
}
