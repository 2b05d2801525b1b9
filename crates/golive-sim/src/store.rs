//! The object store: objects by resource, one global resourceVersion, a bounded
//! event history for watch resumption, and live subscribers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::catalogue::{Catalogue, ResourceType, split_api_version};
use crate::object::StoredObject;

pub(crate) const DEFAULT_HISTORY_LIMIT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change to one object, as retained in history and sent to watchers.
#[derive(Debug)]
pub(crate) struct Event {
    pub rv: u64,
    pub resource: String,
    pub event_type: EventType,
    pub object: Arc<StoredObject>,
    /// The state before a modification, so filtered watches can turn a change
    /// that leaves their selector into DELETED, as real servers do.
    pub previous: Option<Arc<StoredObject>>,
}

/// Why a store operation failed; mapped to `SimError` or an HTTP Status by callers.
#[derive(Debug)]
pub(crate) enum StoreError {
    UnknownKind { api_version: String, kind: String },
    Invalid(String),
    NotFound { resource: String, name: String },
}

type ObjectKey = (String, String);

struct Subscriber {
    resource: String,
    tx: mpsc::UnboundedSender<Arc<Event>>,
}

/// Result of opening a watch: either too old, or the events to replay and the live feed.
pub(crate) enum WatchStart {
    Expired {
        requested: u64,
        oldest: u64,
    },
    Started {
        replay: Vec<Arc<Event>>,
        initial: Vec<Arc<StoredObject>>,
        live: mpsc::UnboundedReceiver<Arc<Event>>,
        current_rv: u64,
    },
}

pub(crate) struct Store {
    pub catalogue: Catalogue,
    objects: HashMap<String, BTreeMap<ObjectKey, Arc<StoredObject>>>,
    rv: u64,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    /// Watches may resume from any RV >= this; history holds every event after it.
    compacted_rv: u64,
    subscribers: Vec<Subscriber>,
    uid_seed: u64,
}

impl Store {
    pub fn new() -> Self {
        Store {
            catalogue: Catalogue::with_built_ins(),
            objects: HashMap::new(),
            rv: 0,
            history: VecDeque::new(),
            history_limit: DEFAULT_HISTORY_LIMIT,
            compacted_rv: 0,
            subscribers: Vec::new(),
            uid_seed: std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// Oldest resourceVersion a watch or continued list can still start from.
    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    pub fn set_history_limit(&mut self, limit: usize) {
        self.history_limit = limit.max(1);
        self.trim_history();
    }

    /// Forgets all history and moves the resourceVersion on, so any RV a client
    /// holds is older than the window: its next watch gets 410 Expired.
    pub fn expire_history(&mut self) {
        self.rv += 1;
        self.history.clear();
        self.compacted_rv = self.rv;
    }

    /// Closes every open watch stream.
    pub fn drop_watches(&mut self) {
        self.subscribers.clear();
    }

    pub fn object_count(&self) -> usize {
        self.objects.values().map(BTreeMap::len).sum()
    }

    fn trim_history(&mut self) {
        while self.history.len() > self.history_limit {
            if let Some(evicted) = self.history.pop_front() {
                self.compacted_rv = evicted.rv;
            }
        }
    }

    fn new_uid(&self, rv: u64) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        hasher.write_u64(self.uid_seed);
        hasher.write_u64(rv);
        let high = hasher.finish();
        let low = rv ^ self.uid_seed.rotate_left(17);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xfff,
            (low >> 48) & 0xfff,
            low & 0xffff_ffff_ffff
        )
    }

    fn publish(&mut self, event: Event) {
        let event = Arc::new(event);
        self.history.push_back(event.clone());
        self.trim_history();
        // Drop subscribers whose stream has gone (client disconnected).
        self.subscribers.retain(|subscriber| {
            if subscriber.resource != event.resource {
                return !subscriber.tx.is_closed();
            }
            subscriber.tx.send(event.clone()).is_ok()
        });
    }

