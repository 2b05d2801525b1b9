//! Lints and gate edge cases beyond the Gravl fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and tools stop at the first surprise

use golive_netpol::*;

const CLUSTER: &str = include_str!("fixtures/gravl-cluster.yaml");
const FIXED: &str = include_str!("fixtures/gravl-policies-fixed.yaml");

fn build(parts: &[&str]) -> Model {
    let mut b = ModelBuilder::new();
    for (i, p) in parts.iter().enumerate() {
        b.add_yaml(p, &format!("part{i}.yaml")).unwrap();
    }
    b.build()
}

fn np(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "---\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}\n"
    )
}

/// The fixed policies, with the DNS pods listening on 5353 as on OpenShift.
fn cluster_with_dns_on_5353() -> String {
    CLUSTER
        .replace(
            "{name: dns, port: 53, protocol: UDP, targetPort: 53}",
            "{name: dns, port: 53, protocol: UDP, targetPort: 5353}",
        )
        .replace(
            "{name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}",
            "{name: dns-tcp, port: 53, protocol: TCP, targetPort: 5353}",
        )
        .replace(
            "{name: dns, containerPort: 53, protocol: UDP}",
            "{name: dns, containerPort: 5353, protocol: UDP}",
        )
        .replace(
            "{name: dns-tcp, containerPort: 53, protocol: TCP}",
            "{name: dns-tcp, containerPort: 5353, protocol: TCP}",
        )
}

#[test]
fn dns_rule_on_port_53_fails_when_dns_pods_listen_on_the_service_target_port() {
    let cluster = cluster_with_dns_on_5353();
    let m = build(&[&cluster, FIXED]);
    let f = dns_egress(&m, "gravl-staging", &DnsTarget::default());
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.summary
            .contains("allow-dns-egress egress[0] allows port 53, but the DNS pods listen on 5353"),
        "{}",
        f.summary
    );
    assert_eq!(
        f.fix.as_deref(),
        Some("In gravl-staging/allow-dns-egress egress[0], allow 5353/UDP and 5353/TCP.")
    );
    let lints = lint(&m);
    let l = lints
        .iter()
        .find(|l| l.code == "dns-port-not-pod-port")
        .expect("a dns port lint");
    assert_eq!(l.policy, "gravl-staging/allow-dns-egress");
    assert_eq!(l.severity, Severity::Error);
    assert!(
        l.message.contains(
            "the DNS pods listen on 5353 (Service kube-system/kube-dns port 53/UDP targetPort 5353"
        ),
        "{}",
        l.message
    );
}

#[test]
fn dns_rule_without_tcp_is_a_warning() {
    let udp_only = FIXED.replace("        - protocol: TCP\n          port: 53\n", "");
    let m = build(&[CLUSTER, &udp_only]);
    let lints = lint(&m);
    let l = lints
        .iter()
        .find(|l| l.code == "dns-rule-without-tcp")
        .expect("a tcp lint");
    assert_eq!(l.severity, Severity::Warning);
    assert_eq!(l.rule.as_deref(), Some("egress[0]"));
    assert_eq!(
        l.fix,
        "In gravl-staging/allow-dns-egress egress[0], add {protocol: TCP, port: 53}."
    );
    assert_eq!(
        dns_egress(&m, "gravl-staging", &DnsTarget::default()).status,
        Status::Fail
    );
}

#[test]
fn policy_selecting_no_pods_is_reported_with_the_probable_label() {
    let extra = np(
        "gravl-staging",
        "typo",
        "  podSelector: {matchLabels: {app.kubernetes.io/name: backend}}\n  ingress: [{}]",
    );
    let m = build(&[CLUSTER, FIXED, &extra]);
    let lints = lint(&m);
    let l = lints
        .iter()
        .find(|l| l.code == "policy-selects-no-pods")
        .expect("a lint");
    assert_eq!(l.policy, "gravl-staging/typo");
    assert_eq!(
        l.fix,
        "In gravl-staging/typo podSelector, use app: backend instead of app.kubernetes.io/name: backend."
    );
}

