//! Prints gate findings, lints and explanations for the Gravl fixtures.
//! `cargo run -p golive-netpol --example gravl_report [broken|fixed]`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use golive_netpol::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let which = std::env::args().nth(1).unwrap_or_else(|| "broken".into());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut b = ModelBuilder::new();
    b.add_yaml_file(format!("{dir}/gravl-cluster.yaml").as_ref())?;
    b.add_yaml_file(format!("{dir}/gravl-policies-{which}.yaml").as_ref())?;
    b.add_external("external")?;
    let model = b.build();
    let ns = "gravl-staging";
    let show = |name: &str, f: Finding| {
        println!("== {name}: {} — {}", f.status, f.summary);
        for e in &f.evidence {
            println!("   evidence: {e}");
        }
        if let Some(fix) = &f.fix {
            println!("   fix: {fix}");
        }
    };
    show(
        "default deny",
        default_deny(&model, ns, &[Direction::Ingress, Direction::Egress]),
    );
    show("dns egress", dns_egress(&model, ns, &DnsTarget::default()));
    let sel = |s: &str| s.parse::<EndpointSelector>();
    let p = |s: &str| s.parse::<PortSpec>();
    show(
        "ingress->backend",
        allow(
            &model,
            &sel("ingress-nginx/*")?,
            &sel("gravl-staging[app=backend]")?,
            &[p("3000/TCP")?],
        ),
    );
    show(
        "ingress->frontend",
        allow(
            &model,
            &sel("ingress-nginx/*")?,
            &sel("gravl-staging[app=frontend]")?,
            &[p("80")?, p("443")?],
        ),
    );
    show(
        "monitoring->all",
        allow(
            &model,
            &sel("gravl-monitoring/*")?,
            &sel("gravl-staging/*")?,
            &[p("3001")?],
        ),
    );
    show(
        "backend->postgres",
        allow(
            &model,
            &sel("gravl-staging[app=backend]")?,
            &sel("gravl-staging[app=postgres]")?,
            &[p("5432")?],
        ),
    );
    show(
        "backend->external",
        allow(
            &model,
            &sel("gravl-staging[app=backend]")?,
            &sel("external")?,
            &[p("80")?, p("443")?],
        ),
    );
    show(
        "frontend->external",
        allow(
            &model,
            &sel("gravl-staging[app=frontend]")?,
            &sel("external")?,
            &[p("80")?, p("443")?],
        ),
    );
    show(
        "frontend-x->postgres",
        deny(
            &model,
            &sel("gravl-staging[app=frontend]")?,
            &sel("gravl-staging[app=postgres]")?,
            &[],
        ),
    );
    for l in lint(&model) {
        println!("lint: {l}");
    }
    println!(
        "{}",
        explain(
            &model,
            "gravl-staging/backend",
            "kube-system/coredns",
            p("53/UDP")?
        )?
    );
    let m = matrix(&model, &[p("53/UDP")?, p("5432")?]);
    print!("{m}");
    Ok(())
}
