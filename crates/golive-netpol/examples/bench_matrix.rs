//! Matrix benchmark: 2,000 endpoints, 500 policies, 3 ports, then one policy change.
//! `cargo run --release -p golive-netpol --example bench_matrix`
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use std::time::{Duration, Instant};

use golive_netpol::*;

const NAMESPACES: usize = 40;
const PODS_PER_NAMESPACE: usize = 50;
const POLICIES_PER_NAMESPACE: usize = 12;
const EXTRA_POLICIES: usize = 80;
/// Namespaces from this index on have no policies: their pods are unrestricted.
const OPEN_FROM: usize = 35;

fn sel(text: &str) -> Selector {
    Selector::parse(text).unwrap_or_default()
}

fn pods_peer(ns: Option<String>, app: Option<String>) -> Peer {
    Peer::Pods {
        namespaces: ns.map(|n| sel(&n)),
        pods: app.map(|a| sel(&a)),
    }
}

fn tcp(port: u16) -> PortRule {
    PortRule {
        protocol: Protocol::Tcp,
        port: Some(PortRef::Number(port)),
        end_port: None,
    }
}

fn policy(ns: usize, k: usize) -> Policy {
    let namespace = format!("ns{ns}");
    let name = format!("p{k}");
    let app = |i: usize| format!("app=app{}", i % 10);
    let (pod_selector, ingress, egress) = match k {
        0 => (Selector::everything(), Some(vec![]), Some(vec![])),
        1 => (
            Selector::everything(),
            None,
            Some(vec![Rule {
                peers: Some(vec![pods_peer(
                    Some("kubernetes.io/metadata.name=kube-system".into()),
                    Some("k8s-app=kube-dns".into()),
                )]),
                ports: Some(vec![
                    PortRule {
                        protocol: Protocol::Udp,
                        port: Some(PortRef::Number(53)),
                        end_port: None,
                    },
                    tcp(53),
                ]),
            }]),
        ),
        2 => (
            sel(&app(ns)),
            None,
            Some(vec![Rule {
                peers: Some(vec![Peer::IpBlock {
                    cidr: "0.0.0.0/0".parse().unwrap_or_else(|_| unreachable!()),
                    except: vec!["10.0.0.0/8".parse().unwrap_or_else(|_| unreachable!())],
                }]),
                ports: Some(vec![tcp(443)]),
            }]),
        ),
        _ => (
            sel(&app(k)),
            Some(vec![
                Rule {
                    peers: Some(vec![
                        pods_peer(None, Some(app(k + 1))),
                        pods_peer(Some(format!("team=t{}", (ns + k) % 8)), Some(app(k + 2))),
                    ]),
                    ports: Some(vec![tcp(80), tcp(8000 + k as u16)]),
                },
                Rule {
                    peers: Some(vec![pods_peer(Some("monitoring=true".into()), None)]),
                    ports: Some(vec![PortRule {
                        protocol: Protocol::Tcp,
                        port: Some(PortRef::Name("metrics".into())),
                        end_port: None,
                    }]),
                },
            ]),
            Some(vec![
                Rule {
                    peers: Some(vec![pods_peer(
                        Some(format!(
                            "kubernetes.io/metadata.name=ns{}",
                            (ns + 1) % NAMESPACES
                        )),
                        Some(app(k + 3)),
                    )]),
                    ports: Some(vec![tcp(80)]),
                },
                Rule {
                    peers: Some(vec![pods_peer(Some(String::new()), Some(app(k + 9)))]),
                    ports: Some(vec![tcp(80), tcp(9090)]),
                },
            ]),
        ),
    };
    Policy {
        namespace,
        name,
        pod_selector,
        ingress,
        egress,
    }
}