#[test]
fn pod_selector_matching_nothing_is_reported() {
    let extra = np(
        "gravl-staging",
        "to-cache",
        "  podSelector: {matchLabels: {app: backend}}\n  egress: [{to: [{podSelector: {matchLabels: {app: redis}}}]}]",
    );
    let m = build(&[CLUSTER, FIXED, &extra]);
    let l = lint(&m)
        .into_iter()
        .find(|l| l.code == "pod-selector-matches-nothing")
        .expect("a lint");
    assert_eq!(
        l.message,
        "egress[0] selects pods {app=redis} in gravl-staging, which matches no pod or workload there."
    );
}

#[test]
fn dns_egress_is_unknown_when_dns_pods_are_missing() {
    let policies = include_str!("fixtures/gravl-policies-broken.yaml");
    let m = build(&[policies]);
    let f = dns_egress(&m, "gravl-staging", &DnsTarget::default());
    assert_eq!(f.status, Status::Unknown);
    assert_eq!(
        f.summary,
        "cluster DNS pods not found: no pod or workload in kube-system matches {k8s-app=kube-dns}"
    );
}

#[test]
fn dns_target_is_configurable() {
    let cluster = CLUSTER.replace("k8s-app: kube-dns", "app.kubernetes.io/name: coredns");
    let m = build(&[&cluster, FIXED]);
    let target = DnsTarget {
        selector: Selector::parse("app.kubernetes.io/name=coredns").unwrap(),
        ..DnsTarget::default()
    };
    // The fixed rule narrows to k8s-app=kube-dns, which these DNS pods do not carry.
    let f = dns_egress(&m, "gravl-staging", &target);
    assert_eq!(f.status, Status::Fail, "{}", f.summary);
    assert_eq!(
        dns_egress(&m, "gravl-staging", &DnsTarget::default()).status,
        Status::Unknown
    );
}

#[test]
fn selector_matching_no_endpoint_is_never_pass() {
    let m = build(&[CLUSTER, FIXED]);
    let from: EndpointSelector = "gravl-staging[app=worker]".parse().unwrap();
    let to: EndpointSelector = "gravl-staging/*".parse().unwrap();
    for f in [
        allow(&m, &from, &to, &[PortSpec::tcp(80)]),
        deny(&m, &from, &to, &[]),
    ] {
        assert_eq!(f.status, Status::Unknown);
        assert_eq!(
            f.summary,
            "source selector gravl-staging[app=worker] matches no endpoint; nothing to check"
        );
    }
}

#[test]
fn allow_gate_fails_with_the_reason_and_a_fix() {
    let m = build(&[CLUSTER, FIXED]);
    let f = allow(
        &m,
        &"gravl-staging[app=frontend]".parse().unwrap(),
        &"gravl-staging[app=backend]".parse().unwrap(),
        &[PortSpec::tcp(3000)],
    );
    assert_eq!(f.status, Status::Fail);
    assert!(f.summary.starts_with("1 of 1 connections gravl-staging[app=frontend] -> gravl-staging[app=backend] on 3000/TCP are denied; gravl-staging/frontend -> gravl-staging/backend:3000/TCP: egress from gravl-staging/frontend is restricted by"), "{}", f.summary);
    assert_eq!(
        f.fix.as_deref(),
        Some(
            "Add an egress rule to a policy selecting gravl-staging/frontend that allows gravl-staging[app=backend] on 3000/TCP."
        )
    );
}

#[test]
fn default_deny_fails_without_a_deny_policy_or_with_an_allow_all_rule() {
    let m = build(&[CLUSTER]);
    let f = default_deny(
        &m,
        "gravl-staging",
        &[Direction::Ingress, Direction::Egress],
    );
    assert_eq!(f.status, Status::Fail);
    assert!(f.summary.starts_with("gravl-staging: ingress is not denied by default (3 of 3 not selected by any ingress policy"), "{}", f.summary);
    let open = np(
        "gravl-staging",
        "open",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{}]",
    );
    let m = build(&[CLUSTER, FIXED, &open]);
    let f = default_deny(&m, "gravl-staging", &[Direction::Egress]);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.summary,
        "gravl-staging: gravl-staging/open egress[0] allows all egress traffic"
    );
}

