//! `golive demo`: the simulated cluster with a built-in scenario and a demo HTTP service,
//! both on 127.0.0.1, and a plan pointed at them. Nothing outside the machine is needed.

pub mod dns_standin;
pub mod http_metrics;
pub mod service;
pub mod standin;

use crate::plan::{self, LoadedPlan, PlanErrors};
use golive_sim::{NamedText, Sim, SimConfig};
use service::DemoService;
use std::path::PathBuf;

const CRDS: &[(&str, &str)] = &[
    (
        "assets/crds/cert-manager.yaml",
        include_str!("../../assets/crds/cert-manager.yaml"),
    ),
    (
        "assets/crds/sealed-secrets.yaml",
        include_str!("../../assets/crds/sealed-secrets.yaml"),
    ),
    (
        "assets/crds/kyverno.yaml",
        include_str!("../../assets/crds/kyverno.yaml"),
    ),
    (
        "assets/crds/envoy-gateway.yaml",
        include_str!("../../assets/crds/envoy-gateway.yaml"),
    ),
    (
        "assets/crds/gateway-api.yaml",
        include_str!("../../assets/crds/gateway-api.yaml"),
    ),
    (
        "assets/crds/trivy-operator.yaml",
        include_str!("../../assets/crds/trivy-operator.yaml"),
    ),
    (
        "assets/crds/velero.yaml",
        include_str!("../../assets/crds/velero.yaml"),
    ),
];

const GRAVL: &[(&str, &str)] = &[
    (
        "assets/demo/gravl/cluster.yaml",
        include_str!("../../assets/demo/gravl/cluster.yaml"),
    ),
    (
        "assets/demo/gravl/network-policies.yaml",
        include_str!("../../assets/demo/gravl/network-policies.yaml"),
    ),
    (
        "assets/demo/gravl/rbac.yaml",
        include_str!("../../assets/demo/gravl/rbac.yaml"),
    ),
    (
        "assets/demo/gravl/operations.yaml",
        include_str!("../../assets/demo/gravl/operations.yaml"),
    ),
];
const VOLUNDR: &[(&str, &str)] = &[(
    "assets/demo/volundr/cluster.yaml",
    include_str!("../../assets/demo/volundr/cluster.yaml"),
)];
const GRAVL_SCENARIO: &str = include_str!("../../assets/demo/scenarios/gravl.yaml");
/// `golive demo --chaos`: API server faults played over the story.
pub const CHAOS_SCENARIO: &str = include_str!("../../assets/demo/scenarios/chaos.yaml");

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo cluster did not start: {0}")]
    Sim(#[from] golive_sim::SimError),
    #[error("the demo service did not start: {0}")]
    Service(#[from] std::io::Error),
    #[error("{0}")]
    Plan(#[from] PlanErrors),
    #[error("no demo for plan `{0}` (demos: gravl, volundr)")]
    UnknownPlan(String),
}

/// A running demo. Dropping it stops the service; call `shutdown` to stop the simulator.
pub struct Demo {
    pub sim: Sim,
    pub service: DemoService,
    /// The Prometheus and Alertmanager stand-in (a stand-in, not a Prometheus).
    pub monitor: standin::StandIn,
    /// The DNS stand-in answering the demo Ingress's hosts (a stand-in, not a DNS server).
    pub dns: dns_standin::DnsStandIn,
    pub plan: LoadedPlan,
    pub kubeconfig: PathBuf,
    dir: PathBuf,
}

impl Demo {
    pub async fn shutdown(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        self.sim.shutdown().await;
    }
}

/// Starts the simulated cluster, the demo service and the plan `name` pointed at both.
pub async fn start(name: &str) -> Result<Demo, DemoError> {
    start_at_speed(name, 1).await
}

/// [`start`], with the story's timeline played `speed` times faster.
pub async fn start_at_speed(name: &str, speed: u32) -> Result<Demo, DemoError> {
    start_with(name, speed, false).await
}

/// [`start_at_speed`], with the built-in fault timeline ([`CHAOS_SCENARIO`]) played over
/// the story when `chaos` is set.
pub async fn start_with(name: &str, speed: u32, chaos: bool) -> Result<Demo, DemoError> {
    let (manifests, scenario) = match name {
        "gravl" => (GRAVL, Some(GRAVL_SCENARIO)),
        "volundr" => (VOLUNDR, None),
        other => return Err(DemoError::UnknownPlan(other.to_string())),
    };
    let service = DemoService::start().await?;
    // One directory per demo: tests start several demos in one process.
    static DEMOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DEMOS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("golive-demo-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    let sim = Sim::start(SimConfig {
        manifest_texts: CRDS
            .iter()
            .chain(manifests)
            .map(|(name, text)| NamedText::new(*name, *text))
            .collect(),
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await?;
    if let Some(text) = scenario {
        let story = golive_sim::Scenario::from_text("assets/demo/scenarios/gravl.yaml", text)?;
        sim.play(story.faster(speed))?;
    }
    if chaos {
        let faults =
            golive_sim::Scenario::from_text("assets/demo/scenarios/chaos.yaml", CHAOS_SCENARIO)?;
        sim.play(faults.faster(speed))?;
    }
    let url = service.url();
    let monitor = standin::StandIn::start(speed).await?;
    let monitor_url = monitor.url();
    let dns = dns_standin::DnsStandIn::start(dns_standin::gravl_records()).await?;
    let dns_address = dns.address();
    let plan = plan::load_with_env(name, |var| match var {
        "GRAVL_API_URL" | "VOLUNDR_URL" => Some(url.clone()),
        "GRAVL_PROMETHEUS_URL" | "GRAVL_ALERTMANAGER_URL" => Some(monitor_url.clone()),
        "GRAVL_DNS_SERVER" => Some(dns_address.clone()),
        other => std::env::var(other).ok(),
    })?;
    Ok(Demo {
        sim,
        service,
        monitor,
        dns,
        plan,
        kubeconfig,
        dir,
    })
}
