//! Property tests over random clusters and policies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use golive_netpol::eval::{IpMatch, explain_endpoints};
use golive_netpol::*;
use proptest::prelude::*;

const NAMESPACES: [&str; 3] = ["n0", "n1", "n2"];
const PORTS: [&str; 5] = ["80/TCP", "53/UDP", "8080/TCP", "8050/TCP", "9/SCTP"];

fn ports() -> Vec<PortSpec> {
    PORTS.iter().map(|p| p.parse().unwrap()).collect()
}

fn selector() -> impl Strategy<Value = Selector> {
    prop_oneof![
        Just(Selector::everything()),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|v| Selector::labels([("app", v)])),
        Just(Selector::parse("tier in (1)").unwrap()),
        Just(Selector::parse("app notin (a),tier").unwrap()),
        Just(Selector::parse("!tier").unwrap()),
    ]
}

fn ns_selector() -> impl Strategy<Value = Selector> {
    prop_oneof![
        Just(Selector::everything()),
        prop::sample::select(NAMESPACES.to_vec())
            .prop_map(|n| Selector::labels([("kubernetes.io/metadata.name", n)])),
        Just(Selector::labels([("team", "x")])),
        Just(Selector::labels([("name", "n1")])),
    ]
}

fn peer() -> impl Strategy<Value = Peer> {
    prop_oneof![
        (
            prop::option::of(ns_selector()),
            prop::option::of(selector())
        )
            .prop_map(|(namespaces, pods)| Peer::Pods { namespaces, pods }),
        prop::sample::select(vec![
            ("0.0.0.0/0", vec!["10.0.0.0/8"]),
            ("10.0.0.0/16", vec!["10.0.1.0/24"]),
            ("8.8.8.0/24", vec![]),
            ("10.0.2.0/24", vec![]),
        ])
        .prop_map(|(c, ex)| Peer::IpBlock {
            cidr: c.parse().unwrap(),
            except: ex.iter().map(|e| e.parse().unwrap()).collect(),
        }),
    ]
}

fn port_rule() -> impl Strategy<Value = PortRule> {
    prop::sample::select(vec![
        (Protocol::Tcp, Some(PortRef::Number(80)), None),
        (Protocol::Udp, Some(PortRef::Number(53)), None),
        (Protocol::Tcp, Some(PortRef::Name("http".into())), None),
        (Protocol::Udp, Some(PortRef::Name("dns".into())), None),
        (Protocol::Tcp, Some(PortRef::Number(8000)), Some(8100)),
        (Protocol::Udp, None, None),
        (Protocol::Sctp, None, None),
    ])
    .prop_map(|(protocol, port, end_port)| PortRule {
        protocol,
        port,
        end_port,
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop::option::of(prop::collection::vec(peer(), 1..3)),
        prop::option::of(prop::collection::vec(port_rule(), 1..3)),
    )
        .prop_map(|(peers, ports)| Rule { peers, ports })
}

fn policy(name: String) -> impl Strategy<Value = Policy> {
    (
        prop::sample::select(NAMESPACES.to_vec()),
        selector(),
        prop::option::of(prop::collection::vec(rule(), 0..3)),
        prop::option::of(prop::collection::vec(rule(), 0..3)),
    )
        .prop_map(move |(ns, pod_selector, ingress, egress)| Policy {
            namespace: ns.to_string(),
            name: name.clone(),
            pod_selector,
            ingress,
            egress,
        })
}

fn policies(max: usize) -> impl Strategy<Value = Vec<Policy>> {
    prop::collection::vec(0..1usize, 0..max).prop_flat_map(|v| {
        v.iter()
            .enumerate()
            .map(|(i, _)| policy(format!("p{i}")))
            .collect::<Vec<_>>()
    })
}

fn base_model() -> impl Strategy<Value = Model> {
    prop::collection::vec(
        (
            0..3usize,
            prop::option::of(prop::sample::select(vec!["a", "b", "c"])),
            prop::option::of(Just("1")),
            any::<bool>(),
            any::<bool>(),
        ),
        1..9,
    )
    .prop_map(|pods| {
        let mut yaml = String::from(
            "kind: Namespace\nmetadata: {name: n0, labels: {team: x}}\n---\nkind: Namespace\nmetadata: {name: n1}\n",
        );
        for (i, (ns, app, tier, http, has_ip)) in pods.iter().enumerate() {
            let mut labels = Vec::new();
            if let Some(a) = app {
                labels.push(format!("app: {a}"));
            }
            if let Some(t) = tier {
                labels.push(format!("tier: '{t}'"));
            }
            let port = if *http {
                "{name: http, containerPort: 8080}"
            } else {
                "{name: dns, containerPort: 53, protocol: UDP}"
            };
            let ip = if *has_ip {
                format!("status: {{podIP: 10.0.{ns}.{}}}\n", i + 1)
            } else {
                String::new()
            };
            yaml.push_str(&format!(
                "---\nkind: Pod\nmetadata: {{name: p{i}, namespace: n{ns}, labels: {{{}}}}}\nspec: {{containers: [{{name: c, ports: [{port}]}}]}}\n{ip}",
                labels.join(", ")
            ));
        }
        let mut b = ModelBuilder::new().prefer(EndpointPreference::Pods);
        b.add_yaml(&yaml, "random.yaml").unwrap();
        b.add_external("8.8.8.8").unwrap();
        b.add_external("external").unwrap();
        let mut m = b.build();
        for ns in NAMESPACES {
            if m.namespace(ns).is_none() {
                m.namespaces.push(Namespace {
                    name: ns.to_string(),
                    labels: Labels::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())]),
                    declared: false,
                });
            }
        }
        m
    })
}

