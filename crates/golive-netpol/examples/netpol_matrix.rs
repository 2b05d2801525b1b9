//! Prints the reachability matrix of YAML manifests as JSON (used by scripts/diff_nca.py).
//! `cargo run --release -p golive-netpol --example netpol_matrix -- 80/TCP,53/UDP a.yaml b.yaml`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use golive_netpol::{ModelBuilder, PortSpec, matrix};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let ports: Vec<PortSpec> = args
        .next()
        .ok_or("usage: netpol_matrix PORTS FILE...")?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let mut builder = ModelBuilder::new();
    for file in args {
        builder.add_yaml_file(file.as_ref())?;
    }
    let model = builder.build();
    println!("{}", matrix(&model, &ports).to_json());
    Ok(())
}
