//! `rbac`: what the namespace's ServiceAccounts may do, from the RoleBindings and
//! ClusterRoleBindings that name them (as a ServiceAccount, as the user
//! `system:serviceaccount:NS:NAME`, or through the groups every ServiceAccount token
//! carries) and the roles those bind, aggregated ClusterRoles resolved. golive reads the
//! RBAC objects and writes nothing.
//!
//! golive's own access is judged by `cluster_access` from the watches themselves (a list
//! and a watch that succeeded, or the API server's 403 `Status`), not by a
//! SelfSubjectAccessReview: the watch is the access golive needs, so its answer is the
//! evidence itself, where a review is a prediction, a `create` a read-only tool would
//! otherwise never send, and one more request per resource, namespace and verb.

use super::json::{describe, labels, name, namespace, selector_matches, str_field};
use super::{CheckKind, CheckVerdict, Context, Evidence, Status, require_fresh};
use crate::cluster::{
    CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ClusterView, PODS, ROLE_BINDINGS, ROLES,
    SERVICE_ACCOUNTS, WatchKey,
};
use crate::plan::{RbacCheck, RbacRef};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const KIND: &str = "rbac";

/// ClusterRoles whose binding fails by name: each reads Secrets, execs into pods and
/// changes workloads (cluster-admin everything), whatever else a namespace needs.
const BROAD_ROLES: [&str; 3] = ["cluster-admin", "admin", "edit"];

/// Verbs that hand out more than they name: granting roles beyond one's own, binding
/// them, acting as another user.
const ESCALATING_VERBS: [&str; 3] = ["escalate", "bind", "impersonate"];

/// The fields of a pod the check reads: the account it runs as and whether it mounts
/// the account's token.
pub const POD_READS: &[&str] = &[
    "spec.serviceAccountName",
    "spec.serviceAccount",
    "spec.automountServiceAccountToken",
];

/// One rule a grant carries, with the role it comes from (an aggregated ClusterRole's
/// rules come from the roles its selectors match).
struct Rule<'a> {
    origin: String,
    rule: &'a Value,
}

/// One binding that applies to the account: the role it binds and where.
struct Grant<'a> {
    binding: &'a Value,
    /// The subject that matched: `ServiceAccount gravl-staging/default`, `Group system:serviceaccounts`.
    subject: String,
    /// False when it matched only as `system:authenticated`: everyone's grants (discovery,
    /// self reviews) are not permissions this account uses.
    own: bool,
    role: RbacRef,
    /// The RoleBinding's namespace; `None` for a ClusterRoleBinding (every namespace).
    scope: Option<&'a str>,
    /// `None` when the bound role does not exist (the binding grants nothing).
    rules: Option<Vec<Rule<'a>>>,
}

impl Grant<'_> {
    fn binding_ref(&self) -> RbacRef {
        RbacRef {
            kind: self.binding["kind"]
                .as_str()
                .unwrap_or("Binding")
                .to_string(),
            name: name(self.binding).to_string(),
        }
    }

    fn role_text(&self) -> String {
        match (self.role.kind.as_str(), self.scope) {
            ("Role", Some(ns)) => format!("Role {ns}/{}", self.role.name),
            _ => format!("ClusterRole {}", self.role.name),
        }
    }

    fn scope_text(&self) -> String {
        match self.scope {
            Some(ns) => format!("in {ns}"),
            None => "in every namespace".into(),
        }
    }

    /// `ClusterRole edit via RoleBinding ci-deploy`.
    fn short(&self) -> String {
        format!("{} via {}", self.role_text(), self.binding_ref())
    }
}