    /// Looks up the served type for an object, or says which CRD is missing.
    pub fn resource_for(&self, object: &Value) -> Result<Arc<ResourceType>, StoreError> {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::Invalid("object has no apiVersion".into()))?;
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::Invalid("object has no kind".into()))?;
        self.catalogue
            .by_kind(api_version, kind)
            .ok_or_else(|| StoreError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            })
    }

    /// Creates or replaces an object, filling server-owned metadata.
    pub fn apply(&mut self, mut object: Value) -> Result<Arc<StoredObject>, StoreError> {
        let resource = self.resource_for(&object)?;
        let Some(fields) = object.as_object_mut() else {
            return Err(StoreError::Invalid("object is not a mapping".into()));
        };
        let metadata = fields
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(metadata) = metadata.as_object_mut() else {
            return Err(StoreError::Invalid("metadata is not a mapping".into()));
        };
        let Some(name) = metadata
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
        else {
            return Err(StoreError::Invalid(format!(
                "{} has no metadata.name",
                resource.kind
            )));
        };
        let namespace = if resource.namespaced {
            let namespace = metadata
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or("default")
                .to_string();
            metadata.insert("namespace".into(), Value::String(namespace.clone()));
            namespace
        } else {
            metadata.remove("namespace");
            String::new()
        };

        if resource.kind == "Secret" && resource.group.is_empty() {
            fold_string_data(&mut object);
        }
        if resource.kind == "CustomResourceDefinition" {
            let types = self
                .catalogue
                .register_crd(&object)
                .map_err(StoreError::Invalid)?;
            tracing::debug!(crd = %name, served = types.len(), "registered custom resource");
        }

        let key = resource.key();
        let previous = self
            .objects
            .get(&key)
            .and_then(|objects| objects.get(&(namespace.clone(), name.clone())))
            .cloned();
        self.rv += 1;
        let rv = self.rv;
        let uid = self.new_uid(rv);
        let previous_value = previous.as_deref().map(StoredObject::value);
        fill_server_metadata(&mut object, &resource, previous_value.as_ref(), rv, uid);

        let object = Arc::new(StoredObject::new(&object, &resource));
        self.objects
            .entry(key.clone())
            .or_default()
            .insert((namespace, name), object.clone());
        let event_type = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.publish(Event {
            rv,
            resource: key,
            event_type,
            object: object.clone(),
            previous,
        });
        Ok(object)
    }

    /// Applies an RFC 7386 JSON merge patch to a stored object.
    pub fn merge_patch(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Arc<StoredObject>, StoreError> {
        let existing = self
            .get_by_kind(api_version, kind, namespace, name)?
            .value();
        let mut patched = existing.clone();
        merge_patch(&mut patched, patch);
        // A patch may not move the object: identity comes from the request.
        patched["apiVersion"] = Value::String(api_version.to_string());
        patched["kind"] = Value::String(kind.to_string());
        if let Some(metadata) = patched.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("name".into(), Value::String(name.to_string()));
        }
        if let Some(ns) = existing.pointer("/metadata/namespace").cloned() {
            patched["metadata"]["namespace"] = ns;
        }
        self.apply(patched)
    }

    pub fn delete(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Arc<StoredObject>, StoreError> {
        let resource =
            self.catalogue
                .by_kind(api_version, kind)
                .ok_or_else(|| StoreError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                })?;
        let namespace = if resource.namespaced {
            namespace.unwrap_or("default").to_string()
        } else {
            String::new()
        };
        let key = resource.key();
        let removed = self
            .objects
            .get_mut(&key)
            .and_then(|objects| objects.remove(&(namespace, name.to_string())))
            .ok_or_else(|| StoreError::NotFound {
                resource: key.clone(),
                name: name.to_string(),
            })?;
        self.emit_deleted(&resource, &removed);
        if resource.kind == "CustomResourceDefinition" {
            // Deleting a CRD deletes its custom resources, as on a real cluster.
            for gone in self.catalogue.unregister_crd(name) {
                if let Some(objects) = self.objects.remove(&gone.key()) {
                    for object in objects.values() {
                        self.emit_deleted(&gone, object);
                    }
                }
            }
        }
        Ok(removed)
    }

    fn emit_deleted(&mut self, resource: &ResourceType, removed: &StoredObject) {
        self.rv += 1;
        let rv = self.rv;
        let mut last_state = removed.value();
        last_state["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        self.publish(Event {
            rv,
            resource: resource.key(),
            event_type: EventType::Deleted,
            object: Arc::new(StoredObject::new(&last_state, resource)),
            previous: None,
        });
    }

    fn get_by_kind(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Arc<StoredObject>, StoreError> {
        let resource =
            self.catalogue
                .by_kind(api_version, kind)
                .ok_or_else(|| StoreError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                })?;
        let namespace = if resource.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        self.get(&resource, namespace, name)
            .ok_or_else(|| StoreError::NotFound {
                resource: resource.key(),
                name: name.to_string(),
            })
    }

    pub fn get(
        &self,
        resource: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<StoredObject>> {
        self.objects
            .get(&resource.key())
            .and_then(|objects| objects.get(&(namespace.to_string(), name.to_string())))
            .cloned()
    }

    /// Objects of a resource in key order, from just after `after` (for
    /// pagination), optionally within one namespace.
    pub fn scan<'a>(
        &'a self,
        resource: &ResourceType,
        namespace: Option<&'a str>,
        after: Option<&ObjectKey>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Arc<StoredObject>)> + 'a {
        use std::ops::Bound;
        let objects = self.objects.get(&resource.key());
        let lower = match (after, namespace) {
            (Some(key), _) => Bound::Excluded(key.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        objects
            .into_iter()
            .flat_map(move |objects| objects.range((lower.clone(), Bound::Unbounded)))
            .take_while(move |((ns, _), _)| namespace.is_none_or(|wanted| ns == wanted))
    }

    /// Opens a watch on one resource. `from_rv` of `None` means "current state
    /// first" (RV absent or "0"); `Some` replays history after it.
    pub fn watch(&mut self, resource: &ResourceType, from_rv: Option<u64>) -> WatchStart {
        let key = resource.key();
        let (replay, initial) = match from_rv {
            Some(requested) if requested < self.compacted_rv => {
                return WatchStart::Expired {
                    requested,
                    oldest: self.compacted_rv,
                };
            }
            Some(requested) => {
                // History is ordered by RV, so skip the older part by binary search.
                let start = self.history.partition_point(|event| event.rv <= requested);
                let replay = self
                    .history
                    .range(start..)
                    .filter(|event| event.resource == key)
                    .cloned()
                    .collect();
                (replay, Vec::new())
            }
            None => {
                let initial = self
                    .objects
                    .get(&key)
                    .map(|objects| objects.values().cloned().collect())
                    .unwrap_or_default();
                (Vec::new(), initial)
            }
        };
        let (tx, live) = mpsc::unbounded_channel();
        self.subscribers.push(Subscriber { resource: key, tx });
        WatchStart::Started {
            replay,
            initial,
            live,
            current_rv: self.rv,
        }
    }
}

