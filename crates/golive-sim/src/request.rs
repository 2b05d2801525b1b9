//! Reading a request: the body form the client accepts, the resource a URL
//! addresses, and the namespace, label and field filters of a list or watch.

use std::sync::Arc;

use crate::catalogue::ResourceType;
use crate::object::ObjectIndex;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::Store;

/// What the client asked the body to look like, from its Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Full,
    Metadata,
    Table,
}

pub(crate) fn negotiate(accept: &str) -> Form {
    for media in accept.split(',') {
        let params: Vec<(&str, &str)> = media
            .split(';')
            .skip(1)
            .filter_map(|p| p.trim().split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        match (param("as"), param("g")) {
            (None, _) => return Form::Full,
            (Some("Table"), Some("meta.k8s.io")) => return Form::Table,
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                return Form::Metadata;
            }
            // Aggregated discovery and anything else we do not serve: try the next type.
            _ => {}
        }
    }
    Form::Full
}

/// A resolved resource URL.
pub(crate) struct Target {
    pub resource: Arc<ResourceType>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

pub(crate) fn resolve(store: &Store, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let lookup = |plural: &str| store.catalogue.by_plural(group, version, plural);
    let target = match rest {
        ["namespaces", namespace, plural, tail @ ..]
            if lookup(plural).is_some_and(|r| r.namespaced) =>
        {
            let resource = lookup(plural)?;
            let (name, subresource) = match tail {
                [] => (None, None),
                [name] => (Some(name.to_string()), None),
                [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
                _ => return None,
            };
            Target {
                resource,
                namespace: Some(namespace.to_string()),
                name,
                subresource,
            }
        }
        [plural, tail @ ..] => {
            let resource = lookup(plural)?;
            let (name, subresource) = match tail {
                [] => (None, None),
                // Namespaced objects are only addressable inside their namespace.
                [_, ..] if resource.namespaced => return None,
                [name] => (Some(name.to_string()), None),
                [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
                _ => return None,
            };
            Target {
                resource,
                namespace: None,
                name,
                subresource,
            }
        }
        [] => return None,
    };
    Some(target)
}

/// Namespace, label and field filters of a list or watch.
pub(crate) struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub(crate) fn matches(&self, object: &ObjectIndex) -> bool {
        let in_namespace = self
            .namespace
            .as_deref()
            .is_none_or(|ns| &*object.namespace == ns);
        in_namespace && self.labels.matches(object) && self.fields.matches(object)
    }

    pub(crate) fn is_trivial(&self, labels_text: Option<&str>, fields_text: Option<&str>) -> bool {
        labels_text.is_none_or(str::is_empty) && fields_text.is_none_or(str::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_first_supported_form() {
        assert_eq!(
            negotiate(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            ),
            Form::Table
        );
        assert_eq!(
            negotiate("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
            Form::Metadata
        );
        assert_eq!(
            negotiate(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
            ),
            Form::Full
        );
        assert_eq!(negotiate("*/*"), Form::Full);
    }
}
