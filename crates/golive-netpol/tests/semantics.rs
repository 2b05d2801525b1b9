//! One test per rule of the NetworkPolicy semantics. Every query is answered by
//! both the reference evaluator (`explain`) and the bitset engine (`matrix`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use golive_netpol::*;

/// Pods `ns/name` with labels and IPs, plus the policies given.
fn model(pods: &[(&str, &str, &str)], extra_yaml: &str) -> Model {
    let mut yaml = String::new();
    for (i, (full, labels, ip)) in pods.iter().enumerate() {
        let (ns, name) = full.split_once('/').unwrap();
        yaml.push_str(&format!(
            "---\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}}}\nspec:\n  containers:\n    - name: c\n      ports:\n        - {{name: http, containerPort: 8080}}\n        - {{name: dns, containerPort: 5353, protocol: UDP}}\nstatus: {{podIP: \"{ip}\"}}\n"
        ));
        let _ = i;
    }
    yaml.push_str(extra_yaml);
    let mut b = ModelBuilder::new().prefer(EndpointPreference::Pods);
    b.add_yaml(&yaml, "test.yaml").unwrap();
    b.add_external("8.8.8.8").unwrap();
    b.add_external("external").unwrap();
    b.add_external("2001:db8::1").unwrap();
    b.build()
}

/// Whether `from` may reach `to` on `port`, asserting both evaluators agree.
fn can(m: &Model, from: &str, to: &str, port: &str) -> bool {
    let port: PortSpec = port.parse().unwrap();
    let reference = explain(m, from, to, port).unwrap().allowed();
    let mx = matrix(m, &[port]);
    let s = m.index_of(from).unwrap();
    let t = m.index_of(to).unwrap();
    assert_eq!(
        mx.is_allowed(s, t, 0),
        reference,
        "engine and reference disagree on {from} -> {to} {port}"
    );
    reference
}

const TWO_NS: &[(&str, &str, &str)] = &[
    ("a/web", "app: web", "10.0.1.1"),
    ("a/db", "app: db", "10.0.1.2"),
    ("b/web", "app: web", "10.0.2.1"),
    ("b/client", "app: client", "10.0.2.2"),
];

fn np(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}\n"
    )
}

#[test]
fn namespace_without_policies_allows_everything() {
    let m = model(TWO_NS, "");
    assert!(can(&m, "a/web", "b/client", "1234/UDP"));
    assert!(can(&m, "b/client", "a/db", "5432"));
    assert!(can(&m, "a/web", "8.8.8.8", "53/UDP"));
}

#[test]
fn policy_types_default_to_ingress_only_without_egress_rules() {
    let m = model(TWO_NS, &np("a", "p", "  podSelector: {}"));
    assert!(!can(&m, "b/client", "a/web", "80"), "ingress is denied");
    assert!(can(&m, "a/web", "b/client", "80"), "egress is untouched");
}

#[test]
fn policy_types_default_include_egress_when_egress_rules_exist() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {}\n  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]",
        ),
    );
    assert!(!can(&m, "a/web", "b/client", "80"));
    let e = explain(&m, "a/web", "a/db", PortSpec::tcp(80)).unwrap();
    assert!(e.egress.allowed(), "the egress rule allows db");
    assert!(
        !e.ingress.allowed(),
        "Ingress is implied too, with no rules"
    );
    assert!(!can(&m, "b/client", "a/web", "80"));
}

#[test]
fn declared_direction_without_rules_denies_all_of_it() {
    let m = model(
        TWO_NS,
        &np("a", "deny", "  podSelector: {}\n  policyTypes: [Egress]"),
    );
    assert!(!can(&m, "a/web", "b/client", "80"));
    assert!(!can(&m, "a/web", "8.8.8.8", "53/UDP"));
    assert!(can(&m, "b/client", "a/web", "80"), "ingress not declared");
}

#[test]
fn empty_rule_list_is_the_same_as_an_absent_one() {
    let absent = model(
        TWO_NS,
        &np("a", "deny", "  podSelector: {}\n  policyTypes: [Egress]"),
    );
    let empty = model(
        TWO_NS,
        &np(
            "a",
            "deny",
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress: []",
        ),
    );
    for to in ["b/client", "a/db", "8.8.8.8"] {
        assert_eq!(
            can(&absent, "a/web", to, "80"),
            can(&empty, "a/web", to, "80")
        );
    }
    assert!(!can(&empty, "a/web", "b/client", "80"));
}