#[test]
fn default_deny_is_unknown_for_an_empty_namespace_without_a_deny_policy() {
    let m = build(&[CLUSTER]);
    let f = default_deny(&m, "nowhere", &[Direction::Ingress]);
    assert_eq!(f.status, Status::Unknown);
}

#[test]
fn endpoint_selectors_parse_every_form() {
    for (text, shown) in [
        ("a/web", "a/web"),
        ("a/*", "a/*"),
        ("a[app=web]", "a[app=web]"),
        ("namespaces[team=x]", "namespaces[team=x]"),
        ("8.8.8.8", "8.8.8.8"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("external", "external"),
    ] {
        let s: EndpointSelector = text.parse().unwrap();
        assert_eq!(s.to_string(), shown);
    }
    let err = "a[app="
        .parse::<EndpointSelector>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected namespace/name"), "{err}");
}

#[test]
fn deny_gate_with_a_cidr_counts_any_overlap() {
    let m = build(&[CLUSTER, FIXED]);
    let f = deny(
        &m,
        &"gravl-staging[app=backend]".parse().unwrap(),
        &"8.0.0.0/7".parse().unwrap(),
        &[PortSpec::tcp(443)],
    );
    assert_eq!(f.status, Status::Fail, "some of 8.0.0.0/7 is reachable");
    let f = allow(
        &m,
        &"gravl-staging[app=backend]".parse().unwrap(),
        &"8.0.0.0/7".parse().unwrap(),
        &[PortSpec::tcp(443)],
    );
    assert_eq!(f.status, Status::Pass, "all of 8.0.0.0/7 is public");
    let f = allow(
        &m,
        &"gravl-staging[app=backend]".parse().unwrap(),
        &"10.0.0.0/7".parse().unwrap(),
        &[PortSpec::tcp(443)],
    );
    assert_eq!(f.status, Status::Fail, "10.0.0.0/8 is excepted");
}

#[test]
fn dns_egress_fails_on_the_ingress_side_when_dns_pods_are_isolated() {
    let lockdown = np(
        "kube-system",
        "lockdown",
        "  podSelector: {}\n  policyTypes: [Ingress]",
    );
    let m = build(&[CLUSTER, FIXED, &lockdown]);
    let f = dns_egress(&m, "gravl-staging", &DnsTarget::default());
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.summary
            .contains("ingress to kube-system/coredns is restricted by lockdown"),
        "{}",
        f.summary
    );
    assert_eq!(
        f.fix.as_deref(),
        Some(
            "Allow ingress to the DNS pods ({k8s-app=kube-dns} in kube-system) from gravl-staging on 53/UDP and 53/TCP."
        )
    );
    assert!(f.to_string().starts_with("fail: "));
}

#[test]
fn deny_gate_to_external_ignores_blocks_that_reach_only_private_addresses() {
    let private_only = np(
        "gravl-staging",
        "private-only",
        "  podSelector: {matchLabels: {app: postgres}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/7, except: [11.0.0.0/8]}}]}]",
    );
    let m = build(&[CLUSTER, FIXED, &private_only]);
    let postgres: EndpointSelector = "gravl-staging[app=postgres]".parse().unwrap();
    let external: EndpointSelector = "external".parse().unwrap();
    assert_eq!(deny(&m, &postgres, &external, &[]).status, Status::Pass);
    let backend: EndpointSelector = "gravl-staging[app=backend]".parse().unwrap();
    let f = deny(&m, &backend, &external, &[]);
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.summary
            .contains("gravl-staging/allow-backend-external-apis egress[0]"),
        "{}",
        f.summary
    );
}
