//! What golive keeps of a watched object: the fields its checks read, nothing else.
//! A real pod is 6–15 KB of JSON, most of it `managedFields`, environment, volumes and
//! annotations no gate looks at; the projection drops them as the object arrives, before
//! it is stored, so memory follows what golive reads and not what the cluster holds.
//!
//! A projection is a set of dotted paths (`status.containerStatuses.state`); an array on
//! the way applies the rest of the path to each element. Every object keeps its identity
//! (`apiVersion`, `kind` and the metadata gates and evidence use). A resource no check
//! declared fields for is kept whole, less `managedFields` and the
//! `last-applied-configuration` annotation, which nothing reads: a new check that names no
//! fields therefore never reads a field that was dropped.

use serde_json::Value;
use std::collections::BTreeMap;

/// The fields a check reads of one resource's objects, as dotted paths (an array on the
/// way applies the rest to each element); identity and labels are always kept.
pub type Reads = (super::ResourceType, &'static [&'static str]);

/// Metadata every projected object keeps: identity, ownership and the labels selectors
/// match on.
pub const IDENTITY: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.creationTimestamp",
    "metadata.deletionTimestamp",
    "metadata.labels",
    "metadata.ownerReferences",
];

/// The annotation `kubectl apply` writes: a second copy of the whole manifest.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    /// Keep this value whole (a path ended here).
    whole: bool,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &str) {
        if self.whole {
            return;
        }
        match path.split_once('.') {
            None => {
                let leaf = self.children.entry(path.to_string()).or_default();
                leaf.whole = true;
                leaf.children.clear();
            }
            Some((head, rest)) => self
                .children
                .entry(head.to_string())
                .or_default()
                .insert(rest),
        }
    }

    fn apply(&self, value: &mut Value) {
        if self.whole {
            return;
        }
        match value {
            Value::Object(map) => {
                map.retain(|k, _| self.children.contains_key(k));
                for (k, v) in map.iter_mut() {
                    if let Some(child) = self.children.get(k) {
                        child.apply(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }
}

/// The fields kept of one resource's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// `None`: the whole object (less managedFields and last-applied).
    fields: Option<Node>,
}

impl Default for Projection {
    fn default() -> Self {
        Self::whole()
    }
}

impl Projection {
    /// Everything but `managedFields` and the last-applied annotation.
    pub fn whole() -> Self {
        Self { fields: None }
    }

    /// [`IDENTITY`] and `paths`.
    pub fn of<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut node = Node::default();
        for path in IDENTITY.iter().copied().chain(paths) {
            node.insert(path);
        }
        Self { fields: Some(node) }
    }

    pub fn is_whole(&self) -> bool {
        self.fields.is_none()
    }

    /// Both projections' fields; whole if either is.
    pub fn union(&self, other: &Projection) -> Projection {
        match (&self.fields, &other.fields) {
            (Some(a), Some(b)) => {
                let mut node = a.clone();
                merge(&mut node, b);
                Projection { fields: Some(node) }
            }
            _ => Projection::whole(),
        }
    }

    /// Drops, in place, everything this projection does not keep.
    pub fn apply(&self, object: &mut Value) {
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
                annotations.remove(LAST_APPLIED);
            }
        }
        if let Some(node) = &self.fields {
            node.apply(object);
        }
    }

    /// The object in `text` (JSON) projected, read in one pass: only the kept fields are
    /// built, the rest is skipped without allocating.
    pub fn project_str(&self, text: &str) -> Result<Value, serde_json::Error> {
        let mut value = match &self.fields {
            Some(node) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let value = serde::de::DeserializeSeed::deserialize(node, &mut de)?;
                de.end()?;
                value
            }
            None => serde_json::from_str(text)?,
        };
        self.apply(&mut value);
        Ok(value)
    }

    /// `object` projected: a copy holding only what is kept.
    pub fn project(&self, object: &Value) -> Value {
        let mut copy = object.clone();
        self.apply(&mut copy);
        copy
    }
}

/// Reading JSON through a [`Node`]: a kept subtree is built as a `Value`, a map's other
/// keys are skipped (`IgnoredAny`), an array applies the node to each element.
impl<'de> serde::de::DeserializeSeed<'de> for &Node {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.whole {
            return serde::Deserialize::deserialize(deserializer);
        }
        deserializer.deserialize_any(NodeVisitor(self))
    }
}

struct NodeVisitor<'a>(&'a Node);

