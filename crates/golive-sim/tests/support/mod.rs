//! Shared helpers: start the simulated API server on the test fixtures and
//! connect the real kube client to it over loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use golive_sim::{Sim, SimConfig};

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn crds_dir() -> PathBuf {
    crate_dir().join("../../assets/crds")
}

pub fn fixtures_dir() -> PathBuf {
    crate_dir().join("tests/fixtures")
}

/// The fixture cluster plus the shipped CRDs.
pub fn fixture_config() -> SimConfig {
    SimConfig {
        manifests: vec![crds_dir(), fixtures_dir()],
        ..SimConfig::default()
    }
}

pub async fn start_fixture_sim() -> Sim {
    Sim::start(fixture_config())
        .await
        .expect("fixture manifests load and the sim binds a loopback port")
}

pub fn client_for(sim: &Sim) -> kube::Client {
    let url = sim.url().parse().expect("sim URL is a valid URI");
    kube::Client::try_from(kube::Config::new(url)).expect("kube client builds for a plain HTTP URL")
}

/// Polls `condition` until it holds, failing the test after 10 s.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if condition().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