/// `get,list,watch secrets`, `create pods/exec`, `get deployments.apps [api]`.
pub(crate) fn rule_text(rule: &Value) -> String {
    let list = |key: &str| -> Vec<&str> {
        rule[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let verbs = list("verbs").join(",");
    let groups = list("apiGroups");
    let resources = list("resources");
    let urls = list("nonResourceURLs");
    let mut text = if !urls.is_empty() {
        format!("{verbs} {}", urls.join(","))
    } else {
        let qualified: Vec<String> = match groups.as_slice() {
            [] | [""] => resources.iter().map(|r| r.to_string()).collect(),
            [group] => resources.iter().map(|r| format!("{r}.{group}")).collect(),
            _ => resources
                .iter()
                .map(|r| format!("{r} in {}", groups.join(",")))
                .collect(),
        };
        format!("{verbs} {}", qualified.join(","))
    };
    let names = list("resourceNames");
    if !names.is_empty() {
        text.push_str(&format!(" [{}]", names.join(",")));
    }
    text
}

fn has(rule: &Value, key: &str, wanted: &str) -> bool {
    rule[key]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(wanted)))
}

/// What is wrong with one rule granted `scope`-wide to an account of `home`.
fn rule_problems(rule: &Value, scope: Option<&str>, home: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if rule.get("resources").is_none() {
        // nonResourceURLs: health and discovery endpoints, not objects; but `*` verbs on
        // them are still wildcard verbs.
        if has(rule, "verbs", "*") {
            problems.push("wildcard verbs on non-resource URLs".into());
        }
        return problems;
    }
    let any_verb = has(rule, "verbs", "*");
    let core = has(rule, "apiGroups", "") || has(rule, "apiGroups", "*");
    if any_verb {
        problems.push("wildcard verbs".into());
    }
    if has(rule, "resources", "*") {
        problems.push("wildcard resources".into());
    }
    let reads = any_verb
        || ["get", "list", "watch"]
            .iter()
            .any(|v| has(rule, "verbs", v));
    let secrets = core && (has(rule, "resources", "secrets") || has(rule, "resources", "*"));
    if reads && secrets && scope != Some(home) {
        problems.push(match scope {
            Some(ns) => format!("reads Secrets in {ns}, outside {home}"),
            None => "reads Secrets in every namespace".into(),
        });
    }
    for verb in ESCALATING_VERBS {
        if has(rule, "verbs", verb) {
            problems.push(format!("`{verb}`"));
        }
    }
    // As the API server matches: `*`, the exact `pods/exec`, or `*/exec` (that subresource
    // of every resource). `pods/*` is no wildcard there.
    let exec = core
        && ["pods/exec", "*/exec", "*"]
            .iter()
            .any(|r| has(rule, "resources", r));
    if exec && !any_verb && has(rule, "verbs", "create") {
        problems.push("exec into pods".into());
    } else if exec && !any_verb && has(rule, "verbs", "get") && !has(rule, "resources", "*") {
        // Before 1.35 the API server authorizes a WebSocket exec as `get`.
        problems.push("exec into pods over WebSockets (`get`)".into());
    }
    problems
}

/// The rules of a ClusterRole, its aggregation resolved: the rules of every ClusterRole
/// its `aggregationRule` selects, recursively (as the controller would have filled them).
fn cluster_role_rules<'a>(
    role: &'a Value,
    all: &[&'a Value],
    seen: &mut BTreeSet<String>,
    out: &mut Vec<Rule<'a>>,
) {
    if !seen.insert(name(role).to_string()) {
        return;
    }
    for rule in role["rules"].as_array().into_iter().flatten() {
        // The controller copies aggregated rules in; keep one copy of each.
        if !out.iter().any(|r| r.rule == rule) {
            out.push(Rule {
                origin: name(role).to_string(),
                rule,
            });
        }
    }
    let selectors = role["aggregationRule"]["clusterRoleSelectors"].as_array();
    for selector in selectors.into_iter().flatten() {
        for other in all {
            if name(other) != name(role) && selector_matches(selector, &labels(other)) {
                cluster_role_rules(other, all, seen, out);
            }
        }
    }
}