#[test]
fn empty_rule_allows_all() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "all",
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]",
        ),
    );
    assert!(can(&m, "a/web", "b/client", "9/SCTP"));
    assert!(can(&m, "a/web", "external", "443"));
}

#[test]
fn policies_add_up() {
    let spec_db = "  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]";
    let spec_client = "  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}, podSelector: {matchLabels: {app: client}}}]}]";
    let m = model(
        TWO_NS,
        &(np("a", "from-web", spec_db) + &np("a", "from-client", spec_client)),
    );
    assert!(can(&m, "a/web", "a/db", "5432"));
    assert!(can(&m, "b/client", "a/db", "5432"));
    assert!(!can(&m, "b/web", "a/db", "5432"));
}

#[test]
fn pod_not_selected_by_any_policy_is_unrestricted() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "db-only",
            "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress, Egress]",
        ),
    );
    assert!(!can(&m, "b/client", "a/db", "5432"));
    assert!(can(&m, "b/client", "a/web", "80"));
    assert!(can(&m, "a/web", "b/client", "80"));
}

#[test]
fn peers_in_one_rule_are_ored() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}\n        - podSelector: {matchLabels: {app: web}}",
        ),
    );
    assert!(can(&m, "b/client", "a/db", "1"));
    assert!(can(&m, "b/web", "a/db", "1"));
    assert!(can(&m, "a/web", "a/db", "1"));
}

#[test]
fn peer_with_namespace_and_pod_selector_requires_both() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}\n          podSelector: {matchLabels: {app: web}}",
        ),
    );
    assert!(can(&m, "b/web", "a/db", "1"));
    assert!(!can(&m, "b/client", "a/db", "1"), "wrong pod");
    assert!(!can(&m, "a/web", "a/db", "1"), "wrong namespace");
}

#[test]
fn peer_with_only_pod_selector_means_the_policy_namespace() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]",
        ),
    );
    assert!(can(&m, "a/web", "a/db", "1"));
    assert!(!can(&m, "b/web", "a/db", "1"));
}

#[test]
fn peer_with_only_namespace_selector_allows_every_pod_there() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]",
        ),
    );
    assert!(can(&m, "b/client", "a/db", "1"));
    assert!(can(&m, "a/web", "a/db", "1"));
    assert!(!can(&m, "8.8.8.8", "a/db", "1"), "not external addresses");
}

#[test]
fn match_expressions_select_namespaces_and_pods() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchExpressions: [{key: app, operator: In, values: [db]}]}\n  ingress:\n    - from:\n        - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [a]}]}\n          podSelector: {matchExpressions: [{key: app, operator: Exists}, {key: legacy, operator: DoesNotExist}]}",
        ),
    );
    assert!(can(&m, "b/client", "a/db", "1"));
    assert!(!can(&m, "a/web", "a/db", "1"));
}

#[test]
fn namespace_name_label_is_implied_for_every_namespace() {
    let ns = "---\nkind: Namespace\nmetadata: {name: b, labels: {team: x}}\n";
    let m = model(TWO_NS, ns);
    let labels = &m.namespace("b").unwrap().labels;
    assert_eq!(labels.get("kubernetes.io/metadata.name").unwrap(), "b");
    assert_eq!(labels.get("team").unwrap(), "x");
    let implied = m.namespace("a").unwrap();
    assert!(!implied.declared);
    assert_eq!(implied.labels.len(), 1);
}

#[test]
fn ip_block_with_except_matches_pod_ips_and_external_addresses() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.2/32]}}, {ipBlock: {cidr: 8.0.0.0/8}}]}]",
        ),
    );
    assert!(can(&m, "a/web", "b/web", "80"), "10.0.2.1 is in the block");
    assert!(!can(&m, "a/web", "b/client", "80"), "10.0.2.2 is excepted");
    assert!(can(&m, "a/web", "8.8.8.8", "53/UDP"));
    assert!(
        !can(&m, "a/web", "external", "443"),
        "not all of the internet"
    );
    assert!(!can(&m, "a/web", "2001:db8::1", "443"));
}

