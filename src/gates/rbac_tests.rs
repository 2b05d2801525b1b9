//! The `rbac` verdict table, on the Gravl demo cluster's pods and RBAC: direct, group and
//! aggregated bindings, wildcards, Secrets beyond the namespace, escalation verbs, a
//! namespace-scoped Role that is fine, unused tokens, and evidence that is missing.

use super::*;
use crate::cluster::{ClusterEvent, WatchError, WatchErrorKind};
use crate::plan::{RbacCheck, RbacRef};
use serde_json::{Value, json};

const CLUSTER: &str = include_str!("../../assets/demo/gravl/cluster.yaml");
const RBAC: &str = include_str!("../../assets/demo/gravl/rbac.yaml");

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("valid timestamp")
}

fn demo() -> Vec<Value> {
    let mut all: Vec<Value> = serde_saphyr::from_multiple(CLUSTER).expect("the demo cluster");
    all.extend(serde_saphyr::from_multiple::<Value>(RBAC).expect("the demo RBAC"));
    all.retain(|o| !o.is_null());
    all
}

/// The demo without its seeded problem: the `edit` binding removed.
fn fixed() -> Vec<Value> {
    let mut all = demo();
    all.retain(|o| o["metadata"]["name"] != "ci-deploy");
    all
}

fn check() -> RbacCheck {
    RbacCheck {
        namespace: "gravl-staging".into(),
        service_accounts: vec![],
        allow: vec![],
    }
}

fn view_for(c: &RbacCheck, objects: &[Value]) -> ClusterView {
    super::test_views::synced(&c.watches(), objects, now())
}

fn judge(c: &RbacCheck, objects: &[Value]) -> CheckVerdict {
    evaluate_check(
        &Check::Rbac(c.clone()),
        &view_for(c, objects),
        &Context::default(),
    )
}

fn text(v: &CheckVerdict) -> String {
    v.evidence
        .iter()
        .map(|e| format!("{}: {}\n", e.object, e.detail))
        .collect()
}

fn cluster_role(name: &str, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
           "metadata": {"name": name}, "rules": rules})
}

fn binding(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    subject: Value,
    role: (&str, &str),
) -> Value {
    let mut b = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": {"name": name}, "subjects": [subject],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role.0, "name": role.1}});
    if let Some(ns) = namespace {
        b["metadata"]["namespace"] = json!(ns);
    }
    b
}

fn default_sa() -> Value {
    json!({"kind": "ServiceAccount", "name": "default", "namespace": "gravl-staging"})
}

#[test]
fn rbac_fails_on_the_demo_default_account_bound_to_edit_with_the_aggregated_rules_named() {
    let v = judge(&check(), &demo());
    assert_eq!(v.status, Status::Fail, "{v:#?}");
    assert_eq!(
        v.summary,
        "default: ClusterRole edit via RoleBinding/ci-deploy"
    );
    let evidence = text(&v);
    assert!(
        evidence.contains("RoleBinding gravl-staging/ci-deploy: grants ClusterRole edit in gravl-staging to ServiceAccount gravl-staging/default: binding to edit"),
        "{evidence}"
    );
    // edit holds no rules of its own: they come from the role its selector aggregates.
    assert!(
        evidence.contains(
            "of ClusterRole system:aggregate-to-edit (aggregated into edit): exec into pods"
        ),
        "{evidence}"
    );
    assert!(evidence.contains("`impersonate`"), "{evidence}");
    assert!(v.fix.as_deref().is_some_and(|f| f.contains("allow")));
}

#[test]
fn rbac_passes_a_namespace_scoped_role_that_reads_configmaps() {
    let v = judge(&check(), &fixed());
    assert_eq!(v.status, Status::Pass, "{v:#?}");
    assert_eq!(
        v.summary,
        "1 ServiceAccount in gravl-staging: least privilege"
    );
    let evidence = text(&v);
    assert!(
        evidence.contains("ServiceAccount gravl-staging/default: Role gravl-staging/gravl-config-reader via RoleBinding/gravl-config-reader in gravl-staging: get,list,watch configmaps (4 pods)"),
        "{evidence}"
    );
    // Everyone's discovery grant is not this account's permission, and is not shown.
    assert!(!evidence.contains("system:discovery"), "{evidence}");
}