/// How `subject` of a binding in `binding_ns` names the account `ns/sa`, if it does:
/// the subject's words and whether the grant is the account's own.
fn matches_account(
    subject: &Value,
    binding_ns: Option<&str>,
    ns: &str,
    sa: &str,
) -> Option<(String, bool)> {
    let subject_name = str_field(subject, "name");
    match str_field(subject, "kind") {
        "ServiceAccount" => {
            // The RBAC authorizer reads an empty namespace as the binding's own.
            let subject_ns = match str_field(subject, "namespace") {
                "" => binding_ns.unwrap_or_default(),
                n => n,
            };
            (subject_name == sa && subject_ns == ns)
                .then(|| (format!("ServiceAccount {ns}/{sa}"), true))
        }
        "User" => (subject_name == format!("system:serviceaccount:{ns}:{sa}"))
            .then(|| (format!("User {subject_name}"), true)),
        "Group" => {
            let own = subject_name == "system:serviceaccounts"
                || subject_name == format!("system:serviceaccounts:{ns}");
            let everyone = subject_name == "system:authenticated";
            (own || everyone).then(|| (format!("Group {subject_name}"), own))
        }
        _ => None,
    }
}

/// The RBAC objects of the view, read once per evaluation.
struct RbacObjects {
    cluster_roles: Vec<Value>,
    roles: Vec<Value>,
    bindings: Vec<Value>,
}

impl RbacObjects {
    fn read(view: &ClusterView) -> Self {
        Self {
            cluster_roles: view.objects(&CLUSTER_ROLES, None).collect(),
            roles: view.objects(&ROLES, None).collect(),
            bindings: view
                .objects(&ROLE_BINDINGS, None)
                .chain(view.objects(&CLUSTER_ROLE_BINDINGS, None))
                .collect(),
        }
    }
}

/// Every binding that applies to the account `ns/sa`, with the rules it grants.
fn grants<'a>(objects: &'a RbacObjects, ns: &str, sa: &str) -> Vec<Grant<'a>> {
    let cluster_roles: Vec<&Value> = objects.cluster_roles.iter().collect();
    let mut out = Vec::new();
    for binding in &objects.bindings {
        let scope = (binding["kind"] == "RoleBinding").then(|| namespace(binding).unwrap_or(""));
        let matched = binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| matches_account(s, scope, ns, sa))
            // The account's own subject outranks a group that also matches.
            .max_by_key(|(_, own)| *own);
        let Some((subject, own)) = matched else {
            continue;
        };
        let role = RbacRef {
            kind: str_field(&binding["roleRef"], "kind").to_string(),
            name: str_field(&binding["roleRef"], "name").to_string(),
        };
        let rules = match (role.kind.as_str(), scope) {
            ("Role", Some(scope)) => objects
                .roles
                .iter()
                .find(|r| namespace(r) == Some(scope) && name(r) == role.name)
                .map(|r| {
                    r["rules"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|rule| Rule {
                            origin: format!("Role {scope}/{}", role.name),
                            rule,
                        })
                        .collect()
                }),
            ("ClusterRole", _) => cluster_roles
                .iter()
                .find(|r| name(r) == role.name)
                .map(|r| {
                    let mut rules = Vec::new();
                    cluster_role_rules(r, &cluster_roles, &mut BTreeSet::new(), &mut rules);
                    for rule in &mut rules {
                        rule.origin = if rule.origin == role.name {
                            format!("ClusterRole {}", rule.origin)
                        } else {
                            format!(
                                "ClusterRole {} (aggregated into {})",
                                rule.origin, role.name
                            )
                        };
                    }
                    rules
                }),
            _ => None,
        };
        out.push(Grant {
            binding,
            subject,
            own,
            role,
            scope,
            rules,
        });
    }
    out
}

/// The accounts to judge, each with the pods that run as it (empty when named by the plan
/// and no pod uses it).
fn accounts<'a>(c: &RbacCheck, pods: &[&'a Value]) -> BTreeMap<String, Vec<&'a Value>> {
    let mut by_account: BTreeMap<String, Vec<&Value>> = c
        .service_accounts
        .iter()
        .map(|s| (s.clone(), Vec::new()))
        .collect();
    for pod in pods {
        let spec = &pod["spec"];
        // Admission fills `default` in when a pod names none.
        let account = [
            spec["serviceAccountName"].as_str(),
            spec["serviceAccount"].as_str(),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .unwrap_or("default");
        if c.service_accounts.is_empty() || by_account.contains_key(account) {
            by_account.entry(account.to_string()).or_default().push(pod);
        }
    }
    by_account
}

