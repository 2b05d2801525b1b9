//! RBAC-like authorization for tests: every request is taken to come from one identity,
//! and Roles, ClusterRoles, RoleBindings and ClusterRoleBindings given to the simulator
//! (apart from the objects it serves) decide what that identity may do, the way the API
//! server's RBAC authorizer decides: a ClusterRoleBinding grants its ClusterRole's rules
//! everywhere, a RoleBinding its role's rules in its own namespace, aggregated
//! ClusterRoles take the rules of the roles their selectors match, and anything no rule
//! allows is a 403 with the API server's `Status`. Discovery, `/version` and health
//! endpoints stay open, as `system:discovery` keeps them for every authenticated user.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Who every request comes from, and the RBAC objects that decide what it may do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Authorization {
    /// `system:serviceaccount:golive:golive`, `alice@example.com`.
    pub user: String,
    /// The identity's groups; `system:authenticated` is implied.
    pub groups: Vec<String>,
    /// Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, as API objects; other
    /// kinds are ignored (a ServiceAccount printed alongside, say).
    pub objects: Vec<Value>,
}

/// One request as the authorizer sees it.
pub(crate) struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `pods`, or `pods/exec` for a subresource.
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

fn strings<'a>(value: &'a Value, key: &str) -> Vec<&'a str> {
    value[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

impl Authorization {
    /// Requests as the ServiceAccount `namespace/name`, with the groups its token carries.
    pub fn service_account(namespace: &str, name: &str, objects: Vec<Value>) -> Self {
        Authorization {
            user: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
            ],
            objects,
        }
    }

    fn kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    fn names_me(&self, binding: &Value) -> bool {
        let binding_ns = text(binding, "/metadata/namespace");
        binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| {
                let name = text(s, "/name");
                match text(s, "/kind") {
                    "User" => name == self.user,
                    "Group" => {
                        name == "system:authenticated" || self.groups.iter().any(|g| g == name)
                    }
                    "ServiceAccount" => {
                        let ns = match text(s, "/namespace") {
                            "" => binding_ns,
                            ns => ns,
                        };
                        self.user == format!("system:serviceaccount:{ns}:{name}")
                    }
                    _ => false,
                }
            })
    }

    /// A ClusterRole's rules with its aggregation resolved (labels matched by
    /// `matchLabels`; golive's roles never aggregate).
    fn cluster_role_rules<'a>(&'a self, name: &str, seen: &mut BTreeSet<String>) -> Vec<&'a Value> {
        if !seen.insert(name.to_string()) {
            return Vec::new();
        }
        let Some(role) = self
            .kind("ClusterRole")
            .find(|r| text(r, "/metadata/name") == name)
        else {
            return Vec::new();
        };
        let mut rules: Vec<&Value> = role["rules"].as_array().into_iter().flatten().collect();
        let selectors = role
            .pointer("/aggregationRule/clusterRoleSelectors")
            .and_then(Value::as_array);
        for selector in selectors.into_iter().flatten() {
            let wanted: BTreeMap<&str, &str> = selector["matchLabels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect();
            let matching: Vec<String> = self
                .kind("ClusterRole")
                .filter(|other| {
                    wanted
                        .iter()
                        .all(|(k, v)| other["metadata"]["labels"][*k].as_str() == Some(*v))
                })
                .map(|other| text(other, "/metadata/name").to_string())
                .collect();
            for other in matching {
                rules.extend(self.cluster_role_rules(&other, seen));
            }
        }
        rules
    }

    fn rules_of(&self, binding: &Value) -> Vec<&Value> {
        let name = text(binding, "/roleRef/name");
        match text(binding, "/roleRef/kind") {
            "ClusterRole" => self.cluster_role_rules(name, &mut BTreeSet::new()),
            "Role" => {
                let ns = text(binding, "/metadata/namespace");
                self.kind("Role")
                    .filter(|r| {
                        text(r, "/metadata/name") == name && text(r, "/metadata/namespace") == ns
                    })
                    .flat_map(|r| r["rules"].as_array().into_iter().flatten())
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether any rule bound to the identity allows the request.
    pub(crate) fn allows(&self, request: &Attributes<'_>) -> bool {
        let applicable = self
            .kind("ClusterRoleBinding")
            .chain(self.kind("RoleBinding").filter(|b| {
                request
                    .namespace
                    .is_some_and(|ns| text(b, "/metadata/namespace") == ns)
            }))
            .filter(|b| self.names_me(b));
        applicable
            .flat_map(|b| self.rules_of(b))
            .any(|rule| rule_allows(rule, request))
    }
}

fn rule_allows(rule: &Value, request: &Attributes<'_>) -> bool {
    let any =
        |key: &str, wanted: &str| strings(rule, key).iter().any(|v| *v == "*" || *v == wanted);
    let resource_matches = strings(rule, "resources").iter().any(|r| {
        *r == "*"
            || *r == request.resource
            || request
                .resource
                .split_once('/')
                .is_some_and(|(_, sub)| r.strip_prefix("*/") == Some(sub))
    });
    let names = strings(rule, "resourceNames");
    let name_matches = names.is_empty() || request.name.is_some_and(|n| names.contains(&n));
    any("verbs", request.verb)
        && any("apiGroups", request.group)
        && resource_matches
        && name_matches
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn request<'a>(verb: &'a str, resource: &'a str, namespace: Option<&'a str>) -> Attributes<'a> {
        Attributes {
            verb,
            group: "",
            resource,
            namespace,
            name: None,
        }
    }

    #[test]
    fn a_role_binding_allows_its_rules_in_its_namespace_only() {
        let auth = Authorization::service_account(
            "golive",
            "golive",
            vec![
                json!({"kind": "Role", "metadata": {"name": "r", "namespace": "app"},
                       "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]}]}),
                json!({"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "app"},
                       "subjects": [{"kind": "ServiceAccount", "name": "golive", "namespace": "golive"}],
                       "roleRef": {"kind": "Role", "name": "r"}}),
            ],
        );
        assert!(auth.allows(&request("list", "pods", Some("app"))));
        assert!(!auth.allows(&request("list", "pods", Some("other"))));
        assert!(!auth.allows(&request("list", "pods", None)));
        assert!(!auth.allows(&request("get", "pods", Some("app"))));
        assert!(!auth.allows(&request("list", "secrets", Some("app"))));
    }

    #[test]
    fn an_aggregated_cluster_role_bound_to_a_group_allows_everywhere() {
        let auth = Authorization::service_account(
            "golive",
            "golive",
            vec![
                json!({"kind": "ClusterRole", "metadata": {"name": "agg"},
                       "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}}),
                json!({"kind": "ClusterRole", "metadata": {"name": "part", "labels": {"x": "y"}},
                       "rules": [{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]}]}),
                json!({"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                       "subjects": [{"kind": "Group", "name": "system:serviceaccounts:golive"}],
                       "roleRef": {"kind": "ClusterRole", "name": "agg"}}),
            ],
        );
        assert!(auth.allows(&request("get", "pods/status", Some("app"))));
        assert!(auth.allows(&request("get", "nodes/status", None)));
        assert!(!auth.allows(&request("get", "pods", Some("app"))));
    }
}
