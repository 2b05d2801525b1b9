//! One stored object, kept compactly: the JSON bytes the server answers with,
//! and the few fields lists, selectors and watches read without parsing.
//!
//! A real pod is 6–15 KB of JSON but several times that as a `serde_json::Value`
//! (a map node and a string allocation per field), so 20,000 pods held as
//! values cost gigabytes. Objects are parsed back only where one is read for a
//! change, a Table row, JSONPath or the metadata-only form.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::catalogue::ResourceType;

/// The fields a list or watch filters on, read once when the object is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectIndex {
    pub namespace: Box<str>,
    pub name: Box<str>,
    labels: Box<[(Box<str>, Box<str>)]>,
    /// The kind's selectable fields (`spec.nodeName`, `status.phase`, ...),
    /// each with its string value or "" when absent or not a string.
    fields: Box<[(&'static str, Box<str>)]>,
    /// A core Secret with non-empty `data` or `stringData`.
    secret_data: bool,
}

impl ObjectIndex {
    /// Reads the index of an object of the given kind.
    pub fn of(object: &Value, resource: &ResourceType) -> Self {
        let text = |pointer: &str| -> Box<str> {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .into()
        };
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|(key, value)| Some((key.as_str().into(), value.as_str()?.into())))
                    .collect()
            })
            .unwrap_or_default();
        let fields = kind_fields(&resource.kind)
            .iter()
            .map(|field| (*field, text(&format!("/{}", field.replace('.', "/")))))
            .collect();
        ObjectIndex {
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
            labels,
            fields,
            secret_data: crate::state::has_secret_data(resource, object),
        }
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }

    /// The value a field selector compares: "" when absent, as real servers do.
    pub fn field(&self, field: &str) -> &str {
        match field {
            "metadata.name" => &self.name,
            "metadata.namespace" => &self.namespace,
            _ => self
                .fields
                .iter()
                .find(|(f, _)| *f == field)
                .map_or("", |(_, v)| &**v),
        }
    }

    pub fn has_secret_data(&self) -> bool {
        self.secret_data
    }
}

/// An object as stored: its JSON exactly as `serde_json` writes the value, and
/// its index.
#[derive(Debug)]
pub(crate) struct StoredObject {
    json: Bytes,
    pub index: ObjectIndex,
}

impl StoredObject {
    /// Serialises and indexes an object that the store has completed.
    pub fn new(object: &Value, resource: &ResourceType) -> Self {
        let mut json = serde_json::to_vec(object).unwrap_or_default();
        // The writer grows its buffer by doubling; keep only what the object needs.
        json.shrink_to_fit();
        StoredObject {
            json: Bytes::from(json),
            index: ObjectIndex::of(object, resource),
        }
    }

    /// The JSON the server sends for this object; cloning it copies no bytes.
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The object parsed back, for reads that need its fields.
    pub fn value(&self) -> Value {
        // The bytes were written by serde_json from a Value, so they parse.
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    /// The metadata-only view (`PartialObjectMetadata`), parsing only what it keeps.
    pub fn partial_metadata(&self) -> Value {
        #[derive(Deserialize)]
        struct Head {
            kind: Option<Value>,
            metadata: Option<Value>,
        }
        let head: Head = serde_json::from_slice(&self.json).unwrap_or(Head {
            kind: None,
            metadata: None,
        });
        let mut object = serde_json::Map::new();
        if let Some(kind) = head.kind {
            object.insert("kind".into(), kind);
        }
        if let Some(metadata) = head.metadata {
            object.insert("metadata".into(), metadata);
        }
        crate::table::partial_metadata(&Value::Object(object))
    }

    /// Stored bytes plus their index: what the object costs the server.
    #[cfg(test)]
    pub fn json_len(&self) -> usize {
        self.json.len()
    }
}

/// The fields a kind can be selected by besides name and namespace.
pub(crate) fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Node" => &["spec.unschedulable"],
        "Event" => &[
            "involvedObject.apiVersion",
            "involvedObject.fieldPath",
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.resourceVersion",
            "involvedObject.uid",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use serde_json::json;

    #[test]
    fn index_reads_labels_selectable_fields_and_secret_data() {
        let catalogue = Catalogue::with_built_ins();
        let pods = catalogue.by_kind("v1", "Pod").expect("built in");
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web", "n": 1}},
            "spec": {"nodeName": "node-a"}, "status": {"phase": "Running"}});
        let index = ObjectIndex::of(&pod, &pods);
        assert_eq!((&*index.namespace, &*index.name), ("ns", "p"));
        assert_eq!(index.label("app"), Some("web"));
        assert_eq!(index.label("n"), None, "only string labels select");
        assert_eq!(index.field("spec.nodeName"), "node-a");
        assert_eq!(index.field("status.podIP"), "");
        assert_eq!(index.field("metadata.name"), "p");
        assert!(!index.has_secret_data());

        let secrets = catalogue.by_kind("v1", "Secret").expect("built in");
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "s", "namespace": "ns"}, "data": {"k": "dg=="}});
        let index = ObjectIndex::of(&secret, &secrets);
        assert!(index.has_secret_data());
        assert_eq!(index.field("type"), "Opaque");
    }

    #[test]
    fn a_big_object_reads_back_byte_and_value_equal() {
        let catalogue = Catalogue::with_built_ins();
        let pods = catalogue.by_kind("v1", "Pod").expect("built in");
        let env: Vec<Value> = (0..2_000)
            .map(|i| json!({"name": format!("VAR_{i}"), "value": "é \"quoted\" \u{1F600} ".repeat(3)}))
            .collect();
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "ns", "labels": {"app": "big"},
                         "annotations": {"note": "x".repeat(100_000)}},
            "spec": {"containers": [{"name": "c", "env": env}]},
            "status": {"phase": "Running", "ratio": 0.25, "count": 12_345_678_901_i64}});
        let stored = StoredObject::new(&pod, &pods);
        assert_eq!(
            stored.json().as_ref(),
            serde_json::to_vec(&pod).expect("serialises").as_slice()
        );
        assert_eq!(stored.value(), pod);
        assert!(stored.json_len() > 200_000);
        let partial = stored.partial_metadata();
        assert_eq!(partial["metadata"], pod["metadata"]);
        assert_eq!(partial["kind"], "PartialObjectMetadata");
    }
}