#[test]
fn ip_block_handles_ipv6_and_the_public_internet() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}, {ipBlock: {cidr: '2001:db8::/32'}}]}]",
        ),
    );
    assert!(can(&m, "a/web", "external", "443"));
    assert!(can(&m, "a/web", "8.8.8.8", "443"));
    assert!(can(&m, "a/web", "2001:db8::1", "443"));
    assert!(
        !can(&m, "a/web", "b/web", "443"),
        "pod IP 10.0.2.1 excepted"
    );
}

#[test]
fn ports_match_by_number_range_name_and_protocol() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n    - ports:\n        - port: 5432\n        - {port: 9000, endPort: 9010}\n        - {port: http}\n        - {port: dns, protocol: UDP}\n        - {protocol: SCTP}",
        ),
    );
    assert!(
        can(&m, "a/web", "a/db", "5432/TCP"),
        "default protocol is TCP"
    );
    assert!(!can(&m, "a/web", "a/db", "5432/UDP"));
    assert!(can(&m, "a/web", "a/db", "9005"));
    assert!(!can(&m, "a/web", "a/db", "9011"));
    assert!(
        can(&m, "a/web", "a/db", "8080"),
        "named port http is 8080 on db"
    );
    assert!(can(&m, "a/web", "a/db", "5353/UDP"), "named port dns");
    assert!(!can(&m, "a/web", "a/db", "5353/TCP"));
    assert!(
        can(&m, "a/web", "a/db", "77/SCTP"),
        "no port: every SCTP port"
    );
}

#[test]
fn named_egress_port_resolves_against_the_destination() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "p",
            "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: http}]}]",
        ),
    );
    assert!(can(&m, "a/web", "b/client", "8080"));
    assert!(!can(&m, "a/web", "b/client", "80"));
    assert!(
        !can(&m, "a/web", "8.8.8.8", "8080"),
        "externals have no named ports"
    );
}

#[test]
fn connection_needs_source_egress_and_destination_ingress() {
    let egress = np(
        "a",
        "web-out",
        "  podSelector: {matchLabels: {app: web}}\n  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]",
    );
    let ingress = np("a", "db-in", "  podSelector: {matchLabels: {app: db}}");
    let m = model(TWO_NS, &(egress.clone() + &ingress));
    assert!(!can(&m, "a/web", "a/db", "5432"), "ingress to db denies");
    let m = model(TWO_NS, &egress);
    assert!(can(&m, "a/web", "a/db", "5432"));
}

#[test]
fn workload_pods_do_not_double_up() {
    let yaml = "---\nkind: Deployment\nmetadata: {name: api, namespace: a}\nspec:\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: c}]}\n---\nkind: ReplicaSet\nmetadata: {name: api-5d9, namespace: a, ownerReferences: [{kind: Deployment, name: api}]}\nspec:\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: c}]}\n---\nkind: Pod\nmetadata: {name: api-5d9-x1, namespace: a, labels: {app: api}, ownerReferences: [{kind: ReplicaSet, name: api-5d9}]}\nspec: {containers: [{name: c}]}\n---\nkind: Pod\nmetadata: {name: api-5d9-x2, namespace: a, labels: {app: api}, ownerReferences: [{kind: ReplicaSet, name: api-5d9}]}\nspec: {containers: [{name: c}]}\n---\nkind: CronJob\nmetadata: {name: nightly, namespace: a}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: nightly}}\n        spec: {containers: [{name: c}]}\n";
    let names = |pref| {
        let mut b = ModelBuilder::new().prefer(pref);
        b.add_yaml(yaml, "w.yaml").unwrap();
        b.build()
            .endpoints
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(EndpointPreference::Workloads),
        vec!["a/api", "a/nightly"]
    );
    assert_eq!(
        names(EndpointPreference::Pods),
        vec!["a/api-5d9-x1", "a/api-5d9-x2", "a/nightly"]
    );
}

