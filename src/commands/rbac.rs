//! `golive rbac`: the least-privilege RBAC golive needs for a plan, ready for
//! `kubectl apply -f -`. get, list and watch on exactly the resources and namespaces the
//! plan's checks watch (a ClusterRole for cluster-scoped and all-namespace watches, a
//! Role per namespace otherwise), `get` on `services/proxy` of the monitoring Services
//! reached through the API server, and bindings to one identity. golive's own access is
//! then judged by `cluster_access` from the watches' answers (see `gates::rbac` for why
//! not a SelfSubjectAccessReview).

use crate::cluster::{ResourceType, WatchKey};
use crate::plan::Plan;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Text,
}

#[derive(clap::Args, Debug)]
pub struct RbacArgs {
    /// Plan file or built-in plan name (gravl, volundr).
    #[arg(long)]
    pub plan: String,
    /// Namespace of the ServiceAccount `golive` the bindings grant to (printed too).
    #[arg(long, default_value = "golive")]
    pub namespace: String,
    /// Bind this user instead of the ServiceAccount (repeatable; with --group).
    #[arg(long)]
    pub user: Vec<String>,
    /// Bind this group instead of the ServiceAccount (repeatable; with --user).
    #[arg(long)]
    pub group: Vec<String>,
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
}

/// Who the bindings name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// `golive` in this namespace, printed with the roles.
    ServiceAccount { namespace: String },
    /// People or a team, from the kubeconfig's credentials.
    Subjects {
        users: Vec<String>,
        groups: Vec<String>,
    },
}

impl Identity {
    fn subjects(&self) -> Vec<Value> {
        match self {
            Identity::ServiceAccount { namespace } => {
                vec![json!({"kind": "ServiceAccount", "name": "golive", "namespace": namespace})]
            }
            Identity::Subjects { users, groups } => users
                .iter()
                .map(|u| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u}))
                .chain(groups.iter().map(|g| {
                    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g})
                }))
                .collect(),
        }
    }

    fn words(&self) -> String {
        match self {
            Identity::ServiceAccount { namespace } => format!("ServiceAccount {namespace}/golive"),
            Identity::Subjects { users, groups } => users
                .iter()
                .map(|u| format!("User {u}"))
                .chain(groups.iter().map(|g| format!("Group {g}")))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// What golive reads: per scope (`None` the cluster, else a namespace), per API group,
/// the resources, and the proxied Services by namespace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub reads: BTreeMap<Option<String>, BTreeMap<String, BTreeSet<String>>>,
    pub proxies: BTreeMap<String, BTreeSet<String>>,
}

const READ: [&str; 3] = ["get", "list", "watch"];

/// The access `plan` needs, from the same watches `check` and the cockpit start.
pub fn needs(plan: &Plan) -> Needs {
    let mut needs = Needs::default();
    for WatchKey {
        resource,
        namespace,
    } in crate::gates::plan_watches(plan)
    {
        let ResourceType { group, plural, .. } = resource;
        // Secrets are read as metadata only, yet RBAC knows no such verb: list and watch.
        needs
            .reads
            .entry(namespace)
            .or_default()
            .entry(group.to_string())
            .or_default()
            .insert(plural.to_string());
    }
    let monitoring = plan.monitoring.as_ref();
    let sources = monitoring
        .into_iter()
        .flat_map(|m| [m.prometheus.as_ref(), m.alertmanager.as_ref()])
        .flatten();
    for service in sources.filter_map(|s| s.service.as_deref()) {
        if let Some((ns, name)) = service.split_once('/') {
            needs
                .proxies
                .entry(ns.to_string())
                .or_default()
                .insert(name.to_string());
        }
    }
    needs
}

fn read_rules(groups: &BTreeMap<String, BTreeSet<String>>) -> Vec<Value> {
    groups
        .iter()
        .flat_map(|(group, plurals)| {
            // Secrets are read as metadata lists: list and watch, never get.
            let (secrets, others): (Vec<&String>, Vec<&String>) = plurals
                .iter()
                .partition(|p| group.is_empty() && p.as_str() == "secrets");
            let mut rules = Vec::new();
            if !others.is_empty() {
                rules.push(json!({"apiGroups": [group], "resources": others, "verbs": READ}));
            }
            if !secrets.is_empty() {
                rules.push(
                    json!({"apiGroups": [group], "resources": secrets, "verbs": ["list", "watch"]}),
                );
            }
            rules
        })
        .collect()
}

/// `Gravl production go-live` → `gravl-production-go-live`: a name for the roles.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    out.truncate(50);
    if out.is_empty() { "plan".into() } else { out }
}