/// A map key, borrowed from the text when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl<'de> serde::de::Visitor<'de> for NodeVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match self.0.children.get(key.as_ref()) {
                Some(child) => {
                    let value = map.next_value_seed(child)?;
                    out.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element_seed(self.0)? {
            out.push(item);
        }
        Ok(Value::Array(out))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

fn merge(into: &mut Node, from: &Node) {
    if into.whole {
        return;
    }
    if from.whole {
        into.whole = true;
        into.children.clear();
        return;
    }
    for (k, child) in &from.children {
        merge(into.children.entry(k.clone()).or_default(), child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fat_pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "api-1", "namespace": "prod", "uid": "u1", "labels": {"app": "api"},
                "annotations": {LAST_APPLIED: "{…}", "team": "core"},
                "managedFields": [{"manager": "kubelet"}],
                "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d4", "controller": true}]
            },
            "spec": {
                "containers": [
                    {"name": "api", "image": "api:1", "env": [{"name": "A", "value": "1"}],
                     "ports": [{"containerPort": 80}]},
                    {"name": "istio-proxy", "env": [], "ports": [{"containerPort": 15090}]}
                ],
                "volumes": [{"name": "token", "projected": {}}]
            },
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "containerStatuses": [{"name": "api", "ready": true, "image": "api:1",
                                              "state": {"running": {"startedAt": "t"}}}]}
        })
    }

    #[test]
    fn keeps_identity_and_the_named_paths_through_arrays() {
        let p = Projection::of([
            "spec.containers.name",
            "spec.containers.ports",
            "status.phase",
            "status.containerStatuses.state",
        ]);
        let mut pod = fat_pod();
        p.apply(&mut pod);
        assert_eq!(
            pod,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": "api-1", "namespace": "prod", "uid": "u1", "labels": {"app": "api"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d4", "controller": true}]
                },
                "spec": {"containers": [
                    {"name": "api", "ports": [{"containerPort": 80}]},
                    {"name": "istio-proxy", "ports": [{"containerPort": 15090}]}
                ]},
                "status": {"phase": "Running",
                           "containerStatuses": [{"state": {"running": {"startedAt": "t"}}}]}
            })
        );
        assert_eq!(p.project(&fat_pod()), pod);
    }

    #[test]
    fn projecting_text_equals_projecting_the_parsed_value() {
        let text = fat_pod().to_string();
        for p in [
            Projection::whole(),
            Projection::of(["status.phase"]),
            Projection::of(["spec.containers.name", "spec.containers.ports", "status"]),
            Projection::of(["metadata.annotations", "spec.volumes.name"]),
            Projection::of(["spec.containers.ports.containerPort", "nothing.here"]),
        ] {
            assert_eq!(
                p.project_str(&text).unwrap(),
                p.project(&fat_pod()),
                "{p:?}"
            );
        }
        // A kept path meeting a scalar keeps the scalar; numbers stay exact.
        let odd = r#"{"metadata":{"name":"x"},"status":{"phase":7,"big":18446744073709551615,"f":-0.25}}"#;
        let p = Projection::of(["status.phase.deep", "status.big", "status.f"]);
        assert_eq!(
            p.project_str(odd).unwrap(),
            json!({"metadata":{"name":"x"},"status":{"phase":7,"big":18446744073709551615u64,"f":-0.25}})
        );
        assert!(p.project_str(r#"{"metadata": {"name": "x"}"#).is_err());
        assert!(p.project_str(r#"{"a":1} trailing"#).is_err());
    }

    #[test]
    fn whole_drops_only_what_nothing_reads() {
        let mut pod = fat_pod();
        Projection::whole().apply(&mut pod);
        let mut expected = fat_pod();
        expected["metadata"]
            .as_object_mut()
            .map(|m| m.remove("managedFields"));
        expected["metadata"]["annotations"] = json!({"team": "core"});
        assert_eq!(pod, expected);
    }

    #[test]
    fn union_is_whole_when_either_side_is_and_merges_paths_otherwise() {
        let a = Projection::of(["status.phase"]);
        let b = Projection::of(["status.podIP", "spec.containers.name"]);
        assert!(a.union(&Projection::whole()).is_whole());
        let mut pod = fat_pod();
        a.union(&b).apply(&mut pod);
        assert_eq!(
            pod["status"],
            json!({"phase": "Running", "podIP": "10.0.0.1"})
        );
        assert_eq!(
            pod["spec"],
            json!({"containers": [{"name": "api"}, {"name": "istio-proxy"}]})
        );
        // A path under a kept subtree adds nothing.
        let c = Projection::of(["status"]).union(&Projection::of(["status.phase"]));
        let mut pod = fat_pod();
        c.apply(&mut pod);
        assert_eq!(pod["status"], fat_pod()["status"]);
    }
}