#[test]
fn live_values_of_any_kind_build_a_model() {
    let values: Vec<serde_json::Value> = vec![
        serde_json::json!({"kind": "Namespace", "metadata": {"name": "a", "labels": {"team": "x"}}}),
        serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "ignored", "namespace": "a"}}),
        serde_json::json!({"kind": "PodList", "items": [
            {"metadata": {"name": "p1", "namespace": "a", "labels": {"app": "x"}}, "status": {"podIP": "10.1.1.1", "phase": "Running"}},
            {"metadata": {"name": "done", "namespace": "a"}, "status": {"phase": "Succeeded"}}
        ]}),
    ];
    let m = Model::from_values(&values).unwrap();
    assert_eq!(m.endpoints.len(), 1);
    assert_eq!(m.endpoints[0].pod_ip, Some("10.1.1.1".parse().unwrap()));
    assert_eq!(m.namespace("a").unwrap().labels.get("team").unwrap(), "x");
}

#[test]
fn yaml_errors_name_file_line_and_column() {
    let err = Model::from_yaml("kind: Pod\nmetadata: {name: x\n", "bad.yaml").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("bad.yaml:"), "{text}");
    match err {
        LoadError::Yaml { line, column, .. } => {
            assert!(line >= 2 && column >= 1, "{line}:{column}")
        }
        other => panic!("expected a positioned YAML error, got {other}"),
    }
}

#[test]
fn invalid_policy_names_the_object() {
    let text = np(
        "a",
        "bad",
        "  podSelector: {matchExpressions: [{key: app, operator: Equals, values: [x]}]}",
    );
    let err = Model::from_yaml(&text, "p.yaml").unwrap_err().to_string();
    assert!(
        err.starts_with("p.yaml:2:1: NetworkPolicy a/bad: podSelector"),
        "{err}"
    );
    assert!(
        err.contains("expected In, NotIn, Exists or DoesNotExist"),
        "{err}"
    );
}

#[test]
fn lookup_errors_list_near_matches() {
    let m = model(TWO_NS, "");
    let err = explain(&m, "a/wbe", "a/db", PortSpec::tcp(80)).unwrap_err();
    assert!(err.near.contains(&"a/web".to_string()), "{err}");
    assert!(err.to_string().contains("did you mean"), "{err}");
}

#[test]
fn matrix_json_lists_allowed_triples() {
    let m = model(
        &TWO_NS[..2],
        &np("a", "p", "  podSelector: {matchLabels: {app: db}}"),
    );
    let only_pods = Model {
        endpoints: m
            .endpoints
            .iter()
            .filter(|e| !e.is_external())
            .cloned()
            .collect(),
        ..m
    };
    let json = matrix(&only_pods, &[PortSpec::tcp(80)]).to_json();
    assert_eq!(
        json,
        serde_json::json!({
            "endpoints": ["a/web", "a/db"],
            "ports": ["80/TCP"],
            "allowed": [["a/db", "a/web", "80/TCP"]],
        })
    );
}

#[test]
fn incremental_update_matches_a_full_recompute() {
    let m = model(
        TWO_NS,
        &np(
            "a",
            "deny",
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]",
        ),
    );
    let ports = [PortSpec::tcp(80), PortSpec::udp(53)];
    let mut analyzer = Analyzer::new(m.clone(), &ports);
    let extra = Model::from_yaml(
        &np("a", "allow-web", "  podSelector: {matchLabels: {app: web}}\n  egress: [{}]\n  ingress: [{from: [{namespaceSelector: {}}]}]"),
        "x.yaml",
    )
    .unwrap();
    analyzer.upsert_policy(extra.policies[0].clone());
    let mut full = m.clone();
    full.policies.push(extra.policies[0].clone());
    assert_eq!(analyzer.matrix(), &matrix(&full, &ports));
    assert!(analyzer.remove_policy("a/deny"));
    full.policies.remove(0);
    assert_eq!(analyzer.matrix(), &matrix(&full, &ports));
}

#[test]
fn host_network_pods_are_noted_as_cni_specific() {
    let m = Model::from_yaml(
        "kind: DaemonSet\nmetadata: {name: agent, namespace: a}\nspec:\n  template:\n    metadata: {labels: {app: agent}}\n    spec: {hostNetwork: true, containers: [{name: c}]}\n",
        "ds.yaml",
    )
    .unwrap();
    assert_eq!(m.endpoints.len(), 1);
    assert_eq!(
        m.issues,
        vec![
            "ds.yaml:1:1: DaemonSet a/agent uses hostNetwork; NetworkPolicy behaviour for it depends on the CNI, and it is analysed like any pod"
        ]
    );
}