/// Fills what the API server owns: uid, creationTimestamp, resourceVersion,
/// generation, and the namespace name label.
fn fill_server_metadata(
    object: &mut Value,
    resource: &ResourceType,
    previous: Option<&Value>,
    rv: u64,
    uid: String,
) {
    let previous_meta = previous.and_then(|p| p.get("metadata"));
    let keep = |field: &str| previous_meta.and_then(|m| m.get(field)).cloned();
    let generation = match previous {
        None => 1,
        Some(previous) => {
            let old = previous
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if spec_changed(previous, object) {
                old + 1
            } else {
                old
            }
        }
    };
    let kind = resource.kind.as_str();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        // A manifest's own uid is kept (fixtures copied from a cluster keep
        // their event references); HTTP creates strip it before this point.
        let given = metadata
            .get("uid")
            .filter(|u| u.as_str().is_some_and(|u| !u.is_empty()))
            .cloned();
        let uid = keep("uid").or(given).unwrap_or(Value::String(uid));
        metadata.insert("uid".into(), uid);
        if !metadata.contains_key("creationTimestamp") {
            let created = keep("creationTimestamp")
                .unwrap_or_else(|| Value::String(crate::time::now_rfc3339()));
            metadata.insert("creationTimestamp".into(), created);
        }
        metadata.insert("resourceVersion".into(), Value::String(rv.to_string()));
        metadata.insert("generation".into(), Value::from(generation));
        if kind == "Namespace" {
            let labels = metadata
                .entry("labels")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(
                    "kubernetes.io/metadata.name".into(),
                    Value::String(name.clone()),
                );
            }
        }
    }
    if kind == "Namespace" && object.pointer("/status/phase").is_none() {
        object["status"]["phase"] = Value::String("Active".into());
    }
    if kind == "Namespace" && object.pointer("/spec/finalizers").is_none() {
        object["spec"]["finalizers"] = serde_json::json!(["kubernetes"]);
    }
}