#[test]
fn rbac_fails_a_direct_cluster_binding_that_reads_secrets_everywhere() {
    let mut objects = fixed();
    objects.push(cluster_role(
        "secret-reader",
        json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]),
    ));
    objects.push(binding(
        "ClusterRoleBinding",
        None,
        "gravl-secrets",
        default_sa(),
        ("ClusterRole", "secret-reader"),
    ));
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Fail);
    assert!(
        text(&v).contains("ClusterRoleBinding gravl-secrets: grants ClusterRole secret-reader in every namespace to ServiceAccount gravl-staging/default: rule `get,list secrets` of ClusterRole secret-reader: reads Secrets in every namespace"),
        "{}",
        text(&v)
    );
}

#[test]
fn rbac_fails_secrets_read_through_a_role_binding_in_another_namespace() {
    let mut objects = fixed();
    objects.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "read-secrets", "namespace": "kube-system"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["watch"]}]}),
    );
    objects.push(binding(
        "RoleBinding",
        Some("kube-system"),
        "gravl-reads-kube-system",
        default_sa(),
        ("Role", "read-secrets"),
    ));
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Fail);
    assert!(
        text(&v).contains("reads Secrets in kube-system, outside gravl-staging"),
        "{}",
        text(&v)
    );
}

#[test]
fn rbac_allows_secrets_read_inside_the_namespace() {
    let mut objects = fixed();
    for o in &mut objects {
        if o["kind"] == "Role" && o["metadata"]["name"] == "gravl-config-reader" {
            o["rules"][0]["resources"] = json!(["configmaps", "secrets"]);
        }
    }
    assert_eq!(judge(&check(), &objects).status, Status::Pass);
}

#[test]
fn rbac_fails_wildcards_granted_to_the_namespace_accounts_group() {
    for (rule, words) in [
        (
            json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}),
            "wildcard verbs",
        ),
        (
            json!({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}),
            "wildcard resources",
        ),
    ] {
        let mut objects = fixed();
        objects.push(cluster_role("broad", json!([rule])));
        objects.push(binding(
            "ClusterRoleBinding",
            None,
            "all-staging-accounts",
            json!({"kind": "Group", "name": "system:serviceaccounts:gravl-staging", "apiGroup": "rbac.authorization.k8s.io"}),
            ("ClusterRole", "broad"),
        ));
        let v = judge(&check(), &objects);
        assert_eq!(v.status, Status::Fail, "{words}");
        let evidence = text(&v);
        assert!(
            evidence.contains("to Group system:serviceaccounts:gravl-staging"),
            "{evidence}"
        );
        assert!(evidence.contains(words), "{evidence}");
    }
}

#[test]
fn rbac_fails_escalation_verbs_and_pod_exec_granted_to_every_service_account() {
    for (rule, words) in [
        (
            json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate"]}),
            "`escalate`",
        ),
        (
            json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["bind"]}),
            "`bind`",
        ),
        (
            json!({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}),
            "`impersonate`",
        ),
        (
            json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}),
            "exec into pods",
        ),
        (
            json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}),
            "exec into pods over WebSockets",
        ),
        // `*/exec` is the exec subresource of every resource, pods included.
        (
            json!({"apiGroups": [""], "resources": ["*/exec"], "verbs": ["create"]}),
            "exec into pods",
        ),
    ] {
        let mut objects = fixed();
        objects.push(cluster_role("risky", json!([rule])));
        objects.push(binding(
            "ClusterRoleBinding",
            None,
            "every-account",
            json!({"kind": "Group", "name": "system:serviceaccounts"}),
            ("ClusterRole", "risky"),
        ));
        let v = judge(&check(), &objects);
        assert_eq!(v.status, Status::Fail, "{words}");
        assert!(text(&v).contains(words), "{words}: {}", text(&v));
    }
}

