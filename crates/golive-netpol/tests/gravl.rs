//! The Gravl report's policies, as published (DNS broken) and fixed: exact verdicts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use golive_netpol::*;

fn load(which: &str) -> Model {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut b = ModelBuilder::new();
    b.add_yaml_file(format!("{dir}/gravl-cluster.yaml").as_ref())
        .unwrap();
    b.add_yaml_file(format!("{dir}/gravl-policies-{which}.yaml").as_ref())
        .unwrap();
    b.add_external("external").unwrap();
    b.build()
}

fn sel(s: &str) -> EndpointSelector {
    s.parse().unwrap()
}

fn ports(list: &[&str]) -> Vec<PortSpec> {
    list.iter().map(|p| p.parse().unwrap()).collect()
}

/// The plan's network-policies gate: every check the report lists.
fn gate_statuses(model: &Model) -> Vec<(&'static str, Status)> {
    vec![
        (
            "default deny",
            default_deny(
                model,
                "gravl-staging",
                &[Direction::Ingress, Direction::Egress],
            )
            .status,
        ),
        (
            "dns egress",
            dns_egress(model, "gravl-staging", &DnsTarget::default()).status,
        ),
        (
            "ingress-nginx -> backend:3000",
            allow(
                model,
                &sel("ingress-nginx/*"),
                &sel("gravl-staging[app=backend]"),
                &ports(&["3000/TCP"]),
            )
            .status,
        ),
        (
            "ingress-nginx -> frontend:80,443",
            allow(
                model,
                &sel("ingress-nginx/*"),
                &sel("gravl-staging[app=frontend]"),
                &ports(&["80/TCP", "443/TCP"]),
            )
            .status,
        ),
        (
            "gravl-monitoring -> *:3001",
            allow(
                model,
                &sel("namespaces[kubernetes.io/metadata.name=gravl-monitoring]"),
                &sel("gravl-staging/*"),
                &ports(&["3001/TCP"]),
            )
            .status,
        ),
        (
            "backend -> postgres:5432",
            allow(
                model,
                &sel("gravl-staging[app=backend]"),
                &sel("gravl-staging[app=postgres]"),
                &ports(&["5432/TCP"]),
            )
            .status,
        ),
        (
            "backend, frontend -> external:80,443",
            allow(
                model,
                &sel("gravl-staging[app in (backend,frontend)]"),
                &sel("external"),
                &ports(&["80/TCP", "443/TCP"]),
            )
            .status,
        ),
        (
            "frontend -/-> postgres",
            deny(
                model,
                &sel("gravl-staging[app=frontend]"),
                &sel("gravl-staging[app=postgres]"),
                &[],
            )
            .status,
        ),
    ]
}

#[test]
fn published_policies_fail_only_dns_egress() {
    let model = load("broken");
    let statuses = gate_statuses(&model);
    for (name, status) in &statuses {
        let expected = if *name == "dns egress" {
            Status::Fail
        } else {
            Status::Pass
        };
        assert_eq!(*status, expected, "{name}");
    }
}

#[test]
fn fixed_policies_pass_every_check() {
    let model = load("fixed");
    for (name, status) in gate_statuses(&model) {
        assert_eq!(status, Status::Pass, "{name}");
    }
    assert!(lint(&model).is_empty(), "{:#?}", lint(&model));
}

#[test]
fn dns_egress_fails_when_namespace_selector_matches_nothing() {
    let model = load("broken");
    let f = dns_egress(&model, "gravl-staging", &DnsTarget::default());
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.summary,
        "3 of 3 endpoints in gravl-staging cannot reach cluster DNS: allow-dns-egress egress[0] \
         selects namespaces {name=kube-system}, which matches no namespace"
    );
    assert_eq!(
        f.fix.as_deref(),
        Some(
            "In gravl-staging/allow-dns-egress egress[0], use kubernetes.io/metadata.name: \
             kube-system instead of name: kube-system."
        )
    );
    assert!(
        f.evidence[0].starts_with("DNS pods: kube-system/coredns ({k8s-app=kube-dns} in kube-system); ports 53/UDP and 53/TCP from Service kube-system/kube-dns"),
        "{}",
        f.evidence[0]
    );
}

#[test]
fn fixed_dns_egress_names_the_allowing_rule() {
    let model = load("fixed");
    let f = dns_egress(&model, "gravl-staging", &DnsTarget::default());
    assert_eq!(
        f.summary,
        "all 3 endpoints in gravl-staging can reach cluster DNS on 53/UDP and 53/TCP"
    );
    assert!(
        f.evidence
            .contains(&"gravl-staging/allow-dns-egress egress[0] allows DNS".to_string()),
        "{:?}",
        f.evidence
    );
}

#[test]
fn published_policies_lint_names_the_wrong_label_and_the_missing_dns() {
    let model = load("broken");
    let lints = lint(&model);
    let codes: Vec<(&str, &str, Severity)> = lints
        .iter()
        .map(|l| (l.code, l.policy.as_str(), l.severity))
        .collect();
    assert_eq!(
        codes,
        vec![
            (
                "namespace-selector-matches-nothing",
                "gravl-staging/allow-dns-egress",
                Severity::Error
            ),
            (
                "egress-deny-without-dns",
                "gravl-staging/gravl-default-deny",
                Severity::Error
            ),
        ]
    );
    assert_eq!(
        lints[0].message,
        "egress[0] selects namespaces {name=kube-system}, which matches no namespace (no namespace \
         has the label name: kube-system), so this peer allows nothing."
    );
    assert_eq!(
        lints[0].fix,
        "In gravl-staging/allow-dns-egress egress[0], use kubernetes.io/metadata.name: kube-system \
         instead of name: kube-system, the label the API server sets on every namespace."
    );
}

