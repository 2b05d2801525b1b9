//! Prints how long loading 10,000 generated ConfigMaps takes, split into
//! a sequential YAML parse and the whole `Sim::start` (parallel parse + apply).
//! `cargo run --release -p golive-sim --example load_figures`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise
use std::time::Instant;

use golive_sim::{NamedText, Sim, SimConfig};

/// serde-saphyr's default budget stops at 1,024 documents.
fn lifted_budget() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_documents = 1_000_000;
    budget.max_nodes = 100_000_000;
    budget.max_events = 100_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:05}\n  namespace: ns-{}\n  labels: {{app: load}}\ndata:\n  key: value-{i}\n",
            i % 20
        ));
    }
    for _ in 0..3 {
        let started = Instant::now();
        let documents: Vec<serde_json::Value> =
            serde_saphyr::from_multiple_with_options(&text, lifted_budget())?;
        println!(
            "sequential parse of {} documents: {:?}",
            documents.len(),
            started.elapsed()
        );
        let started = Instant::now();
        let sim = Sim::start(SimConfig {
            manifest_texts: vec![NamedText::new("10k.yaml", text.clone())],
            ..SimConfig::default()
        })
        .await?;
        println!("Sim::start with 10,000 objects: {:?}", started.elapsed());
        sim.shutdown().await;
    }
    Ok(())
}