#[test]
fn rbac_fails_cluster_admin_bound_to_the_account_as_a_user() {
    let mut objects = fixed();
    objects.push(binding(
        "ClusterRoleBinding",
        None,
        "gravl-admin",
        json!({"kind": "User", "name": "system:serviceaccount:gravl-staging:default"}),
        ("ClusterRole", "cluster-admin"),
    ));
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.summary
            .contains("ClusterRole cluster-admin via ClusterRoleBinding/gravl-admin")
    );
    assert!(text(&v).contains("binding to cluster-admin; rule `* *.*` of ClusterRole cluster-admin: wildcard verbs, wildcard resources"), "{}", text(&v));
}

#[test]
fn rbac_accepts_a_grant_the_plan_allows_and_says_so() {
    for allowed in ["RoleBinding/ci-deploy", "ClusterRole/edit"] {
        let mut c = check();
        c.allow = vec![RbacRef::new(allowed).expect("a reference")];
        let v = judge(&c, &demo());
        assert_eq!(v.status, Status::Pass, "{allowed}: {v:#?}");
        assert!(
            text(&v).contains(&format!("allowed by the plan ({allowed}): binding to edit")),
            "{}",
            text(&v)
        );
    }
}

#[test]
fn rbac_warns_when_pods_mount_the_token_of_an_account_without_permissions() {
    let mut objects = fixed();
    objects.retain(|o| o["metadata"]["name"] != "gravl-config-reader");
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Warn, "{v:#?}");
    assert_eq!(
        v.summary,
        "default: token mounted by 4 pods but no permissions"
    );
    assert!(
        v.fix
            .as_deref()
            .is_some_and(|f| f.contains("automountServiceAccountToken: false"))
    );

    // The account's setting stops the mount, and a pod's own setting wins over it.
    for o in &mut objects {
        if o["kind"] == "ServiceAccount" {
            o["automountServiceAccountToken"] = json!(false);
        }
    }
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Pass, "{v:#?}");
    assert!(text(&v).contains("no pod mounts its token"));
    let pod = objects
        .iter_mut()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["namespace"] == "gravl-staging")
        .expect("a staging pod");
    pod["spec"]["automountServiceAccountToken"] = json!(true);
    assert_eq!(judge(&check(), &objects).status, Status::Warn);
}

#[test]
fn rbac_judges_the_accounts_the_pods_run_as_and_those_the_plan_names() {
    let mut objects = fixed();
    for o in &mut objects {
        if o["kind"] == "Pod"
            && o["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("backend"))
        {
            o["spec"]["serviceAccountName"] = json!("gravl-backend");
        }
    }
    // The pods run as an account that is not there: the list is behind, undecided.
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Unknown, "{v:#?}");
    assert!(text(&v).contains("ServiceAccount gravl-staging/gravl-backend: not found (2 pods)"));

    // An account the plan names must exist.
    let mut c = check();
    c.service_accounts = vec!["gravl-migrations".into()];
    let v = judge(&c, &fixed());
    assert_eq!(v.status, Status::Fail);
    assert_eq!(v.summary, "gravl-migrations not found");
}

#[test]
fn rbac_binding_to_a_missing_role_grants_nothing() {
    let mut objects = fixed();
    objects.push(binding(
        "RoleBinding",
        Some("gravl-staging"),
        "stale",
        default_sa(),
        ("Role", "deleted-role"),
    ));
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Pass);
    assert!(text(&v).contains("RoleBinding gravl-staging/stale: binds Role gravl-staging/deleted-role to ServiceAccount gravl-staging/default, which does not exist: grants nothing"));
}

