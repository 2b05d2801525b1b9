//! A watched object as the view keeps it: its projected JSON text, compact, plus its
//! namespace and name. A projected pod is ~1.4 KB of JSON but ~13 KB as a
//! `serde_json::Value` (every small map is a B-tree node of ~600 bytes), so the view keeps
//! the text and a gate gets a `Value` parsed when it reads the object.
//!
//! Objects arrive as raw JSON text ([`RawObject`]): the client's page is split into each
//! object's text without building a tree, and [`super::Projection::project_str`] reads
//! that text once, building only the fields the checks read and skipping the rest.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// One object the view holds: where it lives and its (projected) JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub namespace: String,
    pub name: String,
    json: Box<str>,
}

impl Stored {
    /// `object` as kept, keyed by its metadata.
    pub fn new(object: &Value) -> Self {
        let meta = &object["metadata"];
        Self {
            namespace: meta["namespace"].as_str().unwrap_or_default().to_string(),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            json: object.to_string().into_boxed_str(),
        }
    }

    /// The object, parsed. The text is what [`Stored::new`] wrote, so it always parses.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// Bytes of JSON held.
    pub fn len(&self) -> usize {
        self.json.len()
    }

    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }

    pub fn key(&self) -> (String, String) {
        (self.namespace.clone(), self.name.clone())
    }

    /// The view's map entry: (namespace, name) and the JSON.
    pub(super) fn into_entry(self) -> ((String, String), Box<str>) {
        ((self.namespace, self.name), self.json)
    }

    /// An object already projected to `text`, keyed by its metadata.
    pub(super) fn from_parts(namespace: String, name: String, json: String) -> Self {
        Self {
            namespace,
            name,
            json: json.into_boxed_str(),
        }
    }
}

impl From<Value> for Stored {
    fn from(object: Value) -> Self {
        Self::new(&object)
    }
}

impl From<&Value> for Stored {
    fn from(object: &Value) -> Self {
        Self::new(object)
    }
}

/// An object as the API server sent it: its raw text and the metadata the watcher needs
/// (resource versions for resuming), read without building the object.
#[derive(Debug, Clone)]
pub struct RawObject {
    pub metadata: kube::api::ObjectMeta,
    raw: Box<RawValue>,
}

impl Serialize for RawObject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl RawObject {
    pub fn text(&self) -> &str {
        self.raw.get()
    }
}

/// The metadata fields the watcher uses; everything else in `metadata` is skipped.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default)]
    metadata: HeadMeta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct HeadMeta {
    name: Option<String>,
    namespace: Option<String>,
    resource_version: Option<String>,
    uid: Option<String>,
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let head: Head = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
        let m = head.metadata;
        Ok(Self {
            metadata: kube::api::ObjectMeta {
                name: m.name,
                namespace: m.namespace,
                resource_version: m.resource_version,
                uid: m.uid,
                ..Default::default()
            },
            raw,
        })
    }
}

impl kube::Resource for RawObject {
    type DynamicType = kube::api::ApiResource;
    type Scope = kube::core::DynamicResourceScope;

    fn kind(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        dt.kind.as_str().into()
    }
    fn group(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        dt.group.as_str().into()
    }
    fn version(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        dt.version.as_str().into()
    }
    fn plural(dt: &Self::DynamicType) -> std::borrow::Cow<'_, str> {
        dt.plural.as_str().into()
    }
    fn meta(&self) -> &kube::api::ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut kube::api::ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_keeps_the_key_and_gives_back_the_same_value() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-1", "namespace": "prod", "labels": {"a": "b"}},
            "status": {"phase": "Running", "restarts": 3, "ratio": 0.5, "ok": true, "x": null}});
        let s = Stored::new(&pod);
        assert_eq!(s.key(), ("prod".to_string(), "api-1".to_string()));
        assert_eq!(s.value(), pod);
        assert_eq!(s.len(), pod.to_string().len());
        let cluster_scoped = Stored::from(json!({"metadata": {"name": "n"}}));
        assert_eq!(cluster_scoped.key(), (String::new(), "n".to_string()));
    }

    #[test]
    fn a_raw_object_reads_its_metadata_and_keeps_its_text() {
        let text = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n","resourceVersion":"42","uid":"u","managedFields":[{"manager":"kubelet"}]},"spec":{"containers":[]}}"#;
        let raw: RawObject = serde_json::from_str(text).unwrap();
        assert_eq!(raw.metadata.name.as_deref(), Some("p"));
        assert_eq!(raw.metadata.namespace.as_deref(), Some("n"));
        assert_eq!(raw.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(raw.metadata.uid.as_deref(), Some("u"));
        assert_eq!(raw.text(), text);
        // In a list page and a watch event, as the client reads them.
        let list: kube::api::ObjectList<RawObject> = serde_json::from_str(&format!(
            r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"7"}},"items":[{text},{text}]}}"#
        ))
        .unwrap();
        assert_eq!(list.items.len(), 2);
        assert_eq!(list.items[1].text(), text);
        let event: kube::api::WatchEvent<RawObject> =
            serde_json::from_str(&format!(r#"{{"type":"MODIFIED","object":{text}}}"#)).unwrap();
        assert!(matches!(event, kube::api::WatchEvent::Modified(o) if o.text() == text));
    }
}