fn with(model: &Model, policies: Vec<Policy>) -> Model {
    Model {
        policies,
        ..model.clone()
    }
}

fn reference_allowed(m: &Model, s: usize, t: usize, q: PortSpec) -> bool {
    explain_endpoints(m, &m.endpoints[s], &m.endpoints[t], q, IpMatch::All).allowed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn bitset_engine_agrees_with_the_reference(base in base_model(), ps in policies(6)) {
        let m = with(&base, ps);
        let ports = ports();
        let mx = matrix(&m, &ports);
        let n = m.endpoints.len();
        for s in 0..n {
            for t in 0..n {
                if s == t { continue; }
                for (qi, q) in ports.iter().enumerate() {
                    let r = reference_allowed(&m, s, t, *q);
                    let simple = golive_netpol::eval::allowed(&m, &m.endpoints[s], &m.endpoints[t], *q, IpMatch::All);
                    prop_assert_eq!(r, simple);
                    prop_assert_eq!(mx.is_allowed(s, t, qi), r, "{} -> {} {}", m.endpoints[s].name, m.endpoints[t].name, q);
                }
            }
        }
    }

    #[test]
    fn the_class_caching_explainer_gives_the_reference_explanations(base in base_model(), ps in policies(6)) {
        let m = with(&base, ps);
        let mut explainer = golive_netpol::eval::Explainer::new(&m);
        for s in &m.endpoints {
            for t in &m.endpoints {
                for q in ports() {
                    for mode in [IpMatch::All, IpMatch::Any] {
                        let reference = explain_endpoints(&m, s, t, q, mode);
                        prop_assert_eq!(
                            explainer.judge(s, t, q, mode),
                            &golive_netpol::eval::Judged::from(&reference)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn union_is_order_independent(base in base_model(), ps in policies(6), seed in any::<u64>()) {
        let ports = ports();
        let a = matrix(&with(&base, ps.clone()), &ports);
        let mut shuffled = ps;
        let len = shuffled.len();
        if len > 1 {
            for i in 0..len {
                let j = (seed.rotate_left(i as u32) as usize) % len;
                shuffled.swap(i, j);
            }
        }
        let b = matrix(&with(&base, shuffled), &ports);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn namespace_without_policies_allows_everything(base in base_model(), ps in policies(6)) {
        let m = with(&base, ps.into_iter().filter(|p| p.namespace != "n2").collect());
        for s in m.endpoints.iter() {
            for t in m.endpoints.iter() {
                for q in ports() {
                    let e = explain_endpoints(&m, s, t, q, IpMatch::All);
                    if s.namespace.as_deref() == Some("n2") || s.is_external() {
                        prop_assert!(e.egress.allowed());
                    }
                    if t.namespace.as_deref() == Some("n2") || t.is_external() {
                        prop_assert!(e.ingress.allowed());
                    }
                }
            }
        }
    }

    #[test]
    fn adding_a_policy_widens_a_default_deny_namespace_only_through_its_rules(
        base in base_model(), ps in policies(4), extra in policy("extra".into())
    ) {
        let deny = Policy {
            namespace: "n0".into(),
            name: "deny".into(),
            pod_selector: Selector::everything(),
            ingress: Some(vec![]),
            egress: Some(vec![]),
        };
        let mut before_ps = vec![deny];
        before_ps.extend(ps);
        let before = with(&base, before_ps.clone());
        let mut after_ps = before_ps;
        after_ps.push(extra);
        let after = with(&base, after_ps);
        for s in after.endpoints.iter() {
            for t in after.endpoints.iter() {
                let in_deny = |e: &Endpoint| e.namespace.as_deref() == Some("n0");
                if !in_deny(s) && !in_deny(t) { continue; }
                for q in ports() {
                    let b = explain_endpoints(&before, s, t, q, IpMatch::All);
                    let a = explain_endpoints(&after, s, t, q, IpMatch::All);
                    if in_deny(s) && a.egress.allowed() {
                        prop_assert!(!a.egress.allowed_by.is_empty(), "egress from a default-deny pod allowed by no rule");
                    }
                    if in_deny(t) && a.ingress.allowed() {
                        prop_assert!(!a.ingress.allowed_by.is_empty());
                    }
                    if a.allowed() && !b.allowed() {
                        let by_extra = a.egress.allowed_by.iter().chain(&a.ingress.allowed_by)
                            .any(|r| r.policy.ends_with("/extra"));
                        prop_assert!(by_extra, "newly allowed without a rule of the added policy");
                    }
                }
            }
        }
    }

    #[test]
    fn incremental_updates_match_a_full_recompute(
        base in base_model(), ps in policies(5), changes in policies(4), removals in prop::collection::vec(0..6usize, 0..3)
    ) {
        let ports = ports();
        let mut analyzer = Analyzer::new(with(&base, ps.clone()), &ports);
        let mut current = ps;
        for (i, mut change) in changes.into_iter().enumerate() {
            change.name = format!("p{}", i * 2 % 5);
            match current.iter().position(|p| p.id() == change.id()) {
                Some(pos) => current[pos] = change.clone(),
                None => current.push(change.clone()),
            }
            analyzer.upsert_policy(change);
            prop_assert_eq!(analyzer.matrix(), &matrix(&with(&base, current.clone()), &ports));
        }
        for r in removals {
            if let Some(p) = current.get(r).cloned() {
                prop_assert!(analyzer.remove_policy(&p.id()));
                current.retain(|x| x.id() != p.id());
                prop_assert_eq!(analyzer.matrix(), &matrix(&with(&base, current.clone()), &ports));
            }
        }
    }
}

proptest! {
    #[test]
    fn port_spec_display_round_trips(port in 1u16.., proto in 0..3usize) {
        let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][proto];
        let spec = PortSpec { port, protocol };
        prop_assert_eq!(spec.to_string().parse::<PortSpec>().unwrap(), spec);
    }

    #[test]
    fn cidr_coverage_agrees_with_enumeration(
        target in (0u8..=255, 24u8..=32),
        blocks in prop::collection::vec((0u8..=255, 24u8..=32), 0..4)
    ) {
        let cidr = |(last, prefix): (u8, u8)| format!("10.0.0.{last}/{prefix}").parse::<Cidr>().unwrap();
        let target = cidr(target);
        let blocks: Vec<Cidr> = blocks.into_iter().map(cidr).collect();
        let addresses = (0u8..=255).map(|i| std::net::IpAddr::from([10, 0, 0, i]));
        let expected = addresses
            .filter(|ip| target.contains_ip(*ip))
            .all(|ip| blocks.iter().any(|b| b.contains_ip(ip)));
        prop_assert_eq!(Cidr::covered_by(&target, &blocks), expected);
    }

    #[test]
    fn selector_display_parses_back_to_the_same_selector(s in selector()) {
        let text = s.to_string();
        let inner = text.trim_start_matches('{').trim_end_matches('}');
        prop_assert_eq!(Selector::parse(inner).unwrap(), s);
    }
}