/// Whether the pod has the account's token mounted: the pod's setting wins over the
/// account's, and both default to true.
fn mounts_token(pod: &Value, account: Option<&Value>) -> bool {
    pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .or_else(|| account.and_then(|a| a["automountServiceAccountToken"].as_bool()))
        .unwrap_or(true)
}

/// The verdict and evidence of one account.
fn judge_account(
    c: &RbacCheck,
    view: &ClusterView,
    rbac: &RbacObjects,
    sa: &str,
    pods: &[&Value],
    evidence: &mut Vec<Evidence>,
    bad: &mut Vec<String>,
) -> Status {
    let ns = c.namespace.as_str();
    let who = format!("ServiceAccount {ns}/{sa}");
    let object = view.object(&SERVICE_ACCOUNTS, Some(ns), sa);
    let object = object.as_ref();
    let used_by = match pods.len() {
        0 => String::new(),
        1 => format!(" (pod {})", name(pods[0])),
        n => format!(" ({n} pods)"),
    };
    if object.is_none() {
        let named = c.service_accounts.iter().any(|s| s == sa);
        evidence.push(Evidence::new(who, format!("not found{used_by}")));
        bad.push(format!("{sa} not found"));
        // A pod cannot run as a missing account: the list is behind, or it was deleted.
        return if named { Status::Fail } else { Status::Unknown };
    }
    let mut status = Status::Pass;
    let mut held = Vec::new();
    for grant in grants(rbac, ns, sa) {
        let Some(rules) = &grant.rules else {
            evidence.push(Evidence::new(
                describe(grant.binding),
                format!(
                    "binds {} to {}, which does not exist: grants nothing",
                    grant.role_text(),
                    grant.subject
                ),
            ));
            continue;
        };
        let mut problems = Vec::new();
        if grant.role.kind == "ClusterRole" && BROAD_ROLES.contains(&grant.role.name.as_str()) {
            problems.push(format!("binding to {}", grant.role.name));
        }
        for r in rules {
            let found = rule_problems(r.rule, grant.scope, ns);
            if !found.is_empty() {
                problems.push(format!(
                    "rule `{}` of {}: {}",
                    rule_text(r.rule),
                    r.origin,
                    found.join(", ")
                ));
            }
        }
        const LISTED: usize = 3;
        let mut grants_text = rules
            .iter()
            .take(LISTED)
            .map(|r| rule_text(r.rule))
            .collect::<Vec<_>>()
            .join("; ");
        if rules.len() > LISTED {
            grants_text.push_str(&format!("; +{} more rules", rules.len() - LISTED));
        }
        if grant.own && !rules.is_empty() {
            held.push(format!(
                "{} {}: {grants_text}",
                grant.short(),
                grant.scope_text()
            ));
        }
        if problems.is_empty() {
            continue;
        }
        let allowed = c
            .allow
            .iter()
            .find(|a| **a == grant.binding_ref() || **a == grant.role);
        let head = format!(
            "grants {} {} to {}",
            grant.role_text(),
            grant.scope_text(),
            grant.subject
        );
        const SHOWN: usize = 4;
        let mut shown: Vec<String> = problems.iter().take(SHOWN).cloned().collect();
        if problems.len() > SHOWN {
            shown.push(format!("+{} more", problems.len() - SHOWN));
        }
        match allowed {
            Some(a) => evidence.push(Evidence::new(
                describe(grant.binding),
                format!("{head}: allowed by the plan ({a}): {}", shown.join("; ")),
            )),
            None => {
                status = Status::Fail;
                bad.push(format!("{sa}: {}", grant.short()));
                evidence.push(Evidence::new(
                    describe(grant.binding),
                    format!("{head}: {}", shown.join("; ")),
                ));
            }
        }
    }
    let mounting: Vec<&str> = pods
        .iter()
        .filter(|p| mounts_token(p, object))
        .map(|p| name(p))
        .collect();
    if held.is_empty() {
        let detail = if mounting.is_empty() {
            format!("no RBAC permissions{used_by}; no pod mounts its token")
        } else {
            status = status.max(Status::Warn);
            bad.push(format!(
                "{sa}: token mounted by {} pod{} but no permissions",
                mounting.len(),
                if mounting.len() == 1 { "" } else { "s" }
            ));
            format!(
                "no RBAC permissions, yet its token is mounted in {}",
                mounting.join(", ")
            )
        };
        evidence.push(Evidence::new(who, detail));
    } else {
        evidence.push(Evidence::new(who, format!("{}{used_by}", held.join(" | "))));
    }
    status
}

