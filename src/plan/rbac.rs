//! The `rbac` check's spec: the namespace whose ServiceAccounts are judged, and the grants
//! a person reviewed and accepted.

use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// `rbac`: the permissions the namespace's ServiceAccounts hold through RoleBindings and
/// ClusterRoleBindings (their groups and aggregated ClusterRoles included).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RbacCheck {
    pub namespace: String,
    /// The accounts to judge; empty: those the namespace's pods run as.
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// Bindings or roles whose grants are accepted as they are, each reviewed by a
    /// person: `RoleBinding/ci-deploy`, `ClusterRole/volundr-sessions`.
    #[serde(default)]
    pub allow: Vec<RbacRef>,
}

/// `Kind/name` of a Role, ClusterRole, RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacRef {
    pub kind: String,
    pub name: String,
}

impl RbacRef {
    const KINDS: [&'static str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

    pub fn new(text: &str) -> Result<Self, String> {
        match text.split_once('/') {
            Some((kind, name)) if Self::KINDS.contains(&kind) && !name.is_empty() => Ok(Self {
                kind: kind.to_string(),
                name: name.to_string(),
            }),
            _ => Err(format!(
                "`{text}` is not Kind/name with Kind one of {}",
                Self::KINDS.join(", ")
            )),
        }
    }
}

impl fmt::Display for RbacRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl<'de> Deserialize<'de> for RbacRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RbacRef::new(&text).map_err(de::Error::custom)
    }
}

impl Serialize for RbacRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
