//! Aggregated discovery (`apidiscovery.k8s.io/v2`), which kubectl asks for
//! first: one document per root instead of one request per group/version.

use serde_json::{Value, json};

use crate::catalogue::{Catalogue, ResourceType};

pub(crate) const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the first media type we can serve is aggregated discovery v2.
pub(crate) fn wants_aggregated(accept: &str) -> bool {
    for media in accept.split(',') {
        let mut parts = media.split(';').map(str::trim);
        let base = parts.next().unwrap_or_default();
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if !(base == "application/json" || base == "*/*" || base == "application/*") {
            continue;
        }
        match (param("as"), param("g"), param("v")) {
            (Some("APIGroupDiscoveryList"), Some("apidiscovery.k8s.io"), Some("v2")) => {
                return true;
            }
            (None, _, _) => return false,
            // v2beta1 and anything else: look further down the list.
            _ => {}
        }
    }
    false
}

fn resource_entry(resource: &ResourceType) -> Value {
    let entry = resource.discovery_entry();
    json!({
        "resource": resource.plural,
        "responseKind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
        "scope": if resource.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": resource.singular,
        "verbs": entry["verbs"],
        "shortNames": resource.short_names,
        "categories": resource.categories,
        "subresources": if resource.has_status {
            json!([{
                "subresource": "status",
                "responseKind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
                "verbs": ["get", "patch", "update"],
            }])
        } else {
            json!([])
        },
    })
}

fn group_entry(catalogue: &Catalogue, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = catalogue
                .resources_of(group, version)
                .iter()
                .map(|r| resource_entry(r))
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group}, "versions": versions})
}

/// The aggregated document for `/api` (core group) or `/apis` (all others).
pub(crate) fn aggregated(catalogue: &Catalogue, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![group_entry(catalogue, "", &["v1".to_string()])]
    } else {
        catalogue
            .groups()
            .iter()
            .map(|(group, versions)| group_entry(catalogue, group, versions))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_accept_header_selects_aggregated_discovery() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(kubectl));
        assert!(!wants_aggregated("application/json"));
        assert!(!wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        ));
    }

    #[test]
    fn aggregated_core_group_lists_pods_with_scope_and_short_names() {
        let catalogue = Catalogue::with_built_ins();
        let document = aggregated(&catalogue, true);
        let resources = &document["items"][0]["versions"][0]["resources"];
        let pods = resources
            .as_array()
            .and_then(|r| r.iter().find(|e| e["resource"] == "pods"))
            .expect("pods listed");
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["responseKind"]["kind"], "Pod");
    }
}