pub fn rbac(c: &RbacCheck, view: &ClusterView) -> Result<CheckVerdict, CheckVerdict> {
    let ns = c.namespace.as_str();
    for key in c.watches() {
        require_fresh(KIND, view, &key.resource, key.namespace.as_deref(), false)?;
    }
    let pod_values: Vec<Value> = view.objects(&PODS, Some(ns)).collect();
    let pods: Vec<&Value> = pod_values.iter().collect();
    let rbac_objects = RbacObjects::read(view);
    let accounts = accounts(c, &pods);
    if accounts.is_empty() {
        return Ok(CheckVerdict::new(
            KIND,
            Status::Unknown,
            format!("no pods in {ns} and no service_accounts named: nothing to judge"),
        )
        .with_fix("name the ServiceAccounts to judge in `service_accounts`"));
    }
    let mut evidence = Vec::new();
    let mut bad = Vec::new();
    let mut worst = Status::Pass;
    for (sa, pods) in &accounts {
        worst = worst.max(judge_account(
            c,
            view,
            &rbac_objects,
            sa,
            pods,
            &mut evidence,
            &mut bad,
        ));
    }
    let n = accounts.len();
    let plural = if n == 1 { "" } else { "s" };
    let summary = if bad.is_empty() {
        format!("{n} ServiceAccount{plural} in {ns}: least privilege")
    } else {
        let shown = bad.len().min(3);
        let mut text = bad[..shown].join(", ");
        if bad.len() > shown {
            text.push_str(&format!(" (+{} more)", bad.len() - shown));
        }
        text
    };
    let mut verdict = CheckVerdict::new(KIND, worst, summary).with_evidence(evidence);
    verdict.fix = match worst {
        Status::Fail => Some(format!(
            "bind a Role in {ns} with only the verbs and resources the workload uses; accept a reviewed grant with `allow: [Kind/name]`"
        )),
        Status::Warn => Some(
            "set automountServiceAccountToken: false on the ServiceAccount or the pod spec".into(),
        ),
        _ => None,
    };
    Ok(verdict)
}

impl CheckKind for RbacCheck {
    const NAME: &'static str = "rbac";

    fn watches(&self) -> Vec<WatchKey> {
        vec![
            WatchKey::namespaced(PODS, &self.namespace),
            WatchKey::namespaced(SERVICE_ACCOUNTS, &self.namespace),
            // A RoleBinding in any namespace can name this namespace's accounts.
            WatchKey::cluster(ROLE_BINDINGS),
            WatchKey::cluster(ROLES),
            WatchKey::cluster(CLUSTER_ROLE_BINDINGS),
            WatchKey::cluster(CLUSTER_ROLES),
        ]
    }

    fn reads(&self) -> Vec<crate::cluster::Reads> {
        vec![(PODS, POD_READS)]
    }

    fn evaluate(&self, view: &ClusterView, _ctx: &Context) -> Result<CheckVerdict, CheckVerdict> {
        rbac(self, view)
    }
}