fn build_model() -> Model {
    let mut model = Model::default();
    for ns in 0..NAMESPACES {
        let name = format!("ns{ns}");
        model.namespaces.push(Namespace {
            labels: Labels::from([
                ("kubernetes.io/metadata.name".to_string(), name.clone()),
                ("team".to_string(), format!("t{}", ns % 8)),
                ("monitoring".to_string(), (ns % 10 == 0).to_string()),
            ]),
            name: name.clone(),
            declared: true,
        });
        for i in 0..PODS_PER_NAMESPACE {
            model.endpoints.push(Endpoint {
                name: format!("{name}/w{i}"),
                namespace: Some(name.clone()),
                kind: EndpointKind::Pod,
                labels: Labels::from([
                    ("app".to_string(), format!("app{}", i % 10)),
                    ("tier".to_string(), format!("{}", i % 3)),
                ]),
                pod_ip: format!("10.{ns}.{}.{}", i / 200, i % 200 + 1).parse().ok(),
                ports: vec![ContainerPort {
                    name: Some("metrics".into()),
                    port: 9090,
                    protocol: Protocol::Tcp,
                }],
            });
        }
        if ns < OPEN_FROM {
            for k in 0..POLICIES_PER_NAMESPACE {
                model.policies.push(policy(ns, k));
            }
        }
    }
    for k in 0..EXTRA_POLICIES {
        model.policies.push(policy(k % OPEN_FROM, 100 + k));
    }
    model
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let model = build_model();
    let ports: Vec<PortSpec> = ["80/TCP", "53/UDP", "9090/TCP"]
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    println!(
        "{} endpoints, {} policies, {} ports",
        model.endpoints.len(),
        model.policies.len(),
        ports.len()
    );
    let mut full = Vec::new();
    let mut analyzer = None;
    for _ in 0..5 {
        let t = Instant::now();
        let a = Analyzer::new(model.clone(), &ports);
        full.push(t.elapsed());
        analyzer = Some(a);
    }
    let Some(mut analyzer) = analyzer else { return };
    println!(
        "full matrix: median {:?} (runs {:?}); {} allowed (pair, port) cells of {}",
        median(full.clone()),
        full,
        analyzer.matrix().allowed_count(),
        model.endpoints.len() * (model.endpoints.len() - 1) * ports.len()
    );
    let mut incremental = Vec::new();
    let mut widest = Vec::new();
    for round in 0..20 {
        let ns = round % OPEN_FROM;
        let mut changed = policy(ns, 3 + round % 9);
        if let Some(rules) = changed.ingress.as_mut() {
            rules.push(Rule {
                peers: None,
                ports: Some(vec![tcp(80)]),
            });
        }
        let t = Instant::now();
        analyzer.upsert_policy(changed);
        incremental.push(t.elapsed());
        // The namespace-wide default deny selects every pod of its namespace.
        let mut deny = policy(ns, 0);
        deny.egress = None;
        let t = Instant::now();
        analyzer.upsert_policy(deny);
        widest.push(t.elapsed());
    }
    println!(
        "one policy changed (selects 5 pods): median {:?}, max {:?}",
        median(incremental.clone()),
        incremental.iter().max().copied().unwrap_or_default()
    );
    println!(
        "one namespace-wide policy changed (selects 50 pods): median {:?}, max {:?}",
        median(widest.clone()),
        widest.iter().max().copied().unwrap_or_default()
    );
    let mut check = model.clone();
    check.policies = analyzer.model().policies.clone();
    let t = Instant::now();
    let fresh = matrix(&check, &ports);
    println!(
        "fresh recompute after the changes: {:?}; equal to incremental: {}",
        t.elapsed(),
        &fresh == analyzer.matrix()
    );
    let t = Instant::now();
    let lints = lint(&check);
    println!(
        "lint of the whole model: {:?} ({} lints)",
        t.elapsed(),
        lints.len()
    );
    let t = Instant::now();
    let finding = default_deny(&check, "ns3", &[Direction::Ingress, Direction::Egress]);
    println!(
        "default_deny gate for one namespace: {:?} ({})",
        t.elapsed(),
        finding.status
    );
    let t = Instant::now();
    let json = analyzer.matrix().to_json();
    println!(
        "JSON rendering of the matrix: {:?} ({} allowed triples)",
        t.elapsed(),
        json["allowed"].as_array().map_or(0, Vec::len)
    );
}