/// The manifests: the ServiceAccount (when binding one), a ClusterRole and its binding
/// for the cluster-wide reads, and a Role and RoleBinding per namespace.
pub fn manifests(plan: &Plan, identity: &Identity) -> Vec<Value> {
    let needs = needs(plan);
    let name = format!("golive-{}", slug(&plan.name));
    let labels =
        json!({"app.kubernetes.io/name": "golive", "app.kubernetes.io/component": "reader"});
    let subjects = identity.subjects();
    let mut out = Vec::new();
    if let Identity::ServiceAccount { namespace } = identity {
        out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "golive", "namespace": namespace, "labels": labels}}));
    }
    let rbac = "rbac.authorization.k8s.io/v1";
    let role_ref =
        |kind: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name});
    if let Some(groups) = needs.reads.get(&None) {
        out.push(json!({"apiVersion": rbac, "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels}, "rules": read_rules(groups)}));
        out.push(json!({"apiVersion": rbac, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": labels},
            "subjects": subjects, "roleRef": role_ref("ClusterRole")}));
    }
    let namespaces: BTreeSet<&String> = needs
        .reads
        .keys()
        .flatten()
        .chain(needs.proxies.keys())
        .collect();
    for ns in namespaces {
        let mut rules = needs
            .reads
            .get(&Some(ns.clone()))
            .map(read_rules)
            .unwrap_or_default();
        if let Some(services) = needs.proxies.get(ns) {
            rules.push(json!({"apiGroups": [""], "resources": ["services/proxy"],
                "resourceNames": services, "verbs": ["get"]}));
        }
        out.push(json!({"apiVersion": rbac, "kind": "Role",
            "metadata": {"name": name, "namespace": ns, "labels": labels}, "rules": rules}));
        out.push(json!({"apiVersion": rbac, "kind": "RoleBinding",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "subjects": subjects, "roleRef": role_ref("Role")}));
    }
    out
}

/// The same access in words, one line per scope and API group.
pub fn text(plan: &Plan, identity: &Identity) -> String {
    let needs = needs(plan);
    let mut out = format!(
        "golive reads for plan \"{}\" as {} (verbs get, list, watch; nothing else):\n",
        plan.name,
        identity.words()
    );
    for (scope, groups) in &needs.reads {
        let scope = scope.as_deref().unwrap_or("cluster-wide");
        for (group, plurals) in groups {
            let group = if group.is_empty() { "core" } else { group };
            let plurals: Vec<&str> = plurals.iter().map(String::as_str).collect();
            out.push_str(&format!(
                "  {scope:<20} {group:<28} {}\n",
                plurals.join(", ")
            ));
        }
    }
    for (ns, services) in &needs.proxies {
        let services: Vec<&str> = services.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "  {ns:<20} {:<28} get through the API server's proxy: {}\n",
            "services/proxy",
            services.join(", ")
        ));
    }
    out
}

pub fn run(args: RbacArgs) -> ExitCode {
    let loaded = match super::load_plan(&args.plan) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let identity = if args.user.is_empty() && args.group.is_empty() {
        Identity::ServiceAccount {
            namespace: args.namespace,
        }
    } else {
        Identity::Subjects {
            users: args.user,
            groups: args.group,
        }
    };
    let plan = &loaded.plan;
    let output = match args.format {
        Format::Text => text(plan, &identity),
        Format::Yaml => {
            let header = format!(
                "# golive rbac --plan {}: least-privilege read access for \"{}\".\n# Apply with: golive rbac --plan {} | kubectl apply -f -\n",
                args.plan, plan.name, args.plan
            );
            match serde_saphyr::to_string_multiple(&manifests(plan, &identity)) {
                Ok(yaml) => format!("{header}{yaml}"),
                Err(e) => {
                    eprintln!("golive rbac: cannot write YAML: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    };
    print!("{}", crate::text::for_terminal_lines(&output));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        crate::plan::parse("p.yaml", text, |_| None)
            .expect("a valid plan")
            .plan
    }

    #[test]
    fn a_monitoring_service_behind_the_api_server_gets_services_proxy_by_name_only() {
        let plan = plan(
            "name: P\nmonitoring: {prometheus: {service: \"mon/prometheus:9090\"}}\ngates:\n  - id: s\n    title: S\n    group: g\n    checks:\n      - scraped: {job: api}\n      - pods_ready: {namespace: app}\n",
        );
        let needs = needs(&plan);
        assert_eq!(
            needs
                .proxies
                .get("mon")
                .map(|s| s.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["prometheus:9090".to_string()])
        );
        let out = manifests(
            &plan,
            &Identity::Subjects {
                users: vec!["ana".into()],
                groups: vec![],
            },
        );
        let role = out
            .iter()
            .find(|o| o["kind"] == "Role" && o["metadata"]["namespace"] == "mon")
            .expect("a Role in the monitoring namespace");
        assert_eq!(
            role["rules"],
            json!([{"apiGroups": [""], "resources": ["services/proxy"], "resourceNames": ["prometheus:9090"], "verbs": ["get"]}])
        );
        assert!(
            out.iter()
                .all(|o| o["kind"] != "ServiceAccount" && o["kind"] != "ClusterRole")
        );
        let binding = out
            .iter()
            .find(|o| o["kind"] == "RoleBinding" && o["metadata"]["namespace"] == "app")
            .expect("a binding where the pods are read");
        assert_eq!(binding["subjects"][0]["name"], "ana");
    }

    #[test]
    fn secrets_are_granted_list_and_watch_only_never_get() {
        let mut groups = BTreeMap::new();
        groups.insert(
            String::new(),
            BTreeSet::from(["pods".to_string(), "secrets".to_string()]),
        );
        let rules = read_rules(&groups);
        assert_eq!(
            rules,
            vec![
                json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}),
                json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}),
            ]
        );
    }

    #[test]
    fn role_names_come_from_the_plan_name() {
        assert_eq!(slug("Gravl production go-live"), "gravl-production-go-live");
        assert_eq!(slug("  Völundr: v2!  "), "v-lundr-v2");
        assert_eq!(slug("---"), "plan");
    }
}