#[test]
fn rbac_is_unknown_without_fresh_bindings_or_anything_to_judge() {
    let c = check();
    let mut view = view_for(&c, &demo());
    view.apply(
        ClusterEvent::Failed {
            key: crate::cluster::WatchKey::cluster(crate::cluster::CLUSTER_ROLE_BINDINGS),
            error: WatchError {
                kind: WatchErrorKind::Forbidden,
                message: "clusterrolebindings.rbac.authorization.k8s.io is forbidden".into(),
            },
        },
        now(),
    );
    let v = evaluate_check(&Check::Rbac(c.clone()), &view, &Context::default());
    assert_eq!(v.status, Status::Unknown);
    assert!(
        v.summary.contains("forbidden to read clusterrolebindings"),
        "{}",
        v.summary
    );

    let empty: Vec<Value> = fixed().into_iter().filter(|o| o["kind"] != "Pod").collect();
    let v = judge(&c, &empty);
    assert_eq!(v.status, Status::Unknown);
    assert!(v.summary.contains("nothing to judge"));
}

#[test]
fn rbac_reads_the_same_on_projected_pods() {
    let plan = crate::plan::load_with_env("gravl", |_| None).expect("gravl");
    let ctx = Context::new(now());
    let mut token_off = demo();
    for o in &mut token_off {
        if o["kind"] == "Pod" {
            o["spec"]["automountServiceAccountToken"] = json!(false);
            o["spec"]["serviceAccountName"] = json!("default");
        }
    }
    for (case, objects) in [
        ("demo", demo()),
        ("fixed", fixed()),
        ("token off", token_off),
    ] {
        let (whole, projected) = super::projection_tests::both_ways(&plan.plan, &objects, &ctx);
        assert_eq!(
            whole, projected,
            "{case}: verdicts differ on projected objects"
        );
        let rbac = whole
            .as_array()
            .and_then(|gates| gates.iter().find(|g| g["id"] == "rbac"))
            .expect("the rbac gate");
        assert_ne!(rbac["status"], "unknown", "{case}: {rbac}");
    }
}

#[test]
fn rbac_allow_entries_are_checked_when_the_plan_is_read() {
    let text = "name: p\ngates:\n  - id: r\n    title: R\n    group: security\n    checks:\n      - rbac: {namespace: app, allow: [Deployment/web]}\n";
    let errors = crate::plan::parse("p.yaml", text, |_| None)
        .expect_err("Deployment is no RBAC kind")
        .to_string();
    assert!(
        errors.contains("`Deployment/web` is not Kind/name with Kind one of Role, ClusterRole, RoleBinding, ClusterRoleBinding"),
        "{errors}"
    );
    assert!(errors.contains("p.yaml:7:"), "{errors}");
}

#[test]
fn pods_star_is_no_wildcard_for_the_api_server_so_it_grants_no_exec() {
    let mut objects = fixed();
    objects.push(cluster_role(
        "pod-logs",
        json!([{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["get"]}]),
    ));
    objects.push(binding(
        "RoleBinding",
        Some("gravl-staging"),
        "logs",
        default_sa(),
        ("ClusterRole", "pod-logs"),
    ));
    let v = judge(&check(), &objects);
    assert!(!text(&v).contains("exec into pods"), "{}", text(&v));
}

#[test]
fn wildcard_verbs_on_non_resource_urls_fail() {
    let mut objects = fixed();
    objects.push(cluster_role(
        "urls",
        json!([{"nonResourceURLs": ["*"], "verbs": ["*"]}]),
    ));
    objects.push(binding(
        "ClusterRoleBinding",
        None,
        "urls",
        default_sa(),
        ("ClusterRole", "urls"),
    ));
    let v = judge(&check(), &objects);
    assert_eq!(v.status, Status::Fail, "{}", text(&v));
    assert!(
        text(&v).contains("wildcard verbs on non-resource URLs"),
        "{}",
        text(&v)
    );
}
