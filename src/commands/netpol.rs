//! `golive netpol matrix|explain|lint`: NetworkPolicy analysis of manifests or the live cluster.

use super::check::observe_keys;
use crate::cluster::Target;
use golive_netpol::{self as np, EndpointPreference, Model, ModelBuilder, PortSpec, Severity};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Source {
    /// Manifest file or directory (repeatable). Without it, the live cluster is read.
    #[arg(long)]
    pub manifests: Vec<PathBuf>,
    /// Kubeconfig for the live cluster (default: KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for the live cluster.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum NetpolCommand {
    /// Reachability between every pair of distinct endpoints on each port.
    Matrix {
        #[command(flatten)]
        source: Source,
        /// Port to evaluate, e.g. 80/TCP or 53/UDP (repeatable; default 80/TCP).
        #[arg(long = "port")]
        ports: Vec<PortSpec>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Whether one endpoint can reach another on a port, and why.
    Explain {
        #[command(flatten)]
        source: Source,
        /// Source endpoint: namespace/name, an IP, or `external`.
        #[arg(long)]
        from: String,
        /// Destination endpoint: namespace/name, an IP, or `external`.
        #[arg(long)]
        to: String,
        /// Port, e.g. 53/UDP or 443 (TCP).
        #[arg(long)]
        port: PortSpec,
    },
    /// Policy mistakes: selectors matching nothing, broken DNS egress, unused policies.
    Lint {
        #[command(flatten)]
        source: Source,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

fn yaml_files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            yaml_files(&entry, out)?;
        }
    } else if path
        .extension()
        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        || !path.exists()
    {
        out.push(path.to_path_buf());
    }
    Ok(())
}

async fn model(source: &Source) -> Result<Model, String> {
    if !source.manifests.is_empty() {
        let mut files = Vec::new();
        for path in &source.manifests {
            yaml_files(path, &mut files).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let mut builder = ModelBuilder::new().prefer(EndpointPreference::Workloads);
        for file in files {
            builder.add_yaml_file(&file).map_err(|e| e.to_string())?;
        }
        return Ok(builder.build());
    }
    let target = Target {
        kubeconfig: source.kubeconfig.clone(),
        context: source.context.clone(),
    };
    let view = observe_keys(
        crate::gates::netpol::watches_for(None),
        &target,
        Duration::from_secs(15),
    )
    .await
    .map_err(|e| e.to_string())?;
    for (key, state) in view.keys() {
        if let Some((_, error)) = &state.error {
            return Err(format!("cannot read {key}: {}", error.message));
        }
        if !state.synced {
            return Err(format!("{key} did not list within 15s"));
        }
    }
    crate::gates::netpol::model(&view, None).map(|m| (*m).clone())
}

pub async fn run(command: NetpolCommand) -> ExitCode {
    let source = match &command {
        NetpolCommand::Matrix { source, .. }
        | NetpolCommand::Explain { source, .. }
        | NetpolCommand::Lint { source, .. } => source,
    };
    let model = match model(source).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "golive netpol: {}",
                crate::text::for_terminal_lines(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    match command {
        NetpolCommand::Matrix { ports, format, .. } => {
            let ports = if ports.is_empty() {
                vec![PortSpec {
                    port: 80,
                    protocol: np::Protocol::Tcp,
                }]
            } else {
                ports
            };
            let matrix = np::matrix(&model, &ports);
            match format {
                Format::Text => print!("{}", crate::text::for_terminal_lines(&matrix.to_string())),
                Format::Json => println!("{}", matrix.to_json()),
            }
            ExitCode::SUCCESS
        }
        NetpolCommand::Explain { from, to, port, .. } => {
            match np::explain(&model, &from, &to, port) {
                Ok(explanation) => {
                    print!(
                        "{}",
                        crate::text::for_terminal_lines(&explanation.to_string())
                    );
                    if explanation.allowed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!(
                        "golive netpol: {}",
                        crate::text::for_terminal_lines(&e.to_string())
                    );
                    ExitCode::from(2)
                }
            }
        }
        NetpolCommand::Lint { format, .. } => {
            let lints = np::lint(&model);
            match format {
                Format::Text => {
                    if lints.is_empty() {
                        println!("no findings");
                    }
                    for lint in &lints {
                        println!("{}", crate::text::for_terminal_lines(&lint.to_string()));
                    }
                }
                Format::Json => match serde_json::to_string_pretty(&lints) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!(
                            "golive netpol: {}",
                            crate::text::for_terminal_lines(&e.to_string())
                        );
                        return ExitCode::from(2);
                    }
                },
            }
            if lints.iter().any(|l| l.severity <= Severity::Warning) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