/// A real API server stores `stringData` as base64 `data`; so does the sim,
/// so no client ever reads `stringData` back.
fn fold_string_data(secret: &mut Value) {
    let Some(fields) = secret.as_object_mut() else {
        return;
    };
    let Some(Value::Object(plain)) = fields.remove("stringData") else {
        return;
    };
    let data = fields
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Value::Object(data) = data {
        for (key, value) in plain {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            data.insert(key, Value::String(base64(text.as_bytes())));
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Generation follows the desired state: anything but metadata and status.
fn spec_changed(previous: &Value, next: &Value) -> bool {
    let desired = |object: &Value| -> Vec<(String, Value)> {
        object
            .as_object()
            .map(|fields| {
                fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut old = desired(previous);
    let mut new = desired(next);
    old.sort_by(|a, b| a.0.cmp(&b.0));
    new.sort_by(|a, b| a.0.cmp(&b.0));
    old != new
}

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_fields) = target {
        for (key, value) in patch_fields {
            if value.is_null() {
                target_fields.remove(key);
            } else {
                merge_patch(
                    target_fields.entry(key.clone()).or_insert(Value::Null),
                    value,
                );
            }
        }
    }
}

/// Kind name for error messages about a missing CRD: `plural.group` guess.
pub(crate) fn expected_crd_name(api_version: &str, kind: &str) -> String {
    let (group, _) = split_api_version(api_version);
    let lower = kind.to_lowercase();
    let plural = if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    };
    if group.is_empty() {
        plural
    } else {
        format!("{plural}.{group}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config_map(name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "ns"}, "data": data})
    }

    #[test]
    fn generation_bumps_only_when_desired_state_changes() {
        let mut store = Store::new();
        let first = store
            .apply(config_map("a", json!({"k": "1"})))
            .expect("apply")
            .value();
        assert_eq!(first["metadata"]["generation"], 1);
        let mut relabelled = config_map("a", json!({"k": "1"}));
        relabelled["metadata"]["labels"] = json!({"x": "y"});
        let second = store.apply(relabelled).expect("apply").value();
        assert_eq!(second["metadata"]["generation"], 1);
        assert_eq!(second["metadata"]["uid"], first["metadata"]["uid"]);
        let third = store
            .apply(config_map("a", json!({"k": "2"})))
            .expect("apply")
            .value();
        assert_eq!(third["metadata"]["generation"], 2);
        assert_eq!(third["metadata"]["resourceVersion"], "3");
    }

    #[test]
    fn secret_string_data_is_stored_as_base64_data() {
        let mut store = Store::new();
        let secret = store
            .apply(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s", "namespace": "ns"},
                "data": {"a": "eA=="}, "stringData": {"b": "hunter2", "c": "ab"}}))
            .expect("apply")
            .value();
        assert_eq!(
            secret["data"],
            json!({"a": "eA==", "b": "aHVudGVyMg==", "c": "YWI="})
        );
        assert!(secret.get("stringData").is_none());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(&mut target, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(target, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }

    #[test]
    fn watch_from_compacted_rv_is_expired() {
        let mut store = Store::new();
        store.apply(config_map("a", json!({}))).expect("apply");
        let resource = store
            .catalogue
            .by_kind("v1", "ConfigMap")
            .expect("built in");
        store.expire_history();
        assert!(matches!(
            store.watch(&resource, Some(1)),
            WatchStart::Expired {
                requested: 1,
                oldest: 2
            }
        ));
        assert!(matches!(
            store.watch(&resource, Some(2)),
            WatchStart::Started { .. }
        ));
    }

    #[test]
    fn expected_crd_name_pluralises_like_kubernetes_does() {
        assert_eq!(
            expected_crd_name("cert-manager.io/v1", "ClusterIssuer"),
            "clusterissuers.cert-manager.io"
        );
        assert_eq!(
            expected_crd_name("kyverno.io/v1", "ClusterPolicy"),
            "clusterpolicies.kyverno.io"
        );
    }
}
