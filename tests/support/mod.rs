//! Shared set-up for integration tests: the simulated cluster on loopback, loaded with
//! the Gravl demo manifests, and a live view fed by the real kube watchers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
#![allow(dead_code)]

use golive::cluster::{self, ClusterView, Target};
use golive::gates;
use golive::plan::{self, LoadedPlan};
use golive_sim::{Sim, SimConfig};
use jiff::Timestamp;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn gravl() -> LoadedPlan {
    plan::load_with_env("gravl", |_| None).expect("the built-in gravl plan is valid")
}

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The simulator with the CRDs and the Gravl demo cluster, plus a kubeconfig for it.
pub async fn gravl_sim(deny: &[&str]) -> (Sim, tempfile::TempDir, PathBuf) {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let sim = Sim::start(SimConfig {
        manifests: vec![root().join("assets/crds"), root().join("assets/demo/gravl")],
        deny: deny.iter().map(|s| s.to_string()).collect(),
        kubeconfig_out: Some(kubeconfig.clone()),
        ..Default::default()
    })
    .await
    .expect("the simulator starts with the demo manifests");
    (sim, dir, kubeconfig)
}

/// A view of the plan's resources kept current by the real watchers.
pub struct LiveView {
    pub view: ClusterView,
    rx: mpsc::Receiver<cluster::ClusterEvent>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LiveView {
    pub async fn start(plan: &LoadedPlan, kubeconfig: &std::path::Path) -> Self {
        let target = Target {
            kubeconfig: Some(kubeconfig.to_path_buf()),
            context: None,
        };
        let connection = cluster::connect(&target)
            .await
            .expect("client from the sim kubeconfig");
        let watches = gates::plan_watch_specs(&plan.plan);
        let view = ClusterView::for_watches(&connection.context, &connection.server, &watches);
        let (tx, rx) = mpsc::channel(1024);
        let tasks = cluster::watch::spawn_watchers(&connection.client, watches, tx);
        Self { view, rx, tasks }
    }

    /// Applies events until `done(view)` holds; panics with `what` after `timeout`.
    pub async fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&ClusterView) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.view) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => self.view.apply(event, Timestamp::now()),
                Ok(None) => panic!("watchers ended while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    pub fn gate(&self, plan: &LoadedPlan, id: &str) -> gates::GateVerdict {
        let g = plan
            .plan
            .gates
            .iter()
            .find(|g| g.id.value == id)
            .expect("gate exists");
        gates::evaluate_gate(
            g,
            &self.view,
            &gates::Context {
                now: Timestamp::now(),
                load: None,
                probes: Default::default(),
            },
        )
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
