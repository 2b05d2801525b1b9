//! Cluster access: client from kubeconfig, watchers, and the view they feed.

pub mod projection;
pub mod resource;
pub mod stored;
pub mod view;
pub mod watch;

pub use projection::{Projection, Reads};
pub use resource::*;
pub use stored::{RawObject, Stored};
pub use view::*;

use std::path::PathBuf;

/// Where to find the cluster: `--kubeconfig`, `--context`, else `KUBECONFIG`, `~/.kube/config`
/// or the in-cluster service account.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

pub struct Connection {
    pub client: kube::Client,
    pub context: String,
    pub server: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no usable cluster configuration ({0}); pass --kubeconfig or set KUBECONFIG")]
    Infer(String),
    #[error("cannot build a Kubernetes client: {0}")]
    Client(String),
}

/// Logs what the log is for: a watch that failed (each failure, so one that keeps
/// failing shows as a run of lines) and the list that ended it.
pub fn log_event(event: &ClusterEvent) {
    match event {
        ClusterEvent::Failed { key, error } => tracing::warn!(
            watch = %key.resource.qualified_name(),
            namespace = key.namespace.as_deref().unwrap_or("*"),
            kind = ?error.kind,
            error = %error.message,
            "watch failed"
        ),
        ClusterEvent::Synced { key, objects } => tracing::debug!(
            watch = %key.resource.qualified_name(),
            namespace = key.namespace.as_deref().unwrap_or("*"),
            objects = objects.len(),
            "listed"
        ),
        ClusterEvent::Applied { .. } | ClusterEvent::Deleted { .. } => {}
    }
}

/// A client for the cluster. It does not retry 429/503/504 answers itself (kube's default
/// retries a 503 with `Retry-After` for minutes, during which a watch would look current
/// while nothing is refreshed): the watchers retry on their own short backoff and report
/// each failure, so an outage shows as stale evidence at once; a Service asked through
/// the API server's proxy shows its 503 ("no endpoints available") and is asked again
/// next round.
pub async fn connect(target: &Target) -> Result<Connection, ConnectError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let (config, context) = match &target.kubeconfig {
        Some(path) => {
            let kubeconfig_error = |source| ConnectError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let kc = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            let context = target
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .unwrap_or_default();
            let config = kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(kubeconfig_error)?;
            (config, context)
        }
        None if target.context.is_some() => {
            let config = kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| ConnectError::Infer(e.to_string()))?;
            (config, target.context.clone().unwrap_or_default())
        }
        None => {
            let config = kube::Config::infer()
                .await
                .map_err(|e| ConnectError::Infer(e.to_string()))?;
            let context = Kubeconfig::read()
                .ok()
                .and_then(|k| k.current_context)
                .unwrap_or_else(|| "in-cluster".into());
            (config, context)
        }
    };
    let mut config = config;
    config.default_retry = false;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| ConnectError::Client(e.to_string()))?;
    Ok(Connection {
        client,
        context,
        server,
    })
}