#[test]
fn explain_backend_to_dns_lists_policies_and_the_failing_rule() {
    let model = load("broken");
    let e = explain(
        &model,
        "gravl-staging/backend",
        "kube-system/coredns",
        "53/UDP".parse().unwrap(),
    )
    .unwrap();
    assert!(!e.allowed());
    let text = e.to_string();
    assert!(
        text.starts_with("DENIED: gravl-staging/backend -> kube-system/coredns on 53/UDP\n"),
        "{text}"
    );
    assert!(text.contains(
        "egress from gravl-staging/backend is restricted by gravl-default-deny, \
         allow-backend-db-egress, allow-backend-external-apis, allow-dns-egress; no egress rule \
         allows kube-system/coredns:53/UDP:"
    ));
    assert!(text.contains(
        "allow-dns-egress egress[0] selects namespaces {name=kube-system}, which matches no namespace"
    ));
    assert!(text.contains(
        "ingress to kube-system/coredns is not restricted (no policy selects it for ingress)"
    ));
}

#[test]
fn deny_gate_fails_when_frontend_can_reach_postgres() {
    let mut model = load("fixed");
    let open = ModelBuilder::new()
        .add_yaml(
            "kind: NetworkPolicy\nmetadata: {name: oops, namespace: gravl-staging}\nspec:\n  podSelector: {matchLabels: {app: postgres}}\n  ingress: [{}]\n",
            "oops.yaml",
        )
        .unwrap()
        .clone()
        .build();
    model.policies.extend(open.policies);
    let egress_open = ModelBuilder::new()
        .add_yaml(
            "kind: NetworkPolicy\nmetadata: {name: oops-egress, namespace: gravl-staging}\nspec:\n  podSelector: {matchLabels: {app: frontend}}\n  egress: [{to: [{podSelector: {}}]}]\n",
            "oops.yaml",
        )
        .unwrap()
        .clone()
        .build();
    model.policies.extend(egress_open.policies);
    let f = deny(
        &model,
        &sel("gravl-staging[app=frontend]"),
        &sel("gravl-staging[app=postgres]"),
        &[],
    );
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.summary.starts_with("gravl-staging/frontend -> gravl-staging/postgres:1/TCP is allowed (gravl-staging/oops-egress egress[0]; gravl-staging/oops ingress[0])"),
        "{}",
        f.summary
    );
    assert!(
        f.fix
            .as_deref()
            .is_some_and(|x| x.contains("gravl-staging/oops ingress[0]"))
    );
}

#[test]
fn fixtures_yield_one_endpoint_per_workload() {
    let model = load("fixed");
    let names: Vec<&str> = model.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "kube-system/coredns",
            "ingress-nginx/ingress-nginx-controller",
            "gravl-monitoring/prometheus",
            "gravl-staging/backend",
            "gravl-staging/frontend",
            "gravl-staging/postgres",
            "external",
        ]
    );
}

#[test]
fn explain_names_the_allowing_rule_once_fixed() {
    let model = load("fixed");
    let e = explain(
        &model,
        "gravl-staging/backend",
        "kube-system/coredns",
        "53/TCP".parse().unwrap(),
    )
    .unwrap();
    assert!(e.allowed());
    assert_eq!(
        e.to_string(),
        "ALLOWED: gravl-staging/backend -> kube-system/coredns on 53/TCP\n  \
         egress from gravl-staging/backend is restricted by gravl-default-deny, \
         allow-backend-db-egress, allow-backend-external-apis, allow-dns-egress; \
         gravl-staging/allow-dns-egress egress[0] allows kube-system/coredns:53/TCP\n  \
         ingress to kube-system/coredns is not restricted (no policy selects it for ingress)"
    );
}

/// The fixture's workloads as running pods with IPs, as a live cluster lists them.
fn live_values(which: &str) -> Vec<serde_json::Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut out = Vec::new();
    for file in [
        "gravl-cluster.yaml".to_string(),
        format!("gravl-policies-{which}.yaml"),
    ] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        for (i, doc) in docs.into_iter().enumerate() {
            let kind = doc["kind"].as_str().unwrap_or_default();
            if !["Deployment", "StatefulSet"].contains(&kind) {
                out.push(doc);
                continue;
            }
            let name = doc["metadata"]["name"].as_str().unwrap();
            let template = &doc["spec"]["template"];
            for replica in 0..2 {
                out.push(serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": format!("{name}-{replica}"),
                        "namespace": doc["metadata"]["namespace"],
                        "labels": template["metadata"]["labels"],
                        "ownerReferences": [{"kind": kind, "name": name}],
                    },
                    "spec": template["spec"],
                    "status": {"phase": "Running", "podIP": format!("10.244.{i}.{}", replica + 10)},
                }));
            }
            out.push(doc);
        }
    }
    out
}

#[test]
fn live_pods_with_ips_give_the_same_verdicts() {
    for (which, dns) in [("broken", Status::Fail), ("fixed", Status::Pass)] {
        let values = live_values(which);
        let mut model = Model::from_values(&values).unwrap();
        model
            .endpoints
            .push(Endpoint::external(ExternalAddr::Public));
        assert_eq!(
            model.endpoints.len(),
            13,
            "two pods per workload, no workloads"
        );
        assert!(
            model
                .endpoints
                .iter()
                .any(|e| e.name == "gravl-staging/backend-1")
        );
        for (name, status) in gate_statuses(&model) {
            let expected = if name == "dns egress" {
                dns
            } else {
                Status::Pass
            };
            assert_eq!(status, expected, "{which}: {name}");
        }
    }
}
